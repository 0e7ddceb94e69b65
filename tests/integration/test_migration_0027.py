"""Migration 0027 (the offload's backlog) matches the SQLAlchemy tables, marks offloaded the
segments that already had an object, indexes only the others, and goes down and up again, on
SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, create_engine, inspect, text
from sqlalchemy.engine import Engine, make_url

from custos.adapters.db.migrate import alembic_config, upgrade
from custos.adapters.db.tables import metadata
from tests.integration.migration_support import database_at

INDEX = "ix_segments_offload_pending"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url_at_0026(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_at(request.param, "0026", tmp_path) as url:
        yield url


def _engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(parsed)


def _one_row(conn: Connection, table: str, **given: object) -> None:
    """A row with a plain value in every required column the test does not care about."""
    values: dict[str, object] = dict(given)
    for col in inspect(conn).get_columns(table):
        if col["name"] in values or col["nullable"] or col.get("default") is not None:
            continue
        kind = str(col["type"]).upper()
        values[col["name"]] = (
            1 if "INT" in kind else False if "BOOL" in kind
            else "2026-11-20" if kind == "DATE" else "[]" if "JSON" in kind
            else "2026-11-20 02:00:00+00:00" if "TIME" in kind else "x"
        )  # fmt: skip
    names = ", ".join(values)  # the table's own column names, from the inspector
    marks = ", ".join(f":{n}" for n in values)
    conn.execute(text(f"INSERT INTO {table} ({names}) VALUES ({marks})"), values)  # noqa: S608


def _rows_before(engine: Engine) -> None:
    """A camera and three segments as 0026 wrote them: one offloaded, one not, one missing."""
    at = "2026-11-20 02:00:00+00:00"
    with engine.begin() as conn:
        _one_row(conn, "units", id=1)
        _one_row(conn, "sites", id=1, unit_id=1)
        _one_row(conn, "cameras", id=1, site_id=1)
        for i, missing in ((1, False), (2, False), (3, True)):
            conn.execute(
                text(
                    "INSERT INTO segments (id, camera_id, run_id, sequence, path, start_at, "
                    "end_at, duration_s, bytes, sha256, codec, sealed_at, adopted, missing) "
                    "VALUES (:i, 1, 'r', :i, :path, :at, :at, 60, 1, 'h', 'h264', :at, :no, "
                    ":missing)"
                ),
                {"i": i, "path": f"p{i}", "at": at, "no": False, "missing": missing},
            )
        conn.execute(
            text(
                "INSERT INTO segment_objects (segment_id, key, sha256, bytes, uploaded_at) "
                "VALUES (1, 'k1', 'h', 1, :at)"
            ),
            {"at": at},
        )


def test_0027_marks_what_was_offloaded_indexes_the_backlog_and_goes_down_and_up(
    url_at_0026: str,
) -> None:
    engine = _engine(url_at_0026)
    try:
        _rows_before(engine)
        upgrade(url_at_0026, "0027")
        with engine.connect() as conn:
            flags = conn.execute(text("SELECT id, offloaded FROM segments ORDER BY id")).all()
            diffs = compare_metadata(MigrationContext.configure(conn), metadata)
        assert [(i, bool(f)) for i, f in flags] == [(1, True), (2, False), (3, False)]
        assert [d for d in diffs if "offloaded" in repr(d) or INDEX in repr(d)] == []
        assert INDEX in {i["name"] for i in inspect(engine).get_indexes("segments")}
        command.downgrade(alembic_config(url_at_0026), "0026")
        found = inspect(engine)
        assert "offloaded" not in {c["name"] for c in found.get_columns("segments")}
        assert INDEX not in {i["name"] for i in found.get_indexes("segments")}
        upgrade(url_at_0026, "0027")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM segments WHERE offloaded")).scalar() == 1
    finally:
        engine.dispose()
