"""Migration 0013 (alarm delivery) matches the SQLAlchemy tables, marks the alarms raised before
it as routed (they are not sent on the first start), and goes down and up again, on SQLite and
PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine, make_url

from custos.adapters.db import delivery_tables  # noqa: F401 - registers its tables
from custos.adapters.db.migrate import alembic_config, upgrade
from custos.adapters.db.tables import metadata
from tests.integration.migration_support import database_at

OURS = {"notify_channels", "rota_entries", "alarm_deliveries"}
ALARM_COLUMNS = {"escalation_level", "escalated_at", "routed_at"}


@pytest.fixture(params=["sqlite", "postgresql"])
def url_at_0012(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_at(request.param, "0012", tmp_path) as url:
        yield url


def _engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(parsed)


def _ours(diff: object) -> bool:
    return any(name in repr(diff) for name in OURS | ALARM_COLUMNS)


def test_0013_creates_the_delivery_tables_as_declared_and_goes_down_and_up(
    url_at_0012: str,
) -> None:
    engine = _engine(url_at_0012)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO alarms (kind, severity, subject, message, raised_at, detail) "
                    "VALUES ('storage_full', 'critical', 'volume:/d', 'full', "
                    "'2026-11-20 02:00:00+00:00', '{}')"
                )
            )
        upgrade(url_at_0012, "0013")
        found = inspect(engine)
        assert set(found.get_table_names()) >= OURS
        assert {c["name"] for c in found.get_columns("alarms")} >= ALARM_COLUMNS
        with engine.connect() as conn:
            level, routed, raised = conn.execute(
                text("SELECT escalation_level, routed_at, raised_at FROM alarms")
            ).one()
            assert level == 0 and routed is not None and str(routed)[:19] == str(raised)[:19]
            diffs = compare_metadata(MigrationContext.configure(conn), metadata)
        assert [d for d in diffs if _ours(d)] == []
        command.downgrade(alembic_config(url_at_0012), "0012")
        found = inspect(engine)
        assert not OURS & set(found.get_table_names())
        assert not ALARM_COLUMNS & {c["name"] for c in found.get_columns("alarms")}
        upgrade(url_at_0012, "0013")
        assert set(inspect(engine).get_table_names()) >= OURS
    finally:
        engine.dispose()
