"""Each migration that adds tables (0012, 0014-0026 and 0028; 0013 has its own test, for the rows
it marks) creates them exactly as the SQLAlchemy tables declare, and goes down and up again, on
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

from custos.adapters.db import (  # noqa: F401 - each registers its tables with the metadata
    cascade_tables,
    cluster_tables,
    diagnosis_tables,
    duty_tables,
    filing_exchange_tables,
    filing_tables,
    gb_channel_tables,
    gb_tables,
    inspection_tables,
    onvif_tables,
    operations_tables,
    publication_tables,
    staff_tables,
    wall_tables,
    witness_tables,
)
from custos.adapters.db.migrate import alembic_config, upgrade
from custos.adapters.db.tables import metadata
from tests.integration.migration_support import database_at

TABLES_OF = {
    "0012": {"camera_faults"},
    "0014": {"diagnosis_cameras", "diagnosis_references"},
    "0015": {"onvif_proposals", "onvif_links", "onvif_unit_settings"},
    "0016": {
        "monitoring_rooms", "duty_shifts", "duty_rota", "duty_sessions", "duty_log",
        "police_reports", "room_entries",
    },
    "0017": {
        "contractors", "entrustment_agreements", "staff_members", "trainings",
        "inspection_schedules", "inspections", "work_orders", "assessments", "emergency_plans",
        "drills",
    },
    "0018": {"gb_devices"},
    "0019": {"gb_channels", "gb_device_reports"},
    "0020": {"gb_upper_platforms", "gb_shares"},
    "0021": {"unit_settings"},
    "0022": {"publications"},
    "0023": {"filing_profiles", "filing_cases", "filing_receipts"},
    "0024": {"supervision_inspections", "rectification_notices"},
    "0025": {"witness_senders", "witness_checkpoints"},
    "0026": {
        "recorder_nodes", "camera_leases", "camera_lease_terms", "refused_segments",
        "duty_leases",
    },
    "0028": {"wall_layouts"},
}  # fmt: skip


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(parsed)


def _before(revision: str) -> str:
    return f"{int(revision) - 1:04d}"


@pytest.fixture
def url_at(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_at(backend, request.param, tmp_path) as url:
        yield url


@pytest.mark.parametrize("url_at", sorted(TABLES_OF), indirect=True)
def test_the_migration_creates_its_tables_as_declared_and_goes_down_and_up(url_at: str) -> None:
    engine = _engine(url_at)
    with engine.connect() as conn:
        revision = str(MigrationContext.configure(conn).get_current_revision())
    ours = TABLES_OF[revision]
    try:
        assert set(inspect(engine).get_table_names()) >= ours
        with engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), metadata)
        assert [d for d in diffs if any(f"'{t}'" in repr(d) for t in ours)] == []
        command.downgrade(alembic_config(url_at), _before(revision))
        assert not ours & set(inspect(engine).get_table_names())
        upgrade(url_at, revision)
        assert set(inspect(engine).get_table_names()) >= ours
    finally:
        engine.dispose()
