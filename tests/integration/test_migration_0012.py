"""Migration 0012 (camera faults) matches the SQLAlchemy table, goes down and up again, on SQLite
and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import Engine, make_url

from custos.adapters.db import operations_tables  # noqa: F401 - registers its table
from custos.adapters.db.migrate import alembic_config, upgrade
from custos.adapters.db.tables import metadata
from tests.integration.migration_support import database_at


@pytest.fixture(params=["sqlite", "postgresql"])
def url_at_0012(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_at(request.param, "0012", tmp_path) as url:
        yield url


def _engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(parsed)


def test_0012_creates_camera_faults_as_the_table_says_and_goes_down_and_up(
    url_at_0012: str,
) -> None:
    engine = _engine(url_at_0012)
    try:
        assert "camera_faults" in inspect(engine).get_table_names()
        with engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), metadata)
        assert [d for d in diffs if "camera_faults" in repr(d)] == []
        command.downgrade(alembic_config(url_at_0012), "0011")
        assert "camera_faults" not in inspect(engine).get_table_names()
        upgrade(url_at_0012, "0012")
        assert "camera_faults" in inspect(engine).get_table_names()
    finally:
        engine.dispose()
