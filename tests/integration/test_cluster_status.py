"""The cluster's status (issue 16 §2, docs/design/cluster.md) read from a real PostgreSQL
whose rows recorder nodes made through RecorderLeases: nodes, leases, the cameras no live node
records, offload lag per node, refused segments, who holds the timed duties; and one machine's
status on SQLite and on a PostgreSQL no node has joined."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from custos.adapters.db.cluster_status_repositories import SqlClusterStatus
from custos.bootstrap import Container, bootstrap
from custos.config import Settings
from custos.domain.access import Role
from custos.domain.clock import SystemClock
from custos.domain.duty_leases import Duty
from custos.domain.errors import PermissionDenied
from custos.domain.recording import Segment
from custos.domain.users import SYSTEM, Principal
from custos.services.cluster_status import (
    ClusterStatus,
    ClusterStatusService,
    NodeStatus,
    ProblemKind,
    SingleMachine,
)
from custos.services.offload import SegmentObject
from custos.services.recorder_leases import RecorderLeases
from tests.conftest import _truncate
from tests.integration.cluster_status_world import (
    A,
    B,
    TwoNodes,
    make_stale,
    register_cameras,
    shared,
)


@pytest.fixture
def pg(pg_url: str, tmp_path: Path) -> Iterator[Container]:
    c = bootstrap(Settings(data_dir=tmp_path / "pg", database_url=pg_url), clock=SystemClock())
    _truncate(c.engine)
    yield c
    c.close()


@pytest.fixture
def lite(sqlite_template: Path, tmp_path: Path) -> Iterator[Container]:
    data = tmp_path / "lite"
    data.mkdir()
    shutil.copyfile(sqlite_template, data / sqlite_template.name)
    c = bootstrap(Settings(data_dir=data), clock=SystemClock())
    yield c
    c.close()


def _service(db: Container, offload: bool = True) -> ClusterStatusService:
    """The container's service, but with offload on (no object store runs in these tests)."""
    return ClusterStatusService(
        SqlClusterStatus(db.engine), db.clock, db.recording.targets, db.duty_leases, offload
    )


def _node(st: ClusterStatus, name: str) -> NodeStatus:
    return next(n for n in st.nodes if n.name == name)


def _problems(st: ClusterStatus) -> set[tuple[str, str]]:
    return {(str(p.kind), p.subject) for p in st.problems}


def test_two_nodes_share_the_cameras_then_one_goes_stale_and_the_other_takes_over(
    pg: Container,
) -> None:
    svc = _service(pg)
    ids = register_cameras(pg, 5)
    w = TwoNodes(pg, RecorderLeases(pg.uow, pg.clock), ids)
    w.leases.join(A)
    w.leases.claim(A, 0, w.targets())
    w.leases.join(B)
    assert w.leases.surplus(A, ids, 5) == ids[3:]

    st = svc.status(SYSTEM)
    assert st.clustered and st.single_machine is None and st.cameras_in_service == 5
    a, b = _node(st, "node-a"), _node(st, "node-b")
    assert (a.cameras, a.handing_over, a.expired) == (ids, ids[3:], [])
    assert (b.cameras, b.live, b.address, b.capacity, b.version) == ([], True, "10.0.0.2:8081", 5, "0.16.0")  # fmt: skip
    assert a.live and a.state == "running" and 0 <= a.heartbeat_age_s < 5
    assert st.healthy and st.unrecorded == []

    w.leases.release(A.name, ids[3:])  # handed over, not yet claimed: no one records them
    st = svc.status(SYSTEM)
    assert [c.id for c in st.unrecorded] == ids[3:] and st.unleased == 0
    assert _problems(st) == {("unrecorded", str(i)) for i in ids[3:]}
    assert {c.address_code for c in st.unrecorded} == {
        t.address_code for t in pg.recording.targets() if t.camera_id in ids[3:]
    }

    w.leases.claim(B, 0, w.targets())
    st = svc.status(SYSTEM)
    assert (_node(st, "node-a").cameras, _node(st, "node-b").cameras) == (ids[:3], ids[3:])
    assert st.healthy

    make_stale(pg, "node-b")
    st = svc.status(SYSTEM)
    b = _node(st, "node-b")
    assert not b.live and b.heartbeat_age_s >= 59 and b.expired == ids[3:]
    assert _node(st, "node-a").live
    assert [c.id for c in st.unrecorded] == ids[3:]
    assert _problems(st) == {("unrecorded", str(i)) for i in ids[3:]} | {
        (ProblemKind.DEAD_HOLDER.value, "node-b")
    }
    assert not st.healthy

    taken = w.leases.claim(A, 3, w.targets())  # node A's next poll: B's expired leases
    assert [c.camera_id for c in taken] == ids[3:] and all(c.previous_holder == "node-b" for c in taken)  # fmt: skip
    st = svc.status(SYSTEM)
    assert _node(st, "node-a").cameras == ids and _node(st, "node-b").cameras == []
    assert not _node(st, "node-b").live and st.healthy  # a dead node holding nothing is no problem

    new = register_cameras(pg, 1, first=6)  # in service, no node has claimed it yet
    st = svc.status(SYSTEM)
    assert [c.id for c in st.unrecorded] == new and st.unleased == 1 and not st.healthy


def _segment(camera: int, seq: int, end: datetime, node: str | None) -> Segment:
    return Segment(
        None, camera, "20260101T000000Z-run", seq, f"{camera}/{node}/{seq:06d}.mp4",
        end - timedelta(seconds=10), end, 10.0, 1000, f"{seq:064x}", "h264", 320, 240, end,
        node=node, fencing_token=1 if node else None,
    )  # fmt: skip


def test_offload_lag_per_node_and_the_latest_refused_segments(pg: Container) -> None:
    w = shared(pg)
    with pg.engine.connect() as conn:  # ages are PostgreSQL's (the test's clock may be moved)
        now = conn.execute(text("SELECT now()")).scalar_one()
    with pg.uow() as uow:
        done = uow.segments.add(_segment(w.cameras[0], 1, now - timedelta(hours=2), "node-a"))
        uow.segments.add(_segment(w.cameras[0], 2, now - timedelta(minutes=30), "node-a"))
        uow.segments.add(_segment(w.cameras[1], 3, now - timedelta(minutes=20), "node-a"))
        uow.segments.add(_segment(w.cameras[3], 4, now - timedelta(minutes=5), "node-b"))
        uow.segments.add(_segment(w.cameras[4], 5, now - timedelta(minutes=50), None))
        assert done.id is not None
        uow.segment_objects.add(SegmentObject(done.id, "k1", done.sha256, 1000, None, now))
        for n in range(3):
            uow.leases.add_refused(
                {"camera_id": w.cameras[3], "node": "node-b", "fencing_token": 1,
                 "current_token": 2, "path": f"p{n}.mp4", "kept_at": f"refused/p{n}.mp4",
                 "start_at": now - timedelta(minutes=3 + n), "end_at": now - timedelta(minutes=2 + n),
                 "bytes": 10, "sha256": "0" * 64, "refused_at": now - timedelta(seconds=60 - n),
                 "why": "stale token"}
            )  # fmt: skip
        uow.commit()

    st = _service(pg).status(SYSTEM, refused_shown=2)
    assert st.offload is not None
    lags = {lag.node: lag for lag in st.offload}
    assert set(lags) == {None, "node-a", "node-b"}
    assert lags["node-a"].pending == 2 and lags["node-b"].pending == 1 and lags[None].pending == 1
    assert lags["node-a"].oldest_end_at == now - timedelta(minutes=30)  # the offloaded one not
    assert lags["node-a"].oldest_age_s == pytest.approx(1800, abs=10)
    assert lags["node-b"].oldest_age_s == pytest.approx(300, abs=10)
    assert st.refused_count == 3
    assert [r["path"] for r in st.refused] == ["p2.mp4", "p1.mp4"]  # newest first
    assert "sha256" not in st.refused[0]
    assert pg.cluster_status.status(SYSTEM).offload is None  # no object store configured


def test_the_timed_duties_are_listed_with_their_holder(pg: Container) -> None:
    shared(pg)
    pg.duty_leases.renew()
    st = _service(pg).status(SYSTEM)
    assert not st.duties_local
    assert {d.duty for d in st.duties} == {str(d) for d in Duty}
    assert all(d.holder == pg.duty_leases.holder and d.live for d in st.duties)
    assert all(0 < d.expires_in_s <= 15 and d.token >= 1 for d in st.duties)
    pg.duty_leases.stop(release=True)
    st = _service(pg).status(SYSTEM)
    assert all(d.holder is None and not d.live for d in st.duties)


def test_a_postgresql_no_node_joined_is_one_machine(pg: Container) -> None:
    register_cameras(pg, 2)
    st = pg.cluster_status.status(SYSTEM)
    assert (st.clustered, st.single_machine) == (False, SingleMachine.NO_NODES)
    assert st.cameras_in_service == 2 and st.unrecorded == [] and st.healthy


def test_sqlite_is_one_machine_with_its_offload_lag(lite: Container) -> None:
    ids = register_cameras(lite, 2)
    now = datetime.now(UTC)
    with lite.uow() as uow:
        uow.segments.add(_segment(ids[0], 1, now - timedelta(minutes=10), None))
        uow.commit()
    st = _service(lite).status(SYSTEM)
    assert (st.clustered, st.single_machine) == (False, SingleMachine.SQLITE)
    assert st.nodes == [] and st.unrecorded == [] and st.healthy and st.duties_local
    assert st.duties == [] and st.cameras_in_service == 2 and st.refused_count == 0
    assert st.offload is not None and [(x.node, x.pending) for x in st.offload] == [(None, 1)]
    assert st.offload[0].oldest_age_s == pytest.approx(600, abs=10)
    assert st.as_dict()["single_machine"] == "sqlite"


def test_reading_the_status_needs_cluster_read(lite: Container) -> None:
    for role in (Role.OPERATOR, Role.UNIT_MANAGER, Role.OFFICER, Role.APPROVER):
        with pytest.raises(PermissionDenied):
            lite.cluster_status.status(Principal(1, "x", role, 1))
    for role in (Role.ADMIN, Role.SUPERVISOR, Role.AUDITOR):
        assert lite.cluster_status.status(Principal(1, "x", role, None)).healthy
