"""Failed sign-ins per (source address, user name): the table and its repository.

Defined on the shared ``metadata``; migration 0010 creates the table. A row exists only while a
name has failures from an address; success deletes it, and stale rows are deleted as new
failures come in (docs/design/auth.md, "Sign-in throttling").
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Connection, Integer, String, Table, delete, insert, select, update

from custos.adapters.db.tables import UTCDateTime, metadata
from custos.domain.sign_in import SignInAttempts

login_throttle = Table(
    "login_throttle",
    metadata,
    Column("source", String(64), primary_key=True),
    Column("username", String(64), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_failure_at", UTCDateTime(), nullable=False, index=True),
    Column("paused_until", UTCDateTime()),
)


class SignInLedgerRepository:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def get(self, source: str, username: str) -> SignInAttempts | None:
        t = login_throttle.c
        q = select(login_throttle).where(t.source == source, t.username == username[:64])
        r = self._c.execute(q).mappings().first()
        if r is None:
            return None
        return SignInAttempts(
            r["source"], r["username"], r["failures"], r["last_failure_at"], r["paused_until"]
        )

    def put(self, a: SignInAttempts) -> None:
        t = login_throttle.c
        values = {
            "failures": a.failures,
            "last_failure_at": a.last_failure_at,
            "paused_until": a.paused_until,
        }
        key = (t.source == a.source, t.username == a.username[:64])
        if self._c.execute(update(login_throttle).where(*key).values(**values)).rowcount == 0:
            row = {"source": a.source, "username": a.username[:64], **values}
            self._c.execute(insert(login_throttle).values(**row))

    def clear(self, username: str, source: str | None = None) -> None:
        t = login_throttle.c
        q = delete(login_throttle).where(t.username == username[:64])
        if source is not None:
            q = q.where(t.source == source)
        self._c.execute(q)

    def forget_before(self, cutoff: datetime) -> int:
        q = delete(login_throttle).where(login_throttle.c.last_failure_at < cutoff)
        return self._c.execute(q).rowcount
