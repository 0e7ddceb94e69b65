"""Migration 0020 (GB/T 28181 cascade: upper platforms and share lists) matches the SQLAlchemy
tables, goes down and up again, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import Engine, make_url

from custos.adapters.db import cascade_tables  # noqa: F401 - registers its tables
from custos.adapters.db.migrate import alembic_config, upgrade
from custos.adapters.db.tables import metadata
from tests.integration.migration_support import database_at

OURS = {"gb_upper_platforms", "gb_shares"}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url_at_0020(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_at(request.param, "0020", tmp_path) as url:
        yield url


def _engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(parsed)


def test_0020_creates_the_cascade_tables_as_declared_and_goes_down_and_up(url_at_0020: str) -> None:
    engine = _engine(url_at_0020)
    try:
        assert set(inspect(engine).get_table_names()) >= OURS
        with engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), metadata)
        assert [d for d in diffs if any(f"'{t}'" in repr(d) for t in OURS)] == []
        command.downgrade(alembic_config(url_at_0020), "0019")
        assert not OURS & set(inspect(engine).get_table_names())
        upgrade(url_at_0020, "0020")
        assert set(inspect(engine).get_table_names()) >= OURS
    finally:
        engine.dispose()
