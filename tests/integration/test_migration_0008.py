"""Migration 0008 (conformance facts) matches the SQLAlchemy tables, goes down and up again, and
keeps the sites it finds (their new columns take the defaults)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine, make_url

from custos.adapters.db import conformance_tables  # noqa: F401 - registers its tables
from custos.adapters.db.migrate import alembic_config, upgrade
from custos.adapters.db.tables import metadata
from tests.integration.migration_support import database_at

OURS = {"network_interruptions", "footage_imports"}
SITE_COLUMNS = {"government_invested", "division_name"}


@pytest.fixture(params=["sqlite", "postgresql"])
def url_at_0007(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_at(request.param, "0007", tmp_path) as url:
        yield url


def _engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(parsed)


def _ours(diff: object) -> bool:
    text_ = repr(diff)
    return any(name in text_ for name in OURS | SITE_COLUMNS)


def test_0008_adds_the_facts_keeps_sites_and_matches_the_tables(url_at_0007: str) -> None:
    engine = _engine(url_at_0007)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO units (id, name, credit_code, kind, contacts) "
                    "VALUES (1, 'U', '91610113000000011X', 'enterprise', '[]')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO sites (id, unit_id, name, division_code, address, "
                    "is_public_place, public_place_article, is_public_road_or_square, "
                    "is_classified, categories, site_type) VALUES (1, 1, 'S', '610113', 'a', "
                    "true, 'art9', false, false, '[]', 'fixed')"
                )
            )
        upgrade(url_at_0007, "0008")
        found = inspect(engine)
        assert set(found.get_table_names()) >= OURS
        assert {c["name"] for c in found.get_columns("sites")} >= SITE_COLUMNS
        with engine.connect() as conn:
            row = conn.execute(text("SELECT government_invested, division_name FROM sites")).one()
            assert (bool(row[0]), row[1]) == (False, "")
            diffs = compare_metadata(MigrationContext.configure(conn), metadata)
        assert [d for d in diffs if _ours(d)] == []
        command.downgrade(alembic_config(url_at_0007), "0007")
        found = inspect(engine)
        assert not OURS & set(found.get_table_names())
        assert not SITE_COLUMNS & {c["name"] for c in found.get_columns("sites")}
        upgrade(url_at_0007, "0008")
        assert set(inspect(engine).get_table_names()) >= OURS
    finally:
        engine.dispose()
