"""Export from the playback page: the size estimate, the custody sheet alone, the streamed file."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from pypdf import PdfReader

from custos.domain.access import Role
from custos.domain.evidence import CUSTODY, MANIFEST, SIGNATURE
from custos.domain.recording import Segment
from tests.api.access_world import XIAN, World
from tests.api.builders import API

PURPOSE = "核查东门事件 (east gate incident 7)"


def _segments(w: World, division: str) -> list[Segment]:
    return [s for s in w.container.recording.indexed() if s.camera_id == w.cameras[division]]


def _manager(w: World) -> dict[str, str]:
    return w.person("manager1", Role.UNIT_MANAGER, unit_id=w.unit_id)


def test_the_estimate_sums_the_segments_in_the_range_cut_ones_by_their_share(world: World) -> None:
    w = world
    cam = w.cameras[XIAN]
    segs = _segments(w, XIAN)
    size = segs[0].bytes
    assert len(segs) == 3 and all(s.bytes == size for s in segs)  # three copies of one clip
    params: dict[str, Any] = {"camera_ids": [cam], **w.range(5, 25)}
    r = w.client.get(f"{API}/exports/estimate", params=params, headers=_manager(w))
    assert r.status_code == 200, r.text
    assert r.json() == {"bytes": 2 * size, "segment_count": 3}  # ½ + 1 + ½ segment
    whole = w.client.get(
        f"{API}/exports/estimate",
        params={"camera_ids": [cam], **w.range(0, 10)},
        headers=_manager(w),
    ).json()
    assert whole == {"bytes": size, "segment_count": 1}
    nothing = w.client.get(
        f"{API}/exports/estimate",
        params={"camera_ids": [cam], **w.range(-100, -50)},
        headers=_manager(w),
    ).json()
    assert nothing == {"bytes": 0, "segment_count": 0}


def test_the_estimate_is_bounded_and_needs_the_export_permission(world: World) -> None:
    w = world
    cam = w.cameras[XIAN]
    url = f"{API}/exports/estimate"
    operator = w.person("operator1", Role.OPERATOR, unit_id=w.unit_id)
    assert (
        w.client.get(
            url, params={"camera_ids": [cam], **w.range(0, 10)}, headers=operator
        ).status_code
        == 403
    )
    manager = _manager(w)
    backwards = w.client.get(url, params={"camera_ids": [cam], **w.range(10, 0)}, headers=manager)
    assert backwards.status_code == 422
    unseen = w.client.get(url, params={"camera_ids": [999_999], **w.range(0, 10)}, headers=manager)
    assert unseen.status_code == 422 and "999999" in unseen.text
    too_many = w.client.get(
        url, params={"camera_ids": list(range(1, 66)), **w.range(0, 10)}, headers=manager
    )
    assert too_many.status_code == 422
    huge = w.client.get(url, params={"camera_ids": [2**63], **w.range(0, 10)}, headers=manager)
    assert huge.status_code == 422
    naive = w.client.get(
        url,
        params={"camera_ids": [cam], "start": "2026-01-01T00:00:00", "end": "2026-01-01T01:00:00"},
        headers=manager,
    )
    assert naive.status_code == 422


def _export(w: World, language: str | None = None) -> tuple[int, Path]:
    body = {"camera_ids": [w.cameras[XIAN]], **w.range(0, 25), "purpose": PURPOSE}
    headers = _manager(w) | ({"Accept-Language": language} if language else {})
    r = w.client.post(f"{API}/exports", json=body, headers=headers)
    assert r.status_code == 201, r.text
    root = Path(w.container.settings.data_dir) / "exports"
    found = [
        p
        for p in root.rglob("*.zip")
        if hashlib.sha256(p.read_bytes()).hexdigest() == r.json()["sha256"]
    ]
    assert len(found) == 1, "the export's package is on disk"
    return int(r.json()["id"]), found[0]


def _with_custody(package: Path, sheet: bytes) -> bytes:
    """The package as it is, or (until the signed package lands) rewritten in its layout with a
    custody.pdf inside. Returns the sheet the package holds."""
    with zipfile.ZipFile(package) as z:
        if CUSTODY in z.namelist():
            return z.read(CUSTODY)
        members = {n: z.read(n) for n in z.namelist()}
    manifest = json.loads(members.pop(MANIFEST))
    rebuilt = package.with_suffix(".rebuilt")
    with zipfile.ZipFile(rebuilt, "x", compression=zipfile.ZIP_STORED) as z:
        z.writestr(MANIFEST, json.dumps(manifest, sort_keys=True, separators=(",", ":")))
        z.writestr(SIGNATURE, "00" * 64 + "\n")
        for name, data in members.items():
            z.writestr(f"video/{Path(name).name}", data)
        z.writestr(CUSTODY, sheet)
    package.unlink()
    rebuilt.rename(package)
    return sheet


def test_the_custody_sheet_alone_comes_from_inside_the_package(world: World) -> None:
    w = world
    export_id, package = _export(w)
    sheet = _with_custody(package, b"%PDF-1.7\n% the chain-of-custody sheet\n%%EOF\n")
    r = w.client.get(f"{API}/exports/{export_id}/custody.pdf", headers=_manager(w))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.content == sheet
    other = w.person("manager2", Role.UNIT_MANAGER, unit_id=w.unit_id)
    assert w.client.get(f"{API}/exports/{export_id}/custody.pdf", headers=other).status_code == 404
    assert w.client.get(f"{API}/exports/999999/custody.pdf", headers=_manager(w)).status_code == 404


def test_a_package_without_a_sheet_answers_404_not_a_crash(world: World) -> None:
    w = world
    export_id, package = _export(w)
    package.unlink()
    with zipfile.ZipFile(package, "x") as z:
        z.writestr(MANIFEST, "{}")
    r = w.client.get(f"{API}/exports/{export_id}/custody.pdf", headers=_manager(w))
    assert r.status_code == 404
    package.unlink()
    package.write_bytes(b"not a zip")
    assert (
        w.client.get(f"{API}/exports/{export_id}/custody.pdf", headers=_manager(w)).status_code
        == 404
    )


def test_the_package_download_is_streamed_in_chunks_never_read_whole(
    world: World, app: FastAPI
) -> None:
    w = world
    export_id, package = _export(w)
    big = hashlib.sha256(b"seed").digest() * (8 << 20 >> 5)  # 8 MiB
    package.unlink()
    package.write_bytes(big)
    token = _manager(w)["Authorization"].encode()
    bodies: list[int] = []
    started: dict[str, Any] = {}

    async def run(scope: dict[str, Any]) -> None:
        asked = False
        finished = asyncio.Event()

        async def receive() -> dict[str, Any]:
            nonlocal asked
            if not asked:
                asked = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await finished.wait()  # the client stays until the whole body has come
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                started.update(message)
            elif message["type"] == "http.response.body":
                bodies.append(len(message.get("body", b"")))
                if not message.get("more_body", False):
                    finished.set()

        await asyncio.wait_for(app(scope, receive, send), timeout=60)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": f"{API}/exports/{export_id}/file",
        "raw_path": f"{API}/exports/{export_id}/file".encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"authorization", token)],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    asyncio.run(run(scope))
    assert started["status"] == 200
    headers = dict(started["headers"])
    assert int(headers[b"content-length"]) == len(big)  # the page shows a percentage from it
    assert sum(bodies) == len(big)
    assert len([b for b in bodies if b]) >= 8  # many chunks, none the whole file
    assert max(bodies) <= 1 << 20


def _sheet_of_real_package(
    w: World, language: str | None = None
) -> tuple[str, dict[str, Any], bytes]:
    export_id, package = _export(w, language)
    with zipfile.ZipFile(package) as z:
        assert CUSTODY in z.namelist(), "the signed package carries its custody sheet"
        sheet, manifest_bytes = z.read(CUSTODY), z.read(MANIFEST)
    r = w.client.get(f"{API}/exports/{export_id}/custody.pdf", headers=_manager(w))
    assert r.status_code == 200 and r.content == sheet
    text = "".join(
        "".join((p.extract_text() or "").split()) for p in PdfReader(io.BytesIO(sheet)).pages
    )
    return text, json.loads(manifest_bytes), manifest_bytes


def test_the_sheet_in_a_real_package_names_its_key_and_cameras(world: World) -> None:
    text, manifest, _ = _sheet_of_real_package(world)
    assert "证据保管链记录" in text
    assert manifest["export_key"] in text  # the fingerprint, its groups read together
    for c in manifest["cameras"]:
        assert c["address_code"] in text
    for s in manifest["sources"]:
        assert s["sha256"] in text


def test_the_sheet_in_a_real_package_prints_the_hash_of_its_manifest(world: World) -> None:
    text, manifest, manifest_bytes = _sheet_of_real_package(world)
    assert hashlib.sha256(manifest_bytes).hexdigest() in text
    assert CUSTODY not in {f["name"] for f in manifest["files"]}


def test_the_sheet_is_chinese_with_english_beside_it_when_the_asker_reads_english(
    world: World,
) -> None:
    """Issue 13: the sheet is Chinese, with English where the UI is English (the UI sends its
    language as Accept-Language)."""
    english = "chain-of-custodyrecord"  # the text is read with its spaces taken out
    zh, _, _ = _sheet_of_real_package(world, "zh-CN")
    en, _, _ = _sheet_of_real_package(world, "en")
    assert "证据保管链记录" in zh and english not in zh
    assert "证据保管链记录" in en and english in en
