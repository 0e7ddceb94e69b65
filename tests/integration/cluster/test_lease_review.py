"""Review of issue 16's leases and fence: scenarios the design note promises that the code does
not yet keep. Each test FAILS on the current code and should pass once its fix is in."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from custos.adapters.db.cluster_repositories import LeaseRepository
from custos.adapters.storage.segment_files import SegmentStore
from custos.bootstrap import Container, bootstrap
from custos.config import Settings
from custos.domain.calendar import shanghai_date
from custos.domain.clock import SystemClock
from custos.domain.recording import Segment, WallClockAnchor
from custos.entrypoints.demo.cameras import register_demo_cameras
from custos.recorder.segment_indexer import SegmentIndexer
from custos.services.fencing import KeptAt, RefusedSegment
from custos.services.recorder_leases import (
    NodeIdentity,
    NodeNameTakenError,
    NodeReplacedError,
    RecorderLeases,
)
from tests.conftest import _truncate


@pytest.fixture
def db(pg_url: str, tmp_path: Path) -> Iterator[Container]:
    c = bootstrap(Settings(data_dir=tmp_path / "db", database_url=pg_url), clock=SystemClock())
    _truncate(c.engine)
    yield c
    c.close()


def _camera(db: Container) -> int:
    (cam,) = register_demo_cameras(
        db.registry, ["rtsp://127.0.0.1:9/x"], shanghai_date(db.clock.now())
    )
    return cam


def _segment(store: SegmentStore, cam: int, seq: int, end: datetime, node: str | None = None,
             token: int | None = None) -> Segment:  # fmt: skip
    path = store.run_dir(cam, "run", 0) / f"{seq:06d}.mp4"
    path.write_bytes(b"x" * 10)
    return Segment(None, cam, "run", seq, store.relative(path), end - timedelta(seconds=1), end,
                   1.0, 10, "0" * 64, "h264", 320, 240, end, node=node, fencing_token=token)  # fmt: skip


def test_a_second_process_under_a_live_nodes_name_is_refused(db: Container) -> None:
    """Two processes, one name: both renew ``holder = name``, both record under the same
    token, and the fence indexes both (overlapping segments). The second join must refuse."""
    cam = _camera(db)
    leases = RecorderLeases(db.uow, db.clock, ttl_s=10)
    me = NodeIdentity("n1", "10.0.0.1:8000", 10, "test")
    leases.join(me)
    (granted,) = leases.claim(me, 0, [cam])
    twin = NodeIdentity("n1", "10.0.0.2:8000", 10, "test")  # started elsewhere, same name
    with pytest.raises(NodeNameTakenError, match=r"n1.*10\.0\.0\.1:8000"):
        leases.join(twin)
    # the first process keeps the camera under its token; the twin holds nothing
    assert [h.fencing_token for h in leases.renew(me)] == [granted.fencing_token]
    with pytest.raises(NodeReplacedError):
        leases.renew(twin)


def test_a_seal_cut_off_mid_transaction_does_not_block_the_failover(
    db: Container, pg_url: str, tmp_path: Path
) -> None:
    """A node partitioned while its seal holds the lease row FOR UPDATE (fence) leaves the
    transaction idle on the server: a recorder node's sessions end when idle in a transaction
    (``database_idle_transaction_s``; 20 s in ``custos recorder --node``, 5 s here), so the
    row is freed and SKIP LOCKED claims take the camera."""
    node_db = bootstrap(
        Settings(data_dir=tmp_path / "node", database_url=pg_url, database_idle_transaction_s=5),
        clock=SystemClock(),
    )
    cam = _camera(db)
    leases = RecorderLeases(db.uow, db.clock, ttl_s=1)
    old, new = (NodeIdentity(n, "127.0.0.1:0", 10, "test") for n in ("old", "new"))
    leases.join(old)
    leases.claim(old, 0, [cam])
    stuck = node_db.engine.connect()  # the cut-off node's seal, after fence's FOR UPDATE
    stuck.begin()
    LeaseRepository(stuck).current_token(cam)
    try:
        time.sleep(8)  # the lease expires; a server-side idle timeout (≤ 5 s) ends `stuck`
        leases.join(new)
        claimed = leases.claim(new, 0, [cam])
        assert [c.camera_id for c in claimed] == [cam], "the camera is never failed over"
    finally:
        stuck.invalidate()  # the server ended it: nothing to roll back
        stuck.close()
        node_db.close()


def test_the_not_before_clamp_holds_for_a_burst_longer_than_max_drift() -> None:
    """A run's first 10 s segment delivered 5 s after the run began (buffered media) must not
    start before ``not_before`` (the previous holder's last indexed end)."""
    t = datetime(2024, 1, 1, tzinfo=UTC)
    start, _end, _ = WallClockAnchor(not_before=t).place(0.0, 10.0, t + timedelta(seconds=5))
    assert start >= t, f"starts {t - start} before not_before: re-anchoring undid the clamp"


class _LostCommitReply:
    """The index committed, then the connection dropped before the reply (PostgreSQL
    restarted during COMMIT): the caller sees an error for a row that exists."""

    def __init__(self, db: Container) -> None:
        self._db = db
        self.failed = False

    def seal(self, s: Segment, kept_at: KeptAt) -> Segment | RefusedSegment:
        done = self._db.recording.seal(s, kept_at)
        if not self.failed:
            self.failed = True
            raise ConnectionError("server closed the connection unexpectedly")
        return done


def test_a_commit_whose_reply_was_lost_does_not_block_the_cameras_index(
    db: Container, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("custos.recorder.segment_indexer.time.sleep", lambda _s: None)
    cam = _camera(db)
    store = SegmentStore(tmp_path / "media")
    indexer = SegmentIndexer(cam, _LostCommitReply(db), store)  # type: ignore[arg-type]
    now = datetime.now(UTC)
    indexer.index(_segment(store, cam, 1, now))
    indexer.index(_segment(store, cam, 2, now + timedelta(seconds=1)))
    assert len(db.recording.timeline(cam, None, None).segments) == 2
    assert indexer.waiting == 0, "every later segment of the camera waits behind the first"


class _RefusedDirFull(SegmentStore):
    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.tries = 0

    def set_aside(self, relative: str) -> str:
        self.tries += 1
        if self.tries == 1:
            raise OSError(28, "No space left on device")
        return super().set_aside(relative)


def test_a_refusal_whose_move_failed_is_recorded_once(
    db: Container, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cam = _camera(db)
    leases = RecorderLeases(db.uow, db.clock, ttl_s=0.3)
    old, new = (NodeIdentity(n, "127.0.0.1:0", 10, "test") for n in ("old", "new"))
    leases.join(old)
    (first,) = leases.claim(old, 0, [cam])
    time.sleep(0.5)
    leases.join(new)
    leases.claim(new, 0, [cam])
    monkeypatch.setattr(
        "custos.recorder.segment_indexer.time.sleep", lambda _s: None
    )  # the backoff only
    store = _RefusedDirFull(tmp_path / "media")
    with db.engine.connect() as conn:  # the grant's clock (the test's may be moved)
        now = conn.execute(text("SELECT now()")).scalar_one()
    late = _segment(store, cam, 1, now + timedelta(seconds=5), "old", first.fencing_token)
    SegmentIndexer(cam, db.recording, store).index(late)
    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT count(*) FROM refused_segments")).scalar_one()
    assert rows == 1, (
        f"{rows} refused_segments rows (and as many segment.refuse entries) for one file"
    )


class _BackBetweenRenewAndClaim:
    """PostgreSQL comes back between the renewal (failed) and the claim of the same tick."""

    ttl_s = 10.0

    def __init__(self) -> None:
        self.claims = 0

    def join(self, me: NodeIdentity) -> None:
        pass

    def renew(self, me: NodeIdentity) -> list[object]:
        raise ConnectionError("the database is restarting")

    def claim(self, me: NodeIdentity, held: int, cameras: object) -> list[object]:
        self.claims += 1
        return []

    def surplus(self, me: NodeIdentity, held: object, cameras: int) -> list[int]:
        return []


def test_no_claim_in_a_tick_whose_renewal_failed() -> None:
    """The one-TTL claim pause is armed only by the first renewal that works again; a claim in
    the tick whose renewal failed bypasses it (and may take the expired leases of every node
    cut off with this one, its own included, at token + 1)."""
    from custos.recorder.leases import LeaseKeeper

    fake = _BackBetweenRenewAndClaim()
    keeper = LeaseKeeper(fake, NodeIdentity("n1", "a:1", 10, "t"), lambda: [1], 60, 60)  # type: ignore[arg-type]
    keeper.start()
    time.sleep(0.5)
    keeper.stop()
    assert fake.claims == 0, "claimed right after a failed renewal, before any pause"
