"""Witnessed checkpoints: the line format, and the check that the log extends each of them."""

from __future__ import annotations

from dataclasses import replace

import pytest

from custos.domain.audit_chain import canonical_entry
from custos.domain.audit_witness import (
    MalformedWitnessError,
    WitnessCheck,
    Witnessed,
    WitnessReport,
    parse_witness_line,
    screened,
    witness_line,
)
from tests.unit.audit.fakes import STRANGER, TRUSTED, MemoryLog, event


def witnessed_of(log: MemoryLog) -> list[Witnessed]:
    return [Witnessed(cp, f"file line {i}") for i, cp in enumerate(log.checkpoints, 1)]


def check(log: MemoryLog, witnessed: list[Witnessed], batch: int = 7) -> WitnessReport:
    w = WitnessCheck(witnessed)
    for b in log.batches(batch):
        if not w.feed(b):
            break
    return w.finish()


def test_a_witness_line_reads_back_as_the_checkpoint_it_was_written_from() -> None:
    log = MemoryLog.of(12, every=5)
    for cp in log.checkpoints:
        line = witness_line(cp)
        assert line.endswith(b"\n") and line.count(b"\n") == 1
        assert parse_witness_line(line) == cp


@pytest.mark.parametrize(
    ("line", "says"),
    [
        (b'{"type":"checkpoint"', "not JSON"),
        (b"[1,2]", "not a JSON object"),
        (b'{"type":"entry","log":"custos-audit/1"}', "not a checkpoint"),
        (b"x" * 5000, "longer than 4096"),
    ],
)
def test_a_line_that_is_not_a_checkpoint_is_refused_saying_why(line: bytes, says: str) -> None:
    with pytest.raises(MalformedWitnessError, match=says):
        parse_witness_line(line)


def test_bad_members_are_refused() -> None:
    cp = MemoryLog.of(3, every=3).checkpoints[0]
    good = witness_line(cp).decode()
    for old, new in [
        ('"tree_size":3', '"tree_size":0'),
        ('"tree_size":3', '"tree_size":"3"'),
        ('"tree_size":3', f'"tree_size":{1 << 70}'),
        ('"root":"', '"root":"zz'),
        ('"root":"', '"root":"00'),
        ('"signed_at":"2026', '"signed_at":"yesterday'),
        ('"type":"checkpoint"', '"type":"checkpoint","extra":1'),
    ]:
        assert old in good
        with pytest.raises(MalformedWitnessError):
            parse_witness_line(good.replace(old, new).encode())


def test_an_untouched_log_upholds_every_witnessed_checkpoint() -> None:
    log = MemoryLog.of(45, every=10)
    for batch in (1, 4, 10, 100):
        report = check(log, witnessed_of(log), batch)
        assert report.ok and report.first_contradicted is None
        assert (report.checked, report.upheld) == (4, 4)
        assert report.newest_upheld is not None
        assert report.newest_upheld.checkpoint.tree_size == 40
    assert "the log extends 4 witnessed checkpoints" in report.summary()


def test_a_rolled_back_log_contradicts_the_first_witnessed_checkpoint_beyond_its_end() -> None:
    log = MemoryLog.of(45, every=10)
    witnessed = witnessed_of(log)
    rolled_back = MemoryLog.of(25, every=10)  # what is left after deleting 26..45
    report = check(rolled_back, witnessed)
    assert not report.ok
    bad = report.first_contradicted
    assert bad is not None
    assert bad.witnessed.checkpoint.tree_size == 30
    assert bad.witnessed.source == "file line 3"
    assert "the log ends at entry 25" in bad.reason
    assert report.upheld == 2


def test_a_rewritten_entry_with_recomputed_hashes_contradicts_its_witness() -> None:
    log = MemoryLog.of(45, every=10)
    witnessed = witnessed_of(log)
    log.entries[16] = log.entries[16].replace(b'"user2"', b'"userX"')
    log.recompute_from(16)
    report = check(log, witnessed)
    bad = report.first_contradicted
    assert bad is not None
    assert bad.witnessed.checkpoint.tree_size == 20
    assert "entries in 11..20 were changed" in bad.reason


def test_an_edited_entry_whose_stored_leaf_was_left_alone_still_contradicts() -> None:
    """The leaf is recomputed from the entry's text, not read from the leaf column."""
    log = MemoryLog.of(25, every=10)
    witnessed = witnessed_of(log)
    log.entries[4] = log.entries[4].replace(b'"user2"', b'"userX"')
    bad = check(log, witnessed).first_contradicted
    assert bad is not None and bad.witnessed.checkpoint.tree_size == 10


def test_a_log_replaced_by_another_of_the_same_length_contradicts() -> None:
    log = MemoryLog.of(20, every=10)
    witnessed = witnessed_of(log)
    other = MemoryLog()
    for i in range(1, 21):
        other.append(canonical_entry(i, replace(event(i), actor="someone")))
    bad = check(other, witnessed).first_contradicted
    assert bad is not None and bad.witnessed.checkpoint.tree_size == 10


def test_two_copies_of_one_size_the_one_the_log_lacks_is_named_after_the_last_upheld() -> None:
    """A bureau keeps a conflicting copy beside the one it accepted: one of the two is upheld,
    the other contradicted, and the changed range starts after the last upheld size below."""
    log = MemoryLog.of(25, every=10)
    other = MemoryLog()
    for i in range(1, 21):
        entry = event(i) if i <= 10 else replace(event(i), actor="someone")
        other.append(canonical_entry(i, entry))
    other.sign(TRUSTED)
    copies = [Witnessed(other.checkpoints[-1], "bureau record 9"), *witnessed_of(log)]
    report = check(log, copies)
    bad = report.first_contradicted
    assert bad is not None and bad.witnessed.source == "bureau record 9"
    assert "entries in 11..20 were changed or replaced" in bad.reason


def test_a_missing_entry_below_a_witnessed_size_contradicts_it() -> None:
    log = MemoryLog.of(30, every=10)
    witnessed = witnessed_of(log)
    for column in (log.seqs, log.entries, log.leaves, log.chains):
        del column[14]
    bad = check(log, witnessed).first_contradicted
    assert bad is not None and bad.witnessed.checkpoint.tree_size == 20
    assert "entry 15 is missing" in bad.reason


def test_signatures_are_screened_and_duplicates_counted_once() -> None:
    log = MemoryLog.of(20, every=10)
    forged = replace(log.checkpoints[1], signature=STRANGER.sign(log.checkpoints[1].statement()))
    candidates = [
        *witnessed_of(log),
        Witnessed(log.checkpoints[0], "store key a"),  # the same checkpoint, another witness
        Witnessed(forged, "file line 9"),
    ]
    kept, refused = screened(candidates, TRUSTED.check)
    assert [w.source for w in kept] == ["file line 1", "file line 2"]
    assert [r.source for r in refused] == ["file line 9"]
    assert "checkpoint 20: bad signature" in str(refused[0])
    report = WitnessCheck(kept, refused)
    for b in log.batches(5):
        report.feed(b)
    result = report.finish()
    assert result.upheld == 2 and not result.ok  # a refused line fails the run
    assert "WITNESS REFUSED: file line 9" in result.summary()


def test_no_witnessed_checkpoint_is_said_plainly() -> None:
    report = check(MemoryLog.of(5, every=10), [])
    assert report.ok
    assert "no usable witnessed checkpoint" in report.summary()
