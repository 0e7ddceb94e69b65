"""MANSCDP codec throughput: parsing Catalog parts (GB2312, 4 items with Chinese names),
building them, and assembling a 1,000-channel catalogue from 250 parts arriving shuffled with
10 % duplicates. Not part of the test suite; pure CPU, one core.

    .venv/bin/python bench/manscdp_codec.py [--rounds 2000]

Baseline beside each figure: bare ``xml.etree.ElementTree.fromstring`` of the same bodies
(decoded), so the cost of our checks (size, DTD refusal, decoding, typed fields, ID checks)
shows as a ratio.
"""

from __future__ import annotations

import argparse
import random
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from custos.domain.manscdp import CatalogItem, CatalogResponse, parse
from custos.domain.manscdp_assembly import CatalogAssembler
from custos.domain.manscdp_build import build_catalog_responses

DEVICE = "34020000001180000001"


def _items(count: int) -> list[CatalogItem]:
    return [
        CatalogItem(
            f"3402000000131{n:07d}",
            name=f"大门口东侧{n}",
            manufacturer="海康威视",
            model="DS-2CD3T46",
            civil_code="340200",
            address="一号楼",
            parental=False,
            parent_id=DEVICE,
            register_way=1,
            secrecy=0,
            status="ON",
        )
        for n in range(count)
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2000)
    rounds = parser.parse_args().rounds
    bodies = build_catalog_responses(1, DEVICE, _items(1000), page_size=4)
    sample = bodies[: min(len(bodies), 50)]
    size = sum(map(len, sample)) / len(sample)

    t = time.perf_counter()
    for _ in range(rounds // len(sample) + 1):
        for body in sample:
            parse(body)
    n = (rounds // len(sample) + 1) * len(sample)
    ours = (time.perf_counter() - t) / n
    texts = [b.decode("gb18030") for b in sample]
    t = time.perf_counter()
    for _ in range(rounds // len(sample) + 1):
        for text in texts:
            ET.fromstring(text)  # noqa: S314 - our own bodies, the baseline
    bare = (time.perf_counter() - t) / n
    print(f"parse Catalog part ({size:.0f} B, 4 items, GB2312): {ours * 1e6:.0f} µs "
          f"({1 / ours:,.0f}/s); bare ElementTree {bare * 1e6:.0f} µs; ratio {ours / bare:.1f}x")  # fmt: skip

    t = time.perf_counter()
    builds = max(1, rounds // 250)
    for _ in range(builds):
        build_catalog_responses(1, DEVICE, _items(1000), page_size=4)
    per_build = (time.perf_counter() - t) / builds
    print(f"build 1,000-channel catalogue (250 GB2312 parts): {per_build * 1e3:.1f} ms")

    parts = [parse(b) for b in bodies]
    rng = random.Random(7)
    stream = parts + rng.sample(parts, len(parts) // 10)
    rng.shuffle(stream)
    t = time.perf_counter()
    assembler = CatalogAssembler()
    now = datetime(2026, 12, 7, tzinfo=UTC)
    whole = None
    for part in stream:
        assert isinstance(part, CatalogResponse)
        whole = assembler.add(part, now) or whole
    took = time.perf_counter() - t
    assert whole is not None
    assert len(whole.items) == 1000
    print(f"assemble 1,000 channels from {len(stream)} shuffled parts (10 % duplicates): "
          f"{took * 1e3:.2f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
