"""Shared by the migration tests: a fresh database, SQLite or PostgreSQL, migrated only as far as
a given revision, so a test can write rows as an older Custos did and then run the upgrade."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from custos.adapters.db.migrate import upgrade
from tests.conftest import PG_ADMIN_URL


@contextmanager
def database_at(backend: str, revision: str, tmp_path: Path) -> Iterator[str]:
    """The URL of a new database at `revision`; a PostgreSQL one is dropped afterwards."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / f'at{revision}.db'}"
        upgrade(url, revision)
        yield url
        return
    admin = create_engine(make_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")
    name = f"custos_at{revision}_{secrets.token_hex(4)}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    upgrade(url, revision)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
