"""Shared fixtures: a Custos wired to SQLite or to a real PostgreSQL, with a clock tests move.

PostgreSQL comes from $CUSTOS_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test).
If it cannot be reached the tests that need it fail: they are never skipped.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from custos.adapters.db.migrate import upgrade
from custos.adapters.db.tables import metadata
from custos.bootstrap import Container, bootstrap
from custos.config import Settings
from custos.domain.clock import ManualClock

PG_ADMIN_URL = os.environ.get(
    "CUSTOS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
START = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, a Friday
# scripts/test-at HH:MM runs the suite with the wall clock of pytest and of every Python process
# it starts moved to HH:MM UTC (tests/wallclock/sitecustomize.py) and names the time here; the tests' manual clock then starts at that time of
# day too, so both sides of 16:00 UTC (where the Shanghai date is a day ahead) are exercised.
WALL_CLOCK = os.environ.get("CUSTOS_TEST_WALL_CLOCK")


def _manual_start() -> datetime:
    if not WALL_CLOCK:
        return START
    hour, minute = (int(part) for part in WALL_CLOCK.split(":"))
    return START.replace(hour=hour, minute=minute)


def pytest_sessionstart(session: pytest.Session) -> None:
    """Under scripts/test-at the wall clock must really have moved: never pass unmoved by mistake."""
    if not WALL_CLOCK:
        return
    now = datetime.now(UTC)
    hour, minute = (int(part) for part in WALL_CLOCK.split(":"))
    target = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if not timedelta(0) <= now - target < timedelta(minutes=5):
        pytest.exit(f"CUSTOS_TEST_WALL_CLOCK={WALL_CLOCK} but the clock reads {now}", returncode=3)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, migrated to head, dropped after."""
    admin_url = make_url(PG_ADMIN_URL).set(drivername="postgresql+psycopg")
    name = f"custos_test_{secrets.token_hex(4)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        pytest.fail(f"PostgreSQL is required and unreachable at {PG_ADMIN_URL}: {exc}")
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate(engine: Engine) -> None:
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with engine.begin() as conn:
        # The operation log's tables refuse TRUNCATE by trigger (migration 0002); triggers do
        # not fire for a session in replica mode, and SET LOCAL ends with this transaction.
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated to head once per session; each test gets a copy of the file
    (migrating 20-odd revisions for every test cost a third of a second each)."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("sqlite-template"))
    url = settings.resolved_database_url()
    upgrade(url)
    path = Path(make_url(url).database or "")
    with sqlite3.connect(path) as conn:  # everything in the main file: copied alone
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")
    return path


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(_manual_start())


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def container(
    backend: str, tmp_path: Path, clock: ManualClock, request: pytest.FixtureRequest
) -> Iterator[Container]:
    if backend == "sqlite":
        settings = Settings(data_dir=tmp_path / "data")
        template = request.getfixturevalue("sqlite_template")
        (tmp_path / "data").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, tmp_path / "data" / template.name)
    else:
        url = request.getfixturevalue("pg_url")
        settings = Settings(data_dir=tmp_path / "data", database_url=url)
    c = bootstrap(settings, clock=clock)
    if backend == "postgresql":
        _truncate(c.engine)
    yield c
    c.close()
