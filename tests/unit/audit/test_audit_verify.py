"""The verifier names the first entry that is not what was signed, whatever was done to it."""

from __future__ import annotations

from typing import Any

import pytest

from custos.domain.audit_chain import canonical_entry
from custos.domain.audit_verify import LogVerifier, Problem, VerificationReport
from tests.unit.audit.fakes import STRANGER, TRUSTED, MemoryLog, event


def verify(log: MemoryLog, batch: int = 7) -> VerificationReport:
    v = LogVerifier(log.checkpoints, TRUSTED.check)
    for b in log.batches(batch):
        if not v.feed(b):
            break
    return v.finish()


@pytest.mark.parametrize("batch", [1, 3, 10, 1000])
def test_an_untouched_log_verifies_whatever_the_batch_size(batch: int) -> None:
    log = MemoryLog.of(45, every=10)
    report = verify(log, batch)
    assert report.ok, report.first_bad
    assert (report.entries, report.checkpoints, report.unsigned_entries) == (45, 4, 5)
    assert report.notes == ["entries 41..45 are chained but not yet covered by a signed checkpoint"]


def test_an_empty_log_verifies() -> None:
    report = verify(MemoryLog())
    assert report.ok
    assert report.entries == 0


def test_an_edited_entry_is_named() -> None:
    log = MemoryLog.of(45, every=10)
    log.entries[22] = log.entries[22].replace(b'"actor":"user2"', b'"actor":"userX"')
    report = verify(log)
    assert report.first_bad is not None
    assert (report.first_bad.seq, report.first_bad.problem) == (23, Problem.EDITED)
    assert report.entries == 22  # the sound prefix


def test_a_deleted_entry_is_named() -> None:
    log = MemoryLog.of(45, every=10)
    for column in (log.seqs, log.entries, log.leaves, log.chains):
        del column[30]
    report = verify(log)
    assert report.first_bad is not None
    assert (report.first_bad.seq, report.first_bad.problem) == (31, Problem.MISSING)
    assert "next one stored is 32" in report.first_bad.detail


def test_two_swapped_entries_are_caught_at_the_first() -> None:
    log = MemoryLog.of(45, every=10)
    columns: list[list[Any]] = [log.seqs, log.entries, log.leaves, log.chains]
    for column in columns:
        column[11], column[14] = column[14], column[11]
    report = verify(log)
    assert report.first_bad is not None
    assert (report.first_bad.seq, report.first_bad.problem) == (12, Problem.MISSING)
    assert "moved" in report.first_bad.detail


def test_a_truncated_tail_under_a_checkpoint_is_caught() -> None:
    log = MemoryLog.of(45, every=10)
    for column in (log.seqs, log.entries, log.leaves, log.chains):
        del column[33:]
    report = verify(log)
    assert report.first_bad is not None
    assert (report.first_bad.seq, report.first_bad.problem) == (34, Problem.TRUNCATED)


def test_a_broken_chain_is_named() -> None:
    log = MemoryLog.of(45, every=10)
    log.chains[4] = bytes(32)
    report = verify(log)
    assert report.first_bad is not None
    assert (report.first_bad.seq, report.first_bad.problem) == (5, Problem.CHAIN_BROKEN)


def test_a_rewrite_with_recomputed_hashes_is_caught_by_the_signed_root() -> None:
    log = MemoryLog.of(45, every=10)
    forged = canonical_entry(27, event(99))
    log.entries[26] = forged
    log.recompute_from(26)
    report = verify(log)
    assert report.first_bad is not None
    assert (report.first_bad.seq, report.first_bad.problem) == (21, Problem.NOT_AS_SIGNED)
    assert "entries 21..30" in report.first_bad.detail


def test_a_log_re_signed_with_another_key_is_caught() -> None:
    log = MemoryLog.of(45, every=10)
    log.entries[36] = canonical_entry(37, event(99))
    log.recompute_from(36)
    log.checkpoints = []
    for size in (10, 20, 30, 40):
        log.sign(STRANGER, size)
    report = verify(log)
    assert report.first_bad is not None
    assert (report.first_bad.seq, report.first_bad.problem) == (1, Problem.BAD_SIGNATURE)
    assert "bbbbbbbbbbbbbbbb" in report.first_bad.detail


def test_a_forged_signature_makes_only_what_it_vouched_for_untrusted() -> None:
    log = MemoryLog.of(45, every=10)
    cp = log.checkpoints[2]
    log.checkpoints[2] = type(cp)(**{**cp.__dict__, "signature": bytes(32)})
    report = verify(log)
    assert report.first_bad is not None
    assert (report.first_bad.seq, report.first_bad.problem) == (21, Problem.BAD_SIGNATURE)


def test_an_earlier_edit_wins_over_a_later_bad_signature() -> None:
    log = MemoryLog.of(45, every=10)
    log.entries[3] = log.entries[3] + b" "
    cp = log.checkpoints[3]
    log.checkpoints[3] = type(cp)(**{**cp.__dict__, "signature": bytes(32)})
    report = verify(log)
    assert report.first_bad is not None
    assert (report.first_bad.seq, report.first_bad.problem) == (4, Problem.EDITED)


def test_the_verifier_stops_reading_once_the_verdict_is_known() -> None:
    log = MemoryLog.of(100, every=10)
    log.entries[5] = b"{}"
    v = LogVerifier(log.checkpoints, TRUSTED.check)
    fed = 0
    for b in log.batches(10):
        fed += 1
        if not v.feed(b):
            break
    assert fed == 1
    assert v.finish().first_bad is not None
