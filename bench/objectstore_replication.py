"""Offload time to a replicated SeaweedFS (one master, two volume servers, replication 001) against
the one-process store (``weed server``), in the same run. Not part of the test suite.

    .venv/bin/python bench/objectstore_replication.py                    # 40 segments of 2 MB, 3 rounds
    .venv/bin/python bench/objectstore_replication.py --segments 100 --mb 5 --rounds 5

Both stores are started here exactly as ``custos objectstore serve`` starts them (with and without
``--volumes 2``), each with a bucket with Object Lock. A round uploads N segment files, one after
the other as the offloader does, through the adapter the offloader calls for each segment
(``S3SegmentStore.upload``: HEAD, conditional PUT with the SHA-256 checksum and retention, HEAD of
the stored version); the database row the offloader then writes is the same for both stores and
is left out. Rounds alternate which store goes first; each round writes under a fresh prefix.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import secrets
import statistics
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from custos.adapters.storage import seaweedfs
from custos.adapters.storage.object_store import S3SegmentStore
from custos.adapters.storage.seaweedfs_cluster import LocalCluster

ACCESS, SECRET = "custos-bench", secrets.token_urlsafe(24)
BUCKET = "custos-bench"


def free_ports(volumes: int, taken: set[int]) -> seaweedfs.Ports:
    for _ in range(500):
        ports = seaweedfs.Ports(random.randrange(14000, 15800), volumes)
        if not taken & set(ports.all()) and seaweedfs.ports_free(ports):
            taken |= set(ports.all())
            return ports
    raise SystemExit("no free block of loopback ports")


def segments(root: Path, n: int, mb: float) -> list[tuple[Path, str, int]]:
    out = []
    size = int(mb * 1_000_000)
    for i in range(n):
        path = root / f"{i:06d}.mp4"
        data = os.urandom(size)  # incompressible, as H.264 is
        path.write_bytes(data)
        out.append((path, hashlib.sha256(data).hexdigest(), size))
    return out


def offload(store: S3SegmentStore, files: list[tuple[Path, str, int]], prefix: str) -> float:
    until = datetime.now(UTC) + timedelta(days=1)
    started = time.perf_counter()
    for path, digest, size in files:
        store.upload(f"{prefix}{path.name}", path, digest, size, until)
    return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--segments", type=int, default=40, choices=range(1, 2001), metavar="N")
    ap.add_argument("--mb", type=float, default=2.0, help="size of one segment (MB)")
    ap.add_argument("--rounds", type=int, default=3, choices=range(1, 51), metavar="R")
    args = ap.parse_args()
    if not 0.01 <= args.mb <= 200:
        raise SystemExit("--mb: 0.01 to 200")

    with tempfile.TemporaryDirectory(prefix="custos-bench-repl-") as tmp:
        root = Path(tmp)
        taken: set[int] = set()
        one = seaweedfs.LocalServer(root / "one", free_ports(1, taken).s3, volume_size_mb=256)
        two = LocalCluster(
            root / "two", free_ports(2, taken).s3, 2, "001", volume_size_mb=256, restart_after_s=0
        )
        stores: dict[str, S3SegmentStore] = {}
        try:
            for name, server in (("one process", one), ("2 servers, 001", two)):
                server.check()
                server.start(ACCESS, SECRET)
                server.wait_ready()
                store = S3SegmentStore(server.endpoint, BUCKET, ACCESS, SECRET)
                store.ensure_bucket(object_lock=True)
                stores[name] = store
            files = segments(root, args.segments, args.mb)
            for store in stores.values():  # warm-up: the first volumes are grown
                offload(store, files[:3], "warmup/")
            times: dict[str, list[float]] = {name: [] for name in stores}
            load = os.getloadavg()[0]
            for r in range(args.rounds):
                order = list(stores) if r % 2 == 0 else list(reversed(stores))
                for name in order:
                    times[name].append(offload(stores[name], files, f"r{r}/"))
            weed = subprocess.run(
                [str(seaweedfs.weed_binary()), "version"], capture_output=True, text=True
            ).stdout.strip()
            print(f"{weed}; {os.cpu_count()} CPUs; load before the rounds {load:.2f},"
                  f" after {os.getloadavg()[0]:.2f}")  # fmt: skip
            print(f"{args.segments} segments x {args.mb:g} MB per round, {args.rounds} rounds")
            total_mb = args.segments * args.mb
            for name, ts in times.items():
                med = statistics.median(ts)
                print(
                    f"  {name:<16} median {med:7.2f} s  ({1000 * med / args.segments:6.1f} ms"
                    f" per segment, {total_mb / med:6.1f} MB/s)   rounds: "
                    + ", ".join(f"{t:.2f}" for t in ts)
                )
            a, b = (statistics.median(ts) for ts in times.values())
            print(f"replicated / one process: {b / a:.2f}")
        finally:
            one.stop()
            two.stop(grace_s=3)


if __name__ == "__main__":
    main()
