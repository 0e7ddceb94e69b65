"""Tampering with the stored log behind the application's back, on SQLite and PostgreSQL
(triggers out of the way): every kind is detected and the first bad entry is named."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, text

from custos.adapters.db.audit_log import AuditRepository
from custos.adapters.signing import Ed25519Signer
from custos.bootstrap import Container
from custos.domain.audit_chain import checkpoint_statement
from custos.domain.audit_verify import Problem, VerificationReport
from custos.domain.clock import ManualClock
from custos.domain.users import SYSTEM
from tests.integration.audit_support import (
    around_the_application,
    checkpointing_every_10,
    fill,
    recompute_hashes_from,
)


@pytest.fixture
def log(container: Container, clock: ManualClock) -> Iterator[Container]:
    """45 entries, checkpoints at 1, 11, 21, 31 and 41."""
    c = checkpointing_every_10(container, clock)
    fill(c, clock, 45, per_transaction=4)
    assert c.audit.verify(SYSTEM).ok  # entry 46 records this run
    yield c
    c.close()


def edit(conn: Connection, seq: int, old: str, new: str) -> None:
    """Change one entry's stored text in place, as a hand with write access would."""
    conn.execute(
        text("UPDATE audit_events SET entry = replace(entry, :old, :new) WHERE seq = :seq"),
        {"old": old, "new": new, "seq": seq},
    )


def first_bad(c: Container) -> tuple[int, Problem]:
    report: VerificationReport = c.audit.verify(SYSTEM)
    assert not report.ok
    assert report.first_bad is not None
    return report.first_bad.seq, report.first_bad.problem


def test_an_edited_entry_is_named(log: Container) -> None:
    with around_the_application(log) as conn:
        edit(conn, 17, '"actor":"operator2"', '"actor":"nobody"')
    assert first_bad(log) == (17, Problem.EDITED)


def test_an_edited_detail_is_named(log: Container) -> None:
    with around_the_application(log) as conn:
        edit(conn, 23, '"purpose":"巡查 patrol"', '"purpose":"nothing to see"')
    assert first_bad(log) == (23, Problem.EDITED)


def test_an_edited_time_is_named(log: Container) -> None:
    with around_the_application(log) as conn:
        edit(conn, 9, '"at":"2026-11-20T', '"at":"2026-11-19T')
    assert first_bad(log) == (9, Problem.EDITED)


def test_an_entry_replaced_by_something_that_is_not_json_is_named(log: Container) -> None:
    with around_the_application(log) as conn:
        conn.execute(text("UPDATE audit_events SET entry = '' WHERE seq = 40"))
    assert first_bad(log) == (40, Problem.EDITED)


def test_a_deleted_entry_is_named_and_the_log_still_takes_entries(
    log: Container, clock: ManualClock
) -> None:
    with around_the_application(log) as conn:
        conn.execute(text("DELETE FROM audit_events WHERE seq = 30"))
    assert first_bad(log) == (30, Problem.MISSING)
    fill(log, clock, 12)  # a checkpoint falls due, and cannot be signed over a hole
    assert first_bad(log) == (30, Problem.MISSING)
    with log.uow() as uow:
        assert uow.audit.size() == 60


def test_two_reordered_entries_are_caught_at_the_first(log: Container) -> None:
    with around_the_application(log) as conn:
        conn.execute(text("UPDATE audit_events SET seq = -12 WHERE seq = 12"))
        conn.execute(text("UPDATE audit_events SET seq = 12 WHERE seq = 15"))
        conn.execute(text("UPDATE audit_events SET seq = 15 WHERE seq = -12"))
    report = log.audit.verify(SYSTEM)
    assert report.first_bad is not None
    assert (report.first_bad.seq, report.first_bad.problem) == (12, Problem.MISSING)
    assert "holds entry 15" in report.first_bad.detail


def test_an_entry_deleted_and_the_rest_renumbered_is_named(log: Container) -> None:
    with around_the_application(log) as conn:
        conn.execute(text("DELETE FROM audit_events WHERE seq = 30"))
        conn.execute(text("UPDATE audit_events SET seq = seq - 1 WHERE seq > 30"))
    assert first_bad(log) == (30, Problem.MISSING)


def test_a_truncated_tail_is_caught(log: Container) -> None:
    with around_the_application(log) as conn:
        conn.execute(text("DELETE FROM audit_events WHERE seq > 33"))
    assert first_bad(log) == (34, Problem.TRUNCATED)


def test_a_rewrite_with_recomputed_hashes_is_caught_by_the_signed_checkpoint(
    log: Container,
) -> None:
    with around_the_application(log) as conn:
        edit(conn, 26, '"object_id":"26"', '"object_id":"999"')
        recompute_hashes_from(conn, 26)
    report = log.audit.verify(SYSTEM)
    assert report.first_bad is not None
    assert (report.first_bad.seq, report.first_bad.problem) == (22, Problem.NOT_AS_SIGNED)
    assert "entries 22..31" in report.first_bad.detail


def test_a_log_re_signed_with_another_key_is_caught(log: Container) -> None:
    mallory = Ed25519Signer.generate()
    with around_the_application(log) as conn:
        edit(conn, 36, '"actor":"operator0"', '"actor":"nobody"')
        recompute_hashes_from(conn, 36)
        for cp in AuditRepository(conn).checkpoints():
            # Checkpoints 41 and later no longer match; mallory re-signs them all anyway.
            statement = checkpoint_statement(
                cp.tree_size, cp.root, cp.chain, cp.signed_at, mallory.key_id
            )
            conn.execute(
                text(
                    "UPDATE audit_checkpoints SET key_id = :k, signature = :s WHERE tree_size = :n"
                ),
                {"k": mallory.key_id, "s": mallory.sign(statement), "n": cp.tree_size},
            )
    report = log.audit.verify(SYSTEM)
    assert report.first_bad is not None
    assert (report.first_bad.seq, report.first_bad.problem) == (1, Problem.BAD_SIGNATURE)
    assert mallory.key_id in report.first_bad.detail


def test_a_forged_signature_on_one_checkpoint_is_named(log: Container) -> None:
    with around_the_application(log) as conn:
        conn.execute(
            text("UPDATE audit_checkpoints SET signature = :s WHERE tree_size = 31"),
            {"s": bytes(64)},
        )
    assert first_bad(log) == (22, Problem.BAD_SIGNATURE)
