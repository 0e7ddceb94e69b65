"""Camera leases between recorder nodes, in one process on a real PostgreSQL, with the fake
engine (real fMP4 files, no network): the share is spread by capacity, a node that leaves hands
its cameras over after sealing its segments, a node that joins takes its share, and the index's
fence refuses a stale token (docs/design/cluster.md).

The failure tests with real processes (kill -9, partition, PostgreSQL restart) are in
``test_failures.py``."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from custos.adapters.storage.segment_files import SegmentStore
from custos.bootstrap import Container, bootstrap
from custos.config import Settings
from custos.domain.calendar import shanghai_date
from custos.domain.clock import SystemClock
from custos.domain.recording import OfflineReason, Segment
from custos.domain.users import SYSTEM
from custos.entrypoints.demo.cameras import register_demo_cameras
from custos.recorder.backoff import Backoff
from custos.recorder.camera_worker import RecorderConfig
from custos.recorder.engines.fake import FakeEngine, sample_command
from custos.recorder.leases import LeaseKeeper
from custos.recorder.supervisor import Supervisor, SupervisorTiming
from custos.services.fencing import RefusedSegment
from custos.services.recorder_leases import NodeIdentity, RecorderLeases
from tests.conftest import _truncate

FAST = Backoff(probe_fast_s=0.05, first_s=0.1, fast_max_s=0.2, max_s=0.2, refused_max_s=0.2)
CONFIG = RecorderConfig(segment_seconds=2, stall_s=2.0, connect_s=2.0, backoff=FAST)
TIMING = SupervisorTiming(registry_poll_s=0.5, health_publish_s=1.0, tick_s=0.1, stop_grace_s=10)
TTL_S = 2.0


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("ffmpeg") is None:
        pytest.fail("ffmpeg is needed for the fake engine's sample: run scripts/setup")
    path = tmp_path_factory.mktemp("sample") / "sample.mp4"
    subprocess.run(sample_command(path), check=True)
    return path


@pytest.fixture
def listener() -> Iterator[str]:
    """A listening port, so the workers' TCP probe passes (nothing is ever read from it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(100)
        yield f"127.0.0.1:{s.getsockname()[1]}"


@pytest.fixture
def cluster_db(pg_url: str, tmp_path: Path) -> Iterator[Container]:
    c = bootstrap(Settings(data_dir=tmp_path / "db", database_url=pg_url), clock=SystemClock())
    _truncate(c.engine)
    yield c
    c.close()


class Node:
    """One recorder node: a supervisor with its own media directory and lease keeper."""

    def __init__(self, db: Container, name: str, capacity: int, sample: Path, root: Path) -> None:
        self.name = name
        self.store = SegmentStore(root / name / "media")
        self.keeper = LeaseKeeper(
            RecorderLeases(db.uow, db.clock, ttl_s=TTL_S),
            NodeIdentity(name, "127.0.0.1:0", capacity, "test"),
            db.recording.camera_ids_to_record,
            renew_every_s=0.3,
            claim_every_s=0.3,
        )
        self.supervisor = Supervisor(
            db.recording,
            self.store,
            CONFIG,
            db.clock,
            timing=TIMING,
            engine=FakeEngine(sample, segment_wall_s=2.0),
            leases=self.keeper,
        )
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self.supervisor.run, args=(self.stop_event,))

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(30)
        assert not self.thread.is_alive()


def _wait(check: Callable[[], bool], timeout_s: float) -> float:
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout_s:
            pytest.fail(f"condition not met within {timeout_s} s")
        time.sleep(0.1)
    return time.monotonic() - start


def _holders(db: Container) -> dict[int, str | None]:
    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT camera_id, holder FROM camera_leases")).all()
    return {r[0]: r[1] for r in rows}


def _overlaps(db: Container) -> list[tuple[object, ...]]:
    """Pairs of indexed segments of one camera, recorded by two nodes, whose times overlap."""
    with db.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT a.camera_id, a.node, a.start_at, a.end_at, b.node, b.start_at, b.end_at"
                " FROM segments a JOIN segments b ON a.camera_id = b.camera_id"
                " AND a.id < b.id AND a.start_at < b.end_at AND b.start_at < a.end_at"
            )
        ).all()
    return [tuple(r) for r in rows]


def test_cameras_spread_by_capacity_then_move_when_a_node_leaves_and_come_back_when_it_joins(
    cluster_db: Container, sample: Path, listener: str, tmp_path: Path
) -> None:
    db = cluster_db
    urls = [f"rtsp://{listener}/cam{i}" for i in range(6)]
    ids = register_demo_cameras(db.registry, urls, shanghai_date(db.clock.now()))
    a = Node(db, "node-a", 4, sample, tmp_path)
    b = Node(db, "node-b", 2, sample, tmp_path)
    a.start()
    b.start()
    try:
        _wait(lambda: sorted(filter(None, _holders(db).values())).count("node-a") == 4, 20)
        assert sorted(_holders(db).values(), key=str) == ["node-a"] * 4 + ["node-b"] * 2
        _wait(lambda: all(db.recording.timeline(c, None, None).segments for c in ids), 30)
        b.stop()  # hands its two cameras over after sealing
        assert all(h in (None, "node-a") for h in _holders(db).values())
        _wait(lambda: list(_holders(db).values()).count("node-a") == 4, 5)
        # node-a's capacity is 4: the other two wait for a node
        c = Node(db, "node-c", 4, sample, tmp_path)
        c.start()
        try:
            _wait(lambda: None not in _holders(db).values(), 20)
            held = list(_holders(db).values())
            assert held.count("node-a") + held.count("node-c") == 6
            moved = [cid for cid, h in _holders(db).items() if h == "node-c"]
            _wait(lambda: all(len(db.recording.timeline(m, None, None).segments) >= 3
                              for m in moved), 30)  # fmt: skip
        finally:
            c.stop()
    finally:
        a.stop()
    overlapping = _overlaps(db)
    assert overlapping == [], "\n".join(map(str, overlapping))
    for cid in ids:
        gaps = db.recording.timeline(cid, None, None).gaps
        assert all(g.reason in {OfflineReason.LEASE_HANDOVER, OfflineReason.RECORDER_RESTART}
                   for g in gaps), gaps  # fmt: skip
    # every segment says which node recorded it, under which token, and its file is there
    for cid in ids:
        for s in db.recording.timeline(cid, None, None).segments:
            assert s.node in {"node-a", "node-b", "node-c"} and (s.fencing_token or 0) >= 1
            store = {"node-a": a.store, "node-b": b.store, "node-c": c.store}[s.node]
            assert store.size_of(s.path) == s.bytes


def test_the_index_refuses_a_stale_token_but_takes_a_late_segment_of_its_own_term(
    cluster_db: Container, listener: str, tmp_path: Path
) -> None:
    db = cluster_db
    (cam,) = register_demo_cameras(
        db.registry, [f"rtsp://{listener}/x"], shanghai_date(db.clock.now())
    )
    leases = RecorderLeases(db.uow, db.clock, ttl_s=0.5)
    old = NodeIdentity("old", "127.0.0.1:0", 10, "test")
    new = NodeIdentity("new", "127.0.0.1:0", 10, "test")
    leases.join(old)
    (first,) = leases.claim(old, 0, [cam])
    with db.engine.connect() as conn:  # lease times are PostgreSQL's: so are these (under
        t0 = conn.execute(text("SELECT now()")).scalar_one()  # a moved test clock too)
    time.sleep(0.8)  # "old" stops renewing: its lease expires
    leases.join(new)
    (second,) = leases.claim(new, 0, [cam])
    assert second.fencing_token == first.fencing_token + 1
    assert second.previous_holder == "old" and second.previous_expired
    store = SegmentStore(tmp_path / "media")

    def segment(name: str, start_s: float, end_s: float, token: int) -> Segment:
        path = store.run_dir(cam, "run", 0) / name
        path.write_bytes(b"x" * 10)
        return Segment(None, cam, "run", int(name[:6]), store.relative(path),
                       t0 + timedelta(seconds=start_s), t0 + timedelta(seconds=end_s), 1.0, 10,
                       "0" * 64, "h264", 320, 240, db.clock.now(), node="old",
                       fencing_token=token)  # fmt: skip

    # recorded inside its own term (before the successor's grant), indexed late: taken
    inside = db.recording.seal(
        segment("000001.mp4", 0, 0.3, first.fencing_token), store.refused_path
    )
    assert not isinstance(inside, RefusedSegment)
    # recorded on after the successor's grant: refused, kept aside, reported
    late = segment("000002.mp4", 0.3, 5.0, first.fencing_token)
    refused = db.recording.seal(late, store.refused_path)
    assert isinstance(refused, RefusedSegment)
    assert refused.current_token == second.fencing_token
    assert refused.kept_at == store.refused_path(late.path)
    assert [s.path for s in db.recording.timeline(cam, None, None).segments] == [inside.path]
    with db.engine.connect() as conn:
        kept = conn.execute(text("SELECT path, node, why FROM refused_segments")).all()
        logged = conn.execute(
            text("SELECT count(*) FROM audit_events WHERE entry LIKE '%segment.refuse%'")
        ).scalar_one()
    assert [(k[0], k[1]) for k in kept] == [(late.path, "old")] and "token" in kept[0][2]
    assert logged == 1
    assert [a.kind.value for a in db.alarms.find(SYSTEM)] == ["segment_refused"]
    # the successor's own token is indexed
    mine = db.recording.seal(
        Segment(**{**late.__dict__, "sequence": 3, "path": late.path.replace("2.mp4", "3.mp4"),
                   "node": "new", "fencing_token": second.fencing_token}),
        store.refused_path,
    )  # fmt: skip
    assert not isinstance(mine, RefusedSegment)
