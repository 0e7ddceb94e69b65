"""Playback and live view on an API server of a cluster, of footage that is only on the recorder
node that recorded it (docs/design/cluster.md, "Live view and playback from any server"): the
node's media server runs in-process on 127.0.0.1 with its own media directory, and
``recorder_nodes`` on PostgreSQL says where it is. The API server has no copy of its own."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import signal
import threading
import time
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import FrameType

import pytest
from fastapi.testclient import TestClient

from custos.adapters.media import fmp4
from custos.adapters.storage.segment_files import SegmentStore
from custos.bootstrap import Container, bootstrap
from custos.config import Settings
from custos.domain.access import Role
from custos.domain.clock import ManualClock
from custos.domain.cluster import NodeState
from custos.domain.recording import Segment
from custos.recorder.node_media import NodeMediaServer
from tests.api.access_world import SEGMENT_S, XIAN, World
from tests.api.builders import API
from tests.conftest import _truncate

SECRET = "c" * 40
NODE = "node-x"


@pytest.fixture
def container(pg_url: str, tmp_path: Path, clock: ManualClock) -> Iterator[Container]:
    """The API server: PostgreSQL, the cluster secret, no recorder, its own data directory."""
    settings = Settings(data_dir=tmp_path / "api", database_url=pg_url, cluster_secret=SECRET)
    c = bootstrap(settings, clock=clock)
    _truncate(c.engine)
    yield c
    c.close()


@pytest.fixture
def node_store(tmp_path: Path) -> SegmentStore:
    return SegmentStore(tmp_path / NODE / "media")


@pytest.fixture
def node(node_store: SegmentStore, clock: ManualClock, container: Container) -> Iterator[str]:
    """node-x's media server, registered in ``recorder_nodes``; its address."""
    server = NodeMediaServer("127.0.0.1", 0, SECRET.encode(), node_store, clock)
    server.start()
    with container.uow() as uow:
        uow.leases.upsert_node(NODE, server.address, 10, "test", NodeState.RUNNING)
        uow.commit()
    yield server.address
    server.stop()


@pytest.fixture
def deadline() -> Iterator[None]:
    """A test that waits on a socket fails after 60 s instead of hanging."""

    def expire(_signum: int, _frame: FrameType | None) -> None:
        raise TimeoutError("no answer within 60 s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def node_segment(
    w: World, store: SegmentStore, clip: Path, seq: int, sha256: str | None = None
) -> Segment:
    """A sealed segment of the Xi'an camera written on node-x's disk only, and its row."""
    cid = w.cameras[XIAN]
    path = store.run_dir(cid, "noderun") / f"{seq:06d}.mp4"
    shutil.copyfile(clip, path)
    sealed = store.seal(path)
    assert w.footage_start is not None
    start = w.footage_start + timedelta(seconds=(3 + seq) * SEGMENT_S)
    now = w.container.clock.now()
    with w.container.uow() as uow:
        row = uow.segments.add(
            Segment(
                None, cid, "noderun", seq, store.relative(path), start,
                start + timedelta(seconds=SEGMENT_S), float(SEGMENT_S), sealed.bytes,
                sha256 or sealed.sha256, "h264", 320, 240, now, node=NODE, fencing_token=1,
            )
        )  # fmt: skip
        uow.commit()
    return row


def test_playback_of_a_segment_only_on_its_node_returns_its_bytes(
    world: World, node: str, node_store: SegmentStore, clip: Path
) -> None:
    w = world
    seg = node_segment(w, node_store, clip, 0)
    assert seg.id is not None
    api_copy = w.container.settings.resolved_media_dir() / seg.path
    assert not api_copy.exists()  # nothing of it on the API server
    duty = w.person("duty-xian", Role.OPERATOR, unit_id=w.unit_id)
    body = {"camera_ids": [w.cameras[XIAN]], **w.range(30, 40), "purpose": "核查"}
    r = w.client.post(f"{API}/playback/sessions", json=body, headers=duty)
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    listed = w.client.get(
        f"{API}/sessions/{sid}/segments",
        params={"camera_id": w.cameras[XIAN], **w.range(30, 40)},
        headers=duty,
    )
    assert listed.status_code == 200, listed.text
    assert seg.id in [s["id"] for s in listed.json()]
    media = f"{API}/sessions/{sid}/segments/{seg.id}/media"
    r = w.client.get(media, headers=duty)
    assert r.status_code == 200, r.text
    assert r.content == clip.read_bytes()
    assert hashlib.sha256(r.content).hexdigest() == seg.sha256
    part = w.client.get(media, headers={**duty, "Range": "bytes=1000-1999"})  # the player seeks
    assert part.status_code == 206 and part.content == clip.read_bytes()[1000:2000]
    assert not api_copy.exists()  # a cached copy, not the media directory


def test_an_export_takes_a_segment_from_its_node(
    world: World, node: str, node_store: SegmentStore, clip: Path
) -> None:
    w = world
    seg = node_segment(w, node_store, clip, 0)
    manager = w.person("manager1", Role.UNIT_MANAGER, unit_id=w.unit_id)
    body = {"camera_ids": [w.cameras[XIAN]], **w.range(30, 40), "purpose": "核查"}
    r = w.client.post(f"{API}/exports", json=body, headers=manager)
    assert r.status_code == 201, r.text
    d = w.client.get(f"{API}/exports/{r.json()['id']}/file", headers=manager)
    assert d.status_code == 200
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(d.content)).read("manifest.json"))
    assert [s["sha256"] for s in manifest["sources"]] == [seg.sha256]


def test_a_copy_that_does_not_match_the_index_is_refused(
    world: World, node: str, node_store: SegmentStore, clip: Path
) -> None:
    w = world
    seg = node_segment(w, node_store, clip, 0, sha256="0" * 64)
    duty = w.person("duty-xian", Role.OPERATOR, unit_id=w.unit_id)
    body = {"camera_ids": [w.cameras[XIAN]], **w.range(30, 40), "purpose": "核查"}
    sid = w.client.post(f"{API}/playback/sessions", json=body, headers=duty).json()["id"]
    r = w.client.get(f"{API}/sessions/{sid}/segments/{seg.id}/media", headers=duty)
    assert r.status_code == 409
    assert clip.read_bytes()[:64] not in r.content


def test_the_live_view_relays_the_tail_of_the_node_holding_the_lease(
    world: World, node: str, node_store: SegmentStore, clip: Path, deadline: None
) -> None:
    w = world
    cid = w.cameras[XIAN]
    found = fmp4.scan(clip)
    data = clip.read_bytes()
    assert found.init_end is not None
    init = data[: found.init_end]
    frags = [data[a:b] for a, b in found.fragments]
    writing = node_store.run_dir(cid, "liverun") / "000000.mp4"
    writing.write_bytes(init + frags[0] + frags[1])  # node-x is recording it now
    _touch(writing)
    with w.container.uow() as uow:
        uow.leases.ensure([cid])
        assert uow.leases.claim(NODE, [cid], 1, 10.0)
        uow.commit()
    # the API server has older footage of the camera, from before it was a cluster: not growing
    old = w.container.settings.resolved_media_dir() / str(cid)
    an_hour_ago = time.time() - 3600
    for f in old.rglob("*.mp4"):
        os.utime(f, (an_hour_ago, an_hour_ago))
    duty = w.person("duty-xian", Role.OPERATOR, unit_id=w.unit_id)
    url = f"{API}/live/cameras/{cid}/stream"
    client: TestClient = w.client
    with client.websocket_connect(url, headers=duty) as ws:
        assert ws.receive_json()["type"] == "session"
        first = ws.receive_json()
        assert first["type"] == "init" and first["codec"].startswith("avc1.")
        assert (first["path"], first["source"]) == ("main", "node")
        assert ws.receive_bytes() == init
        status = ws.receive_json()
        assert (status["type"], status["state"], status["reason"]) == ("status", "live", None)
        assert ws.receive_bytes() == frags[1]  # the newest complete fragment
        appended = threading.Timer(0.2, lambda: _append(writing, frags[2]))
        appended.start()
        assert ws.receive_bytes() == frags[2]  # written on the node after the viewer came
        appended.join()


def _append(path: Path, data: bytes) -> None:
    with path.open("ab") as f:
        f.write(data)
    _touch(path)


def _touch(path: Path) -> None:
    """Its time written now by this process's clock, which the live rule compares it with (a
    test run with a moved clock moves this process's clock, not the file system's)."""
    now = time.time()
    os.utime(path, (now, now))
