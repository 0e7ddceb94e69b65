"""A snapshot from the wall, on SQLite and PostgreSQL: the newest keyframe of the file the
recorder writes (a real fMP4 made by ffmpeg), as a JPEG that decodes, registered as an export
with its purpose and hash (and the download); refused without a purpose, a recent frame, the
export permission or the camera in reach."""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from pathlib import Path

import av
import cv2
import numpy as np
from fastapi.testclient import TestClient

from custos.adapters.storage.segment_files import SegmentStore
from custos.bootstrap import Container
from custos.domain.access import Role
from tests.api.builders import API, camera_body, make_site, make_unit
from tests.api.conftest import LoginAs

XIAN = "610113"


def _camera(client: TestClient, admin: dict[str, str], site: int, serial: int) -> int:
    r = client.post(f"{API}/cameras", json=camera_body(site, XIAN, serial=serial), headers=admin)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _keyframes(clip: Path) -> list[np.ndarray]:
    """Every keyframe of the clip, decoded independently of Custos (BGR)."""
    with av.open(str(clip)) as f:
        stream = f.streams.video[0]
        stream.codec_context.skip_frame = "NONKEY"
        return [frame.to_ndarray(format="bgr24") for frame in f.decode(stream)]


def test_the_newest_keyframe_as_a_registered_export(
    client: TestClient, admin: dict[str, str], login_as: LoginAs, container: Container, clip: Path
) -> None:
    unit, other = make_unit(client, admin, 1), make_unit(client, admin, 2)
    site = make_site(client, admin, unit, XIAN)
    recorded, idle = _camera(client, admin, site, 1), _camera(client, admin, site, 2)
    foreign = _camera(client, admin, make_site(client, admin, other, XIAN), 3)
    store = SegmentStore(container.settings.resolved_media_dir())
    old = store.run_dir(recorded, "run-a") / "000000.mp4"
    shutil.copyfile(clip, old)
    os.utime(old, (time.time() - 3600, time.time() - 3600))  # an older run, long stale
    newest = store.run_dir(recorded, "run-b") / "000000.mp4"
    shutil.copyfile(clip, newest)  # the file being written now
    # written now by this process's wall clock: scripts/test-at moves Python's clock, not the
    # file times the kernel stamps (docs/design/time.md, "Tests")
    os.utime(newest, (time.time(), time.time()))
    manager = login_as(Role.UNIT_MANAGER, unit)
    url = f"{API}/cameras/{recorded}/snapshot"

    r = client.post(url, json={"purpose": "门口纠纷留证"}, headers=manager)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/jpeg"
    picture = cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_COLOR)
    assert picture is not None and picture.shape == (240, 320, 3)
    keys = _keyframes(clip)
    diffs = [float(np.abs(picture.astype(int) - k.astype(int)).mean()) for k in keys]
    assert len(keys) == 10 and diffs.index(min(diffs)) == len(keys) - 1, diffs  # the newest
    assert min(diffs) * 3 < max(diffs), diffs  # JPEG's loss is far below a moving picture's
    sha = hashlib.sha256(r.content).hexdigest()
    assert r.headers["x-content-sha256"] == sha
    assert f"snapshot-{recorded}-" in r.headers["content-disposition"]

    listed = client.get(f"{API}/register", params={"camera_id": recorded}, headers=manager).json()
    entries = {e["kind"]: e for e in listed}
    assert set(entries) == {"export", "download"}
    export = entries["export"]
    assert export["id"] == int(r.headers["x-register-entry-id"])
    assert (export["purpose"], export["camera_ids"], export["output_sha256"]) == (
        "门口纠纷留证", [recorded], sha
    )  # fmt: skip
    assert export["start"] is not None and export["start"] < export["end"]
    kept = container.settings.data_dir / "exports" / export["output_name"]
    assert hashlib.sha256(kept.read_bytes()).hexdigest() == sha  # the copy the hash names

    r = client.post(url, json={"purpose": "  "}, headers=manager)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "purpose"
    operator = login_as(Role.OPERATOR, unit)
    assert client.post(url, json={"purpose": "x"}, headers=operator).status_code == 403
    r = client.post(f"{API}/cameras/{foreign}/snapshot", json={"purpose": "x"}, headers=manager)
    assert r.status_code == 404
    r = client.post(f"{API}/cameras/{idle}/snapshot", json={"purpose": "x"}, headers=manager)
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "camera_id"
    os.utime(newest, (time.time() - 60, time.time() - 60))  # the recorder stopped a minute ago
    r = client.post(url, json={"purpose": "x"}, headers=manager)
    assert r.status_code == 409, r.text
    assert "10" in r.json()["errors"][0]["text"]
    listed = client.get(f"{API}/register", params={"camera_id": recorded}, headers=manager).json()
    assert len(listed) == 2  # nothing refused was registered
