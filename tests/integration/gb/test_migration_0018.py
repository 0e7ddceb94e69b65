"""Migration 0018 (GB/T 28181 devices) matches the SQLAlchemy table, goes down and up again, on
SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import Engine, make_url

from custos.adapters.db import gb_tables  # noqa: F401 - registers its table
from custos.adapters.db.migrate import alembic_config, upgrade
from custos.adapters.db.tables import metadata
from tests.integration.migration_support import database_at

OURS = {"gb_devices"}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url_at_0018(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_at(request.param, "0018", tmp_path) as url:
        yield url


def _engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(parsed)


def test_0018_creates_gb_devices_as_declared_and_goes_down_and_up(url_at_0018: str) -> None:
    engine = _engine(url_at_0018)
    try:
        assert set(inspect(engine).get_table_names()) >= OURS
        with engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), metadata)
        assert [d for d in diffs if any(f"'{t}'" in repr(d) for t in OURS)] == []
        command.downgrade(alembic_config(url_at_0018), "0017")
        assert not OURS & set(inspect(engine).get_table_names())
        upgrade(url_at_0018, "0018")
        assert set(inspect(engine).get_table_names()) >= OURS
    finally:
        engine.dispose()
