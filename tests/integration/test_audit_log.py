"""The operation log on SQLite and PostgreSQL: chained in the caller's transaction, gap-free
under concurrency, checkpointed every N entries or T seconds, append-only on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from custos.bootstrap import Container, bootstrap
from custos.config import Settings
from custos.domain.audit import AuditEvent, Outcome
from custos.domain.clock import ManualClock
from custos.domain.users import SYSTEM
from tests.integration.audit_support import checkpointing_every_10, fill


@pytest.fixture
def log(container: Container, clock: ManualClock) -> Iterator[Container]:
    c = checkpointing_every_10(container, clock)
    yield c
    c.close()


def _sizes(c: Container) -> list[int]:
    return [cp.tree_size for cp in c.audit.checkpoints(SYSTEM, limit=1000)]


def test_entries_read_back_exactly_as_written_and_the_log_verifies(
    log: Container, clock: ManualClock
) -> None:
    event = AuditEvent(
        clock.now(),
        "alice",
        "camera.update",
        "camera",
        "7",
        Outcome.OK,
        before={"name": "东门", "ptz": False, "n": 1.5},
        after={"name": '东门 "north"\n', "ptz": True, "tags": [1, None]},
        detail={"reason": "改名"},
    )
    with log.uow() as uow:
        seq = uow.audit.append(event)
        uow.commit()
    with log.uow() as uow:
        [(found_seq, found)] = uow.audit.find(after_seq=seq - 1, limit=1)
    assert (found_seq, found) == (seq, event)
    report = log.audit.verify(SYSTEM)
    assert report.ok, report.first_bad


def test_an_entry_commits_or_rolls_back_with_its_transaction_and_leaves_no_gap(
    log: Container, clock: ManualClock
) -> None:
    with log.uow() as uow:
        uow.audit.append(AuditEvent(clock.now(), "a", "x.try", "x", None))
        # no commit: the change and its entry both vanish
    fill(log, clock, 2)
    with log.uow() as uow:
        seqs = [s for s, _ in uow.audit.find()]
        assert [e.action for _, e in uow.audit.find()] == ["camera.view", "camera.view"]
    assert seqs == [1, 2]
    assert log.audit.verify(SYSTEM).ok


def test_a_checkpoint_is_signed_at_once_then_every_10_entries(
    log: Container, clock: ManualClock
) -> None:
    fill(log, clock, 35)
    assert _sizes(log) == [1, 11, 21, 31]


def test_one_big_transaction_is_checkpointed_at_every_10th_entry(
    log: Container, clock: ManualClock
) -> None:
    fill(log, clock, 1)
    fill(log, clock, 34, per_transaction=34)
    assert _sizes(log) == [1, 11, 21, 31]
    report = log.audit.verify(SYSTEM)
    assert (report.ok, report.checkpoints, report.unsigned_entries) == (True, 4, 4)


def test_a_quiet_log_is_checkpointed_when_the_time_is_up(
    log: Container, clock: ManualClock
) -> None:
    fill(log, clock, 3)
    assert log.audit.checkpoint_if_due() is None
    clock.advance(timedelta(seconds=61))
    cp = log.audit.checkpoint_if_due()
    assert cp is not None
    assert cp.tree_size == 3
    fill(log, clock, 1)
    clock.advance(timedelta(seconds=61))
    fill(log, clock, 1)  # the append itself notices the time
    assert _sizes(log) == [1, 3, 5]


def test_a_checkpoint_on_demand_covers_the_whole_log(log: Container, clock: ManualClock) -> None:
    fill(log, clock, 4)
    cp = log.audit.checkpoint_now(SYSTEM)
    assert cp is not None
    assert cp.tree_size == 4
    assert log.audit.checkpoint_now(SYSTEM) is None  # nothing new since


def test_concurrent_writers_get_consecutive_seqs_and_one_unbroken_chain(
    log: Container, clock: ManualClock
) -> None:
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            for i in range(15):
                with log.uow() as uow:
                    at = datetime(2026, 11, 20, 2, 0, tzinfo=UTC) + timedelta(seconds=i)
                    uow.audit.append(AuditEvent(at, name, "camera.view", "camera", str(i)))
                    uow.commit()
        except BaseException as exc:  # collected and re-raised by the test below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(f"w{n}",)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with log.uow() as uow:
        seqs = [s for s, _ in uow.audit.find(limit=1000)]
    assert seqs == list(range(1, 91))
    assert _sizes(log) == [1, 11, 21, 31, 41, 51, 61, 71, 81]
    report = log.audit.verify(SYSTEM)
    assert (report.ok, report.checkpoints) == (True, 9), report.first_bad


def test_postgresql_refuses_to_update_delete_or_truncate_the_log(
    pg_url: str, tmp_path: Path, clock: ManualClock
) -> None:
    c = bootstrap(Settings(data_dir=tmp_path / "data", database_url=pg_url), clock=clock)
    try:
        fill(c, clock, 2)
        for sql in (
            "UPDATE audit_events SET entry = replace(entry, 'operator', 'mallory')",
            "DELETE FROM audit_events",
            "TRUNCATE audit_events",
            "UPDATE audit_checkpoints SET key_id = 'x'",
            "DELETE FROM audit_checkpoints",
            "TRUNCATE audit_checkpoints CASCADE",
        ):
            with pytest.raises(DBAPIError, match="append-only"), c.engine.begin() as conn:
                conn.execute(text(sql))
    finally:
        c.close()


def test_verification_is_itself_entered_in_the_log(log: Container, clock: ManualClock) -> None:
    fill(log, clock, 3)
    log.audit.verify(SYSTEM)
    with log.uow() as uow:
        last = uow.audit.find(after_seq=3)
    assert [(e.action, e.detail["sound"], e.detail["entries"]) for _, e in last] == [
        ("audit.verify", True, 3)
    ]
