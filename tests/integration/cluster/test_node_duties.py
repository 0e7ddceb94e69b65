"""A recorder node's own timed duties (recorder/node_duties.py, docs/design/cluster.md "Timed
duties") on a real PostgreSQL: each disk's scrub, offload, purge unlinking and storage projection
touch only the segments whose files are on it — the node's own (``segments.node``), or, for the
server's housekeeper, the one-machine recorder's (no node). Nobody flags another disk's files
missing or drops a row whose file it cannot delete."""

from __future__ import annotations

import dataclasses
import shutil
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from custos.adapters.storage.segment_files import SegmentStore
from custos.bootstrap import Container, bootstrap
from custos.config import Settings
from custos.domain.access import Role
from custos.domain.alarms import AlarmKind
from custos.domain.clock import ManualClock
from custos.domain.recording import Segment
from custos.domain.retention import GarbageRow
from custos.domain.users import SYSTEM
from custos.entrypoints.api.app import create_app
from custos.recorder.node_duties import NodeDuties
from custos.services.offload import OffloadService
from custos.services.storage_watch import StorageWatch
from tests.api.access_world import make_clip
from tests.api.builders import API, PASSWORD, camera_body, make_site, make_unit
from tests.conftest import _truncate

SEGMENT_S = 10


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("node-clip") / "clip.mp4")


@dataclasses.dataclass(frozen=True)
class _Stored:
    key: str
    bytes: int
    sha256: str | None
    version_id: str | None = None
    retain_until: datetime | None = None


class MemoryStore:
    """An object store in memory: what the offload uploaded, by key."""

    def __init__(self) -> None:
        self.objects: dict[str, _Stored] = {}

    def key_for(self, relative: str) -> str:
        return relative

    def upload(
        self, key: str, path: Path, sha256: str, size: int, retain_until: datetime | None = None
    ) -> _Stored:
        assert path.stat().st_size == size
        self.objects[key] = _Stored(key, size, sha256)
        return self.objects[key]

    def stat(self, key: str, version_id: str | None = None) -> _Stored | None:
        return self.objects.get(key)

    def fetch(self, key: str, dest: Path, version_id: str | None = None) -> None:
        raise AssertionError("the offload never reads back")

    def hash_of(self, key: str, version_id: str | None = None) -> str | None:
        o = self.objects.get(key)
        return o.sha256 if o else None

    def versions(self, key: str) -> list[_Stored]:
        return [self.objects[key]] if key in self.objects else []

    def list_keys(self) -> list[str]:
        return sorted(self.objects)

    def delete(self, key: str) -> int:
        return 1 if self.objects.pop(key, None) else 0


@dataclasses.dataclass
class Cluster:
    server: Container  # custos serve: the one-machine recorder's files in its media dir
    node: Container  # recorder node n1: its own data directory and disk
    camera_id: int
    null_ids: list[int]  # recorded by the one-machine recorder, on the server's disk
    n1_ids: list[int]  # recorded by n1, on n1's disk
    n2_id: int  # recorded by n2, whose disk is neither of these


@pytest.fixture
def cluster(tmp_path: Path, clip: Path, pg_url: str, clock: ManualClock) -> Iterator[Cluster]:
    server = bootstrap(Settings(data_dir=tmp_path / "server", database_url=pg_url), clock=clock)
    _truncate(server.engine)
    with TestClient(create_app(server)) as client:
        server.auth.create_user(SYSTEM, "admin", Role.ADMIN, PASSWORD, None)
        r = client.post(f"{API}/auth/login", json={"username": "admin", "password": PASSWORD})
        admin = {"Authorization": f"Bearer {r.json()['access_token']}"}
        site_id = make_site(client, admin, make_unit(client, admin, 1), "110105")
        r = client.post(f"{API}/cameras", json=camera_body(site_id, "110105"), headers=admin)
        assert r.status_code == 201, r.text
        camera_id = int(r.json()["id"])
    shutil.copytree(server.settings.data_dir / "keys", tmp_path / "n1" / "keys")
    node = bootstrap(Settings(data_dir=tmp_path / "n1", database_url=pg_url), clock=clock)
    start = server.clock.now() - timedelta(hours=1)
    null_ids = [_segment(server, camera_id, clip, "one", i, start, None) for i in range(2)]
    n1_ids = [_segment(node, camera_id, clip, "n1run", i, start, "n1") for i in range(3)]
    n2_id = _segment(None, camera_id, clip, "n2run", 0, start, "n2", uow_of=server)
    yield Cluster(server, node, camera_id, null_ids, n1_ids, n2_id)
    node.close()
    server.close()


def _segment(
    c: Container | None, camera_id: int, clip: Path, run: str, seq: int, start: datetime,
    node: str | None, uow_of: Container | None = None,
) -> int:  # fmt: skip
    """A sealed segment indexed with ``node``; its file on ``c``'s disk (None: on no disk here)."""
    owner = c or uow_of
    assert owner is not None
    store = SegmentStore(owner.settings.resolved_media_dir())
    path = store.run_dir(camera_id, run) / f"{seq:06d}.mp4"
    shutil.copyfile(clip, path)
    sealed = store.seal(path)
    relative = store.relative(path)
    if c is None:
        path.unlink()  # the file is on another machine
    begin = start + timedelta(seconds=seq * SEGMENT_S)
    seg = Segment(
        None, camera_id, run, seq, relative, begin, begin + timedelta(seconds=SEGMENT_S),
        float(SEGMENT_S), sealed.bytes, sealed.sha256, "h264", 320, 240, owner.clock.now(),
        node=node, fencing_token=1 if node else None,
    )  # fmt: skip
    with owner.uow() as uow:
        added = uow.segments.add(seg)
        uow.commit()
    assert added.id is not None
    return added.id


def _verified(c: Container) -> set[int]:
    with c.engine.connect() as conn:
        return set(
            conn.execute(text("SELECT id FROM segments WHERE verified_at IS NOT NULL")).scalars()
        )


def _integrity_alarms(c: Container) -> list[str]:
    with c.uow() as uow:
        return [a.subject for a in uow.alarms.find(True, 100) if a.kind is AlarmKind.INTEGRITY]


def test_each_disk_scrubs_only_its_own_segments(cluster: Cluster) -> None:
    k = cluster
    NodeDuties(k.node, "n1").tick()  # the first tick scrubs
    assert _verified(k.server) == set(k.n1_ids)
    k.server.scrubber.run()  # the housekeeper's scrub: the one-machine recorder's files
    assert _verified(k.server) == set(k.n1_ids) | set(k.null_ids)
    assert k.n2_id not in _verified(k.server)  # n2's file is on n2: nobody here hashes it
    assert _integrity_alarms(k.server) == []  # and nobody calls it missing


def test_the_purge_unlinks_a_file_only_on_its_own_disk(cluster: Cluster) -> None:
    k = cluster
    with k.server.uow() as uow:
        segs = {s.id: s for s in uow.segments.find()}
        uow.garbage.add(
            [
                GarbageRow(i, s.camera_id, s.path, s.sha256, s.bytes, k.server.clock.now(), "b1")
                for i, s in segs.items()
                if i in (k.null_ids[0], k.n1_ids[0])
            ]
        )
        uow.commit()
    server_file = SegmentStore(k.server.settings.resolved_media_dir()).absolute(
        segs[k.null_ids[0]].path
    )
    node_file = SegmentStore(k.node.settings.resolved_media_dir()).absolute(segs[k.n1_ids[0]].path)
    assert k.server.retention.finish_garbage() == 1  # the housekeeper: its own disk's only
    assert not server_file.exists() and node_file.exists()
    with k.server.uow() as uow:
        assert [g.segment_id for g in uow.garbage.find()] == [k.n1_ids[0]]
        assert uow.segments.get(k.n1_ids[0]) is not None  # kept until its file is gone
    duties = NodeDuties(k.node, "n1")
    duties.tick()
    assert not node_file.exists() and duties.passes["garbage"] == 1
    with k.server.uow() as uow:
        assert uow.garbage.find() == [] and uow.segments.get(k.n1_ids[0]) is None


def test_a_node_offloads_only_its_own_segments(cluster: Cluster) -> None:
    k = cluster
    objects = MemoryStore()
    media = SegmentStore(k.node.settings.resolved_media_dir())
    k.node.offload = OffloadService(
        k.node.uow, objects, k.node.clock, media.absolute, k.node.settings.data_dir / "cache"
    )
    duties = NodeDuties(k.node, "n1")
    duties.OFFLOAD_BATCH = 2  # two batches and a short one
    assert duties.offload_tick() == 3
    with k.server.uow() as uow:
        uploaded = {o.segment_id for o in uow.segment_objects.find()}
    assert uploaded == set(k.n1_ids) and len(objects.objects) == 3
    assert duties.passes["offload"] == 2


def test_a_nodes_storage_projection_counts_its_own_footage(cluster: Cluster) -> None:
    k = cluster
    with k.server.uow() as uow:
        sizes = {s.id: s.bytes for s in uow.segments.find()}

    def footage(node: str | None, c: Container) -> int:
        watch = StorageWatch(
            c.uow, c.clock, c.retention, c.alarms, "v", lambda: (10**12, 0, 10**12), node=node
        )
        return watch.projection().footage_bytes

    assert footage("n1", k.node) == sum(sizes[i] for i in k.n1_ids)
    assert footage(None, k.server) == sum(sizes[i] for i in k.null_ids)


def test_the_duties_run_on_their_own_thread_until_stopped(cluster: Cluster) -> None:
    duties = NodeDuties(cluster.node, "n1", every_s=0.02)
    duties.start()
    deadline = time.monotonic() + 10
    while duties.passes["garbage"] < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    duties.stop()
    assert duties.passes["garbage"] >= 3 and duties.passes["scrub"] == 1
    assert duties.passes["storage"] >= 1
    after = dict(duties.passes)
    time.sleep(0.1)
    assert dict(duties.passes) == after  # stopped: nothing more runs
    assert _verified(cluster.server) == set(cluster.n1_ids)
