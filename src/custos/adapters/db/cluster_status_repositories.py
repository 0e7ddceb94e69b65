"""One read of the cluster's tables for ``custos cluster status`` and the Cluster page
(:class:`~custos.services.cluster_status.ClusterStatusSource`).

On PostgreSQL the read is one REPEATABLE READ, READ ONLY transaction, so the nodes, the leases and
the offload lag are of one instant, and ``now`` is PostgreSQL's (the leases' clock). On SQLite
there are no nodes and no leases (a recorder node needs PostgreSQL); the offload lag of the
one-machine recorder and the refused segments are read all the same."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, func, select, text
from sqlalchemy.engine import Engine

from custos.adapters.db import cluster_tables as ct
from custos.adapters.db import recording_tables as rt
from custos.adapters.db.cluster_repositories import LeaseRepository
from custos.adapters.db.object_repositories import not_offloaded
from custos.services.cluster_status import ClusterRows, OffloadRow

#: What a refused segment's line shows (not its sha256: the operation log keeps it).
_REFUSED = ("id", "camera_id", "node", "fencing_token", "current_token", "path", "kept_at",
            "start_at", "end_at", "bytes", "refused_at", "why")  # fmt: skip


class SqlClusterStatus:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._postgres = engine.dialect.name == "postgresql"

    def read(self, ttl_s: float, refused_limit: int) -> ClusterRows:
        with self._engine.connect() as conn:
            if self._postgres:
                conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
                leases = LeaseRepository(conn)
                now, nodes, held = leases.database_now(), leases.nodes(ttl_s), leases.leases()
            else:
                now, nodes, held = None, [], []
            rows = ClusterRows(
                now=now,
                leases_kept=self._postgres,
                nodes=nodes,
                leases=held,
                offload=_offload(conn),
                refused_count=_count_refused(conn),
                refused=_latest_refused(conn, refused_limit),
            )
            conn.rollback()
        return rows


def _offload(conn: Connection) -> list[OffloadRow]:
    """Per node, the indexed segments (not flagged missing) with no object yet, and the end of
    the oldest: what ``OffloadService.run_once`` still has to upload."""
    s = rt.segments
    q = (
        select(s.c.node, func.count().label("pending"), func.min(s.c.end_at).label("oldest"))
        .where(*not_offloaded())  # the partial index of the backlog (migration 0027)
        .group_by(s.c.node)
    )
    return [OffloadRow(r.node, int(r.pending), r.oldest) for r in conn.execute(q)]


def _count_refused(conn: Connection) -> int:
    count: int = conn.execute(select(func.count()).select_from(ct.refused_segments)).scalar_one()
    return count


def _latest_refused(conn: Connection, limit: int) -> list[dict[str, Any]]:
    if limit <= 0:
        return []
    t = ct.refused_segments
    q = (
        select(*(t.c[name] for name in _REFUSED))
        .order_by(t.c.refused_at.desc(), t.c.id.desc())
        .limit(bindparam("n", limit))
    )
    return [dict(r) for r in conn.execute(q).mappings()]
