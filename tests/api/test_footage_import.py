"""Footage import (issue 11 §6; docs/design/footage-import.md): a legacy recorder's file cut into
sealed fMP4 segments, indexed and logged like recorded footage, and usable by a grant."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from custos.bootstrap import Container
from custos.domain.access import Role
from custos.domain.audit import Outcome
from custos.domain.recording import Segment
from tests.api.access_world import TONGCHUAN, World
from tests.api.builders import API
from tests.api.test_access_requests import approved_request, post

CLIP_S = 130  # three segments of at most 60 s


def _clip(path: Path, container: str = "mp4") -> Path:
    fmt = ["-f", "mpegts"] if container == "ts" else ["-movflags", "+faststart"]
    subprocess.run(
        [
            "ffmpeg", "-nostdin", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc2=size=160x120:rate=5:duration={CLIP_S}",
            "-c:v", "libx264", "-preset", "ultrafast", "-g", "5", "-pix_fmt", "yuv420p",
            *fmt, str(path),
        ],
        check=True,
    )  # fmt: skip
    return path


@pytest.fixture(scope="session")
def legacy_mp4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _clip(tmp_path_factory.mktemp("legacy") / "nvr-channel-3.mp4")


@pytest.fixture(scope="session")
def legacy_ts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _clip(tmp_path_factory.mktemp("legacy") / "nvr-channel-4.ts", "ts")


def _days_ago(w: World, days: int) -> datetime:
    return (w.container.clock.now() - timedelta(days=days)).replace(microsecond=0)


def _import(
    w: World, clip: Path, start: datetime, camera: str = TONGCHUAN, who: str = "admin", **over: Any
) -> Any:
    data = {
        "camera_id": str(w.cameras[camera]),
        "start_at": start.isoformat(),
        "purpose": "迁移旧NVR录像 (legacy NVR migration, Decree 799 art. 14)",
    } | over
    headers = w.admin if who == "admin" else w.people[who]
    with clip.open("rb") as f:
        files = {"file": (clip.name, f, "video/mp4")}
        return w.client.post(f"{API}/footage/import", data=data, files=files, headers=headers)


def _segments(c: Container, camera_id: int) -> list[Segment]:
    with c.uow() as uow:
        return uow.segments.find(camera_id)


def _ffprobe(path: Path) -> dict[str, Any]:
    done = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_name:format=format_name,duration",
         "-of", "json", str(path)],
        capture_output=True, check=True,
    )  # fmt: skip
    return dict(json.loads(done.stdout))


def test_an_imported_file_becomes_sealed_indexed_logged_segments(
    world: World, legacy_mp4: Path
) -> None:
    w, c = world, world.container
    start = _days_ago(w, 20)
    r = _import(w, legacy_mp4, start)
    assert r.status_code == 201, r.text
    record, rows = r.json()["record"], r.json()["segments"]
    source_sha = hashlib.sha256(legacy_mp4.read_bytes()).hexdigest()
    assert record["source_sha256"] == source_sha
    assert record["run_id"] == f"import-{source_sha[:16]}"
    assert len(rows) == 3 and all(row["imported"] for row in rows)
    keep = datetime.fromisoformat(r.json()["keep_until"])  # Shaanxi: the Decree's 30 days
    assert keep == datetime.fromisoformat(rows[0]["end_at"]) + timedelta(days=30)
    assert r.json()["past_retention"] is False
    assert datetime.fromisoformat(rows[0]["start_at"]) == start
    assert abs(datetime.fromisoformat(rows[-1]["end_at"]) - start - timedelta(seconds=CLIP_S)) < (
        timedelta(seconds=1)
    )
    for earlier, later in itertools.pairwise(rows):
        assert earlier["end_at"] == later["start_at"]
    indexed = [s for s in _segments(c, w.cameras[TONGCHUAN]) if s.run_id == record["run_id"]]
    assert len(indexed) == 3
    for seg in indexed:
        path = c.settings.resolved_media_dir() / seg.path
        data = path.read_bytes()
        assert hashlib.sha256(data).hexdigest() == seg.sha256 and len(data) == seg.bytes
        assert data[4:8] == b"ftyp" and b"moof" in data  # fragmented MP4, as the recorder's
        assert not os.access(path, os.W_OK) or os.geteuid() == 0
        probed = _ffprobe(path)
        assert probed["streams"][0]["codec_name"] == "h264"
        assert "mp4" in probed["format"]["format_name"]
    with c.uow() as uow:
        entries = [e for _, e in uow.audit.find(limit=100_000)]
    imported = [e for e in entries if e.action == "segment.import"]
    assert {e.detail["sha256"] for e in imported} == {s.sha256 for s in indexed}
    assert all(e.detail["source_sha256"] == source_sha and e.detail["imported"] for e in imported)
    [done] = [e for e in entries if e.action == "footage.import"]
    assert done.actor == "admin" and "legacy NVR" in done.detail["purpose"]
    assert done.outcome is Outcome.OK


def test_a_grant_over_imported_old_footage_is_executed(world: World, legacy_mp4: Path) -> None:
    w = world
    start = _days_ago(w, 45)  # older than the 30 days kept: the import says so
    done = _import(w, legacy_mp4, start)
    assert done.status_code == 201 and done.json()["past_retention"] is True
    scope = {
        "camera_ids": [w.cameras[TONGCHUAN]],
        "start": (start + timedelta(seconds=30)).isoformat(),
        "end": (start + timedelta(seconds=100)).isoformat(),
    }
    req = approved_request(w, TONGCHUAN, "view", scope=scope)
    out = post(w, f"/requests/{req['id']}/execute", "officer")
    assert out.status_code == 200, out.text
    sid = out.json()["session_id"]
    params = {"camera_id": w.cameras[TONGCHUAN], "start": scope["start"], "end": scope["end"]}
    r = w.client.get(f"{API}/sessions/{sid}/segments", params=params, headers=w.people["officer"])
    assert r.status_code == 200 and len(r.json()) == 2
    media = w.client.get(
        f"{API}/sessions/{sid}/segments/{r.json()[0]['id']}/media", headers=w.people["officer"]
    )
    assert media.status_code == 200 and media.content[4:8] == b"ftyp"


def test_an_mpeg_ts_file_is_imported_too(world: World, legacy_ts: Path) -> None:
    r = _import(world, legacy_ts, _days_ago(world, 3))
    assert r.status_code == 201, r.text
    assert len(r.json()["segments"]) == 3
    first = r.json()["segments"][0]
    assert first["codec"] == "h264"
    assert datetime.fromisoformat(first["start_at"]) == _days_ago(world, 3)


def test_bad_imports_are_refused_and_change_nothing(
    world: World, legacy_mp4: Path, tmp_path: Path
) -> None:
    w, c = world, world.container
    cam = w.cameras[TONGCHUAN]
    before = len(_segments(c, cam))
    w.person("operator", Role.OPERATOR, unit_id=w.unit_id)
    assert _import(w, legacy_mp4, _days_ago(w, 5), who="operator").status_code == 403
    r = _import(w, legacy_mp4, _days_ago(w, 5), purpose=" ")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "purpose"
    r = _import(w, legacy_mp4, w.container.clock.now() + timedelta(minutes=1))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "start_at"
    r = _import(w, legacy_mp4, w.container.clock.now() - timedelta(seconds=60))
    assert r.status_code == 422 and "after now" in r.json()["errors"][0]["reason"]
    r = _import(w, legacy_mp4, w.footage_start - timedelta(seconds=60))  # overlaps the recording
    assert r.status_code == 422 and "already has footage" in r.json()["errors"][0]["reason"]
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00\x00\x00\x18ftypisom" + os.urandom(4096))
    r = _import(w, junk, _days_ago(w, 5))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "file"
    text = tmp_path / "notes.txt"
    text.write_text("not footage")
    r = _import(w, text, _days_ago(w, 5))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "file"
    r = _import(w, legacy_mp4, _days_ago(w, 5), camera_id="999999")
    assert r.status_code == 404
    assert len(_segments(c, cam)) == before
    run_dirs = c.settings.resolved_media_dir() / str(cam)
    assert not [d for d in run_dirs.iterdir() if d.name.startswith("import-")]
    with c.uow() as uow:
        refused = [
            e.action for _, e in uow.audit.find(limit=100_000) if e.outcome is Outcome.REFUSED
        ]
    assert refused.count("footage.import") >= 6
    assert _import(w, legacy_mp4, _days_ago(w, 5)).status_code == 201
    assert _import(w, legacy_mp4, _days_ago(w, 9)).status_code == 409  # the same file twice


def test_the_cli_imports_a_file(world: World, legacy_mp4: Path) -> None:
    c = world.container
    env = {**os.environ, "CUSTOS_DATA_DIR": str(c.settings.data_dir)}
    if c.settings.database_url:
        env["CUSTOS_DATABASE_URL"] = c.settings.database_url
    start = _days_ago(world, 7).isoformat()
    argv = [sys.executable, "-m", "custos", "footage", "import", str(world.cameras[TONGCHUAN])]
    argv += [str(legacy_mp4), "--start", start, "--purpose", "legacy NVR migration"]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(out["segment_ids"]) == 3 and out["start_at"] == start
    again = subprocess.run(argv, capture_output=True, text=True, env=env, check=False, timeout=300)
    assert again.returncode == 1 and "refused" in again.stderr
