"""The offload's backlog read through ``segments.offloaded`` and its partial index (migration
0027, docs/design/cluster.md "Reading less at 10,000 cameras"): the candidates and the offload lag
are what the anti-join of ``segments`` with ``segment_objects`` gave, the flag follows every
write of ``segment_objects``, and PostgreSQL can answer both from the partial index."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, event, select, text

from custos.adapters.db import object_tables as ot
from custos.adapters.db import recording_tables as rt
from custos.adapters.db.cluster_status_repositories import _offload
from custos.bootstrap import Container
from custos.domain.calendar import shanghai_date
from custos.domain.recording import Segment
from custos.entrypoints.demo.cameras import register_demo_cameras
from custos.services.offload import SegmentObject

NODES = (None, "node-a", "node-b")


def _segment(camera: int, seq: int, end: datetime, node: str | None) -> Segment:
    return Segment(
        None, camera, "20260101T000000Z-run", seq, f"{camera}/{node}/{seq:06d}.mp4",
        end - timedelta(seconds=60), end, 60.0, 1000, f"{seq:064x}", "h264", 320, 240, end,
        node=node, fencing_token=1 if node else None,
    )  # fmt: skip


def _backlog(c: Container) -> list[int]:
    """Segments of three nodes over four hours; some offloaded, one offloaded then its object
    removed, two flagged missing. Returns the ids."""
    cams = register_demo_cameras(
        c.registry, [f"rtsp://127.0.0.1:9/cam{i}" for i in range(3)], shanghai_date(c.clock.now())
    )
    start = c.clock.now() - timedelta(hours=4)
    ids: list[int] = []
    with c.uow() as uow:
        for seq in range(24):
            node = NODES[seq % 3]
            s = uow.segments.add(_segment(cams[seq % 3], seq, start + timedelta(minutes=10 * seq), node))  # fmt: skip
            assert s.id is not None
            ids.append(s.id)
        for n, sid in enumerate(ids):
            if n % 4 == 0 or n in (5, 7):
                uow.segment_objects.add(SegmentObject(sid, f"k{sid}", "h", 1000, None, start))
        uow.segment_objects.remove(ids[5])  # offloaded, then its object gone: pending again
        uow.segments.mark_missing(ids[9])
        uow.segments.mark_missing(ids[8])  # offloaded and missing: in neither
        uow.commit()
    return ids


def _oracle(conn: Connection) -> list[Any]:
    """The query before 0027: the anti-join of every segment with ``segment_objects``."""
    s, o = rt.segments, ot.segment_objects
    q = (
        select(s.c.id, s.c.node, s.c.end_at)
        .select_from(s.outerjoin(o, o.c.segment_id == s.c.id))
        .where(o.c.segment_id.is_(None), s.c.missing.is_(False))
        .order_by(s.c.id)
    )
    return list(conn.execute(q).all())


def test_candidates_and_lag_are_the_anti_joins_and_the_flag_follows_the_objects(
    container: Container,
) -> None:
    ids = _backlog(container)
    with container.engine.connect() as conn:
        before = _oracle(conn)
        flags = dict(conn.execute(text("SELECT id, offloaded FROM segments")).all())
        objects = set(conn.execute(text("SELECT segment_id FROM segment_objects")).scalars())
        lag = sorted(_offload(conn), key=lambda r: str(r.node))
    assert {i for i, f in flags.items() if f} == objects  # the flag is the object's row
    assert ids[5] in {r.id for r in before} and ids[8] not in {r.id for r in before}
    expected = []
    for node in sorted(NODES, key=str):
        mine = [r for r in before if r.node == node]
        expected.append((node, len(mine), min(r.end_at for r in mine)))
    assert [(r.node, r.pending, r.oldest_end_at) for r in lag] == expected
    with container.uow() as uow:
        for node in NODES:
            mine = [r.id for r in before if r.node == node]
            assert [s.id for s in uow.segment_objects.pending(100, node=node)] == mine
            assert [s.id for s in uow.segment_objects.pending(2, node=node)] == mine[:2]
            skip = {mine[0]}
            got = uow.segment_objects.pending(100, exclude=skip, node=node)
            assert [s.id for s in got] == mine[1:]


def test_postgresql_can_read_the_backlog_from_the_partial_index(container: Container) -> None:
    if container.engine.dialect.name != "postgresql":
        return  # SQLite: the one-machine index is small; the plan is PostgreSQL's concern
    _backlog(container)
    sent: list[tuple[str, Any]] = []

    def capture(_c: Any, _cur: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "FROM segments" in statement and statement.lstrip().startswith("SELECT"):
            sent.append((statement, parameters))

    event.listen(container.engine, "before_cursor_execute", capture)
    try:  # the statements the repositories send, as they send them
        with container.uow() as uow:
            uow.segment_objects.pending(5, exclude={1}, node="node-a")
            uow.segment_objects.pending(5, node=None)
        with container.engine.connect() as conn:
            _offload(conn)
    finally:
        event.remove(container.engine, "before_cursor_execute", capture)
    assert len(sent) == 3
    with container.engine.begin() as conn:
        conn.execute(text("ANALYZE segments"))
        conn.execute(text("SET LOCAL enable_seqscan = off"))  # a tiny table is read whole
        plans = [
            " ".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN {stmt}", params))
            for stmt, params in sent
        ]
    assert all("ix_segments_offload_pending" in p for p in plans), plans
