"""Migration 0002 on a log written before it: entries are rewritten canonical, renumbered without
gaps, chained, verify, and keep reading back as they were; downgrade restores the old columns."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from custos.adapters.db.migrate import alembic_config, upgrade
from custos.bootstrap import bootstrap
from custos.config import Settings
from custos.domain.audit import AuditEvent, Outcome
from custos.domain.clock import ManualClock
from custos.domain.users import SYSTEM
from tests.integration.migration_support import database_at

LEGACY = [  # seq, at, actor, action, object_id, outcome, before, after, detail (as 0001 wrote)
    (1, "user.create", "7", "ok", None, '{"id": 7, "username": "li"}', "{}"),
    (2, "auth.login", "7", "refused", None, None, '{"reason": "bad password"}'),
    (5, "camera.update", "3", "ok", '{"name": "东门"}', '{"name": "北门"}', '{"n": 1.5}'),
]


@pytest.fixture(params=["sqlite", "postgresql"])
def url_at_0001(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_at(request.param, "0001", tmp_path) as url:
        yield url


def _write_legacy_rows(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        for seq, action, object_id, outcome, before, after, detail in LEGACY:
            conn.execute(
                text(
                    "INSERT INTO audit_events (seq, at, actor, action, object_type, object_id,"
                    " outcome, before, after, detail) VALUES (:seq, :at, 'admin', :action,"
                    " 'thing', :oid, :outcome, :before, :after, :detail)"
                ),
                {
                    "seq": seq,
                    "at": datetime(2026, 11, 1, 8, seq, tzinfo=UTC),
                    "action": action,
                    "oid": object_id,
                    "outcome": outcome,
                    "before": before,
                    "after": after,
                    "detail": detail,
                },
            )
    engine.dispose()


def test_a_legacy_log_is_chained_by_the_upgrade_and_verifies(
    url_at_0001: str, tmp_path: Path
) -> None:
    _write_legacy_rows(url_at_0001)
    upgrade(url_at_0001)
    clock = ManualClock(datetime(2026, 11, 20, tzinfo=UTC))
    c = bootstrap(Settings(data_dir=tmp_path / "data", database_url=url_at_0001), clock=clock)
    try:
        with c.uow() as uow:
            found = uow.audit.find()
        assert [s for s, _ in found] == [1, 2, 3]
        assert found[2][1] == AuditEvent(
            datetime(2026, 11, 1, 8, 5, tzinfo=UTC),
            "admin",
            "camera.update",
            "thing",
            "3",
            Outcome.OK,
            {"name": "东门"},
            {"name": "北门"},
            {"n": 1.5},
        )
        with c.uow() as uow:
            assert uow.audit.append(AuditEvent(clock.now(), "a", "x.y", "x", None)) == 4
            uow.commit()
        report = c.audit.verify(SYSTEM)
        assert (report.ok, report.entries, report.checkpoints) == (True, 4, 1)
    finally:
        c.close()

    command.downgrade(alembic_config(url_at_0001), "0001")
    engine = create_engine(url_at_0001)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT seq, action, outcome FROM audit_events ORDER BY seq"))
        assert [tuple(r) for r in rows] == [
            (1, "user.create", "ok"),
            (2, "auth.login", "refused"),
            (3, "camera.update", "ok"),
            (4, "x.y", "ok"),
            (5, "audit.verify", "ok"),
        ]
    engine.dispose()
