"""Migration 0028 (the wall's saved layouts) holds what the repository relies on, in the database
itself, on SQLite and PostgreSQL: a layout is a user's or a room's (never both, never neither), and
a user or a room has one layout at most. (The table's shape and its way down and up again are in
test_migrations_new_tables.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError

from tests.integration.migration_support import database_at

AT = "2026-12-07 16:00:00+00:00"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine_at_0028(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with database_at(request.param, "0028", tmp_path) as url:
        parsed = make_url(url)
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        engine = create_engine(parsed)
        try:
            yield engine
        finally:
            engine.dispose()


def _insert(engine: Engine, owner: int | None, room: int | None) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO wall_layouts (owner_id, room_id, grid, tiles, updated_at, updated_by)"
                " VALUES (:owner, :room, '4', '[]', :at, 'x')"
            ),
            {"owner": owner, "room": room, "at": AT},
        )


def test_0028_a_layout_has_one_holder_and_a_holder_one_layout(engine_at_0028: Engine) -> None:
    e = engine_at_0028
    with e.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (id, username, password_hash, role, active, failed_logins) "
                "VALUES (1, 'op', 'h', 'operator', :yes, 0)"
            ),
            {"yes": True},
        )
    _insert(e, 1, None)
    for owner, room in ((None, None), (1, None)):  # neither holder; the user's second layout
        with pytest.raises(IntegrityError):
            _insert(e, owner, room)
    with e.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM wall_layouts")).scalar() == 1
