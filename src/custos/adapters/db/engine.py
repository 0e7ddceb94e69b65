"""Engines for the embedded default (SQLite in WAL mode) and for PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url

#: libpq's own time-outs (docs/design/cluster.md, "Network failures"): a connection that cannot
#: be made in 10 s fails, and one whose peer stops answering (a network that drops packets)
#: fails within ~15 s — at the first unanswered write, or by keepalive when idle — instead of
#: hanging for the kernel's two hours. The server probes its idle clients the same way.
PG_CONNECT_ARGS: dict[str, Any] = {
    "connect_timeout": 10,
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "tcp_user_timeout": 15000,
}
PG_SERVER_OPTIONS = (
    "-c tcp_keepalives_idle=5 -c tcp_keepalives_interval=2 -c tcp_keepalives_count=3"
)


def make_engine(url: str, idle_transaction_s: int | None = None) -> Engine:
    """``idle_transaction_s`` (PostgreSQL): the server ends a session idle inside a
    transaction that long, freeing its row locks (a recorder node: a lease row locked by a
    seal must not outlive a partition)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    options = PG_SERVER_OPTIONS
    if idle_transaction_s is not None:
        options += f" -c idle_in_transaction_session_timeout={int(idle_transaction_s) * 1000}"
    return create_engine(
        url, pool_pre_ping=True, connect_args={**PG_CONNECT_ARGS, "options": options}
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy issue BEGIN itself (see _sqlite_begin_immediate).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")  # a committed row survives power loss
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin_immediate(conn: Any) -> None:
    # Writers serialise at BEGIN instead of failing at their first write.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


class EngineProbe:
    """The :class:`custos.services.ports.DatabaseProbe` port: one ``SELECT 1``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def ping(self) -> None:
        with self._engine.connect() as conn:
            conn.execute(text("SELECT 1"))
