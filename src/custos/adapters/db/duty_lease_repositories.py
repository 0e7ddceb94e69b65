"""The leases of the housekeeper's timed duties in PostgreSQL (``duty_leases``, migration 0026;
docs/design/cluster.md, "Timed duties"): the :class:`~custos.services.duty_leases.DutyLeaseStore`
port. Every time in a lease is PostgreSQL's ``now()``: one clock for every server."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Engine

from custos.adapters.db.cluster_tables import duty_leases as t
from custos.domain.duty_leases import DutyHolder, HeldDuty


class SqlDutyLeases:
    """Each call is one short transaction of its own (no lock is held between calls)."""

    def __init__(self, engine: Engine) -> None:
        if engine.dialect.name != "postgresql":
            raise ValueError("duty leases live in PostgreSQL; one SQLite machine holds them all")
        self._engine = engine
        self._rows_made: set[str] = set()

    def claim(self, duties: Sequence[str], holder: str, ttl_s: float) -> list[HeldDuty]:
        """Renew the leases ``holder`` holds among ``duties`` and take those free or expired, in
        one statement; return what it holds now (a duty missing from the answer is another's).

        A row another server is renewing at the same moment is waited for (a few milliseconds)
        and then judged on its new state, so two servers never both get it. Renewing a live
        lease keeps its token; every other grant (a new holder, or this one after its own lease
        had expired) takes the token one higher."""
        names = list(duties)
        with self._engine.begin() as conn:
            missing = [d for d in names if d not in self._rows_made]
            if missing:
                rows = [
                    {"duty": d, "holder": None, "expires_at": func.now(), "token": 0}
                    for d in missing
                ]
                conn.execute(insert(t).values(rows).on_conflict_do_nothing(index_elements=["duty"]))
            mine = and_(t.c.holder == holder, t.c.expires_at > func.now())
            free = or_(t.c.holder.is_(None), t.c.expires_at <= func.now())
            stmt = (
                update(t)
                .where(t.c.duty.in_(names), or_(mine, free))
                .values(
                    holder=holder,
                    expires_at=func.now() + timedelta(seconds=ttl_s),
                    token=case((mine, t.c.token), else_=t.c.token + 1),
                    granted_at=case((mine, t.c.granted_at), else_=func.now()),
                )
                .returning(t.c.duty, t.c.token, t.c.expires_at)
            )
            held = [HeldDuty(r.duty, int(r.token), r.expires_at) for r in conn.execute(stmt)]
        self._rows_made.update(missing)
        return sorted(held, key=lambda h: h.duty)

    def release(self, duties: Sequence[str], holder: str) -> None:
        """Hand back what ``holder`` holds among ``duties``: free at once for the next claim."""
        with self._engine.begin() as conn:
            conn.execute(
                update(t)
                .where(t.c.holder == holder, t.c.duty.in_(list(duties)))
                .values(holder=None, expires_at=func.now())
            )

    def holders(self) -> list[DutyHolder]:
        live = (t.c.holder.is_not(None) & (t.c.expires_at > func.now())).label("live")
        q = select(t.c.duty, t.c.holder, t.c.expires_at, t.c.token, t.c.granted_at, live)
        with self._engine.connect() as conn:
            rows = conn.execute(q.order_by(t.c.duty)).all()
        return [
            DutyHolder(r.duty, r.holder, r.expires_at, int(r.token), r.granted_at, bool(r.live))
            for r in rows
        ]
