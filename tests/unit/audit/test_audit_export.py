"""The export is self-contained, reads back in either layout, and fails closed when damaged."""

from __future__ import annotations

import json

import pytest

from custos.domain.audit_chain import canonical_json
from custos.domain.audit_export import (
    ExportHeader,
    ExportReader,
    MalformedExport,
    checkpoint_line,
    entry_line,
)
from custos.domain.audit_verify import Problem
from custos.services.audit_log import verify_export
from tests.unit.audit.fakes import T0, TRUSTED, MemoryLog


def export_of(log: MemoryLog) -> list[bytes]:
    header = ExportHeader(b"\x07" * 32, TRUSTED.key_id, T0, len(log.entries))
    lines = [header.line(), *(checkpoint_line(cp) for cp in log.checkpoints)]
    lines += [entry_line(*row) for row in zip(log.entries, log.leaves, log.chains, strict=True)]
    return lines


def test_an_export_verifies_offline() -> None:
    report, header = verify_export(export_of(MemoryLog.of(25, every=10)), lambda _: TRUSTED.check)
    assert report.ok, report.first_bad
    assert (report.entries, report.checkpoints) == (25, 2)
    assert header is not None
    assert header.public_key == b"\x07" * 32


def test_entry_lines_in_another_layout_read_back_to_the_same_bytes() -> None:
    log = MemoryLog.of(12, every=5)
    lines = export_of(log)
    relaid = [lines[0], *lines[1:3]]
    for line in lines[3:]:
        d = json.loads(line)
        relaid.append(json.dumps(d, indent=1, ensure_ascii=True).replace("\n", " ").encode())
    fast, slow = ExportReader(lines), ExportReader(relaid)
    assert list(fast.batches(5)) == list(slow.batches(5))
    report, _ = verify_export(relaid, lambda _: TRUSTED.check)
    assert report.ok


def test_an_entry_edited_in_the_export_is_named() -> None:
    lines = export_of(MemoryLog.of(25, every=10))
    lines[3 + 16] = lines[3 + 16].replace(b'"actor":"user2"', b'"actor":"admin"')
    report, _ = verify_export(lines, lambda _: TRUSTED.check)
    assert report.first_bad is not None
    assert (report.first_bad.seq, report.first_bad.problem) == (17, Problem.EDITED)


def test_lines_cut_from_the_end_of_an_export_are_caught() -> None:
    lines = export_of(MemoryLog.of(20, every=10))
    report, _ = verify_export(lines[:-3], lambda _: TRUSTED.check)
    assert report.first_bad is not None
    assert (report.first_bad.seq, report.first_bad.problem) == (18, Problem.TRUNCATED)


def test_a_garbled_line_is_named_by_the_entry_it_should_have_held() -> None:
    lines = export_of(MemoryLog.of(20, every=10))
    lines[3 + 9] = b'{"type":"entry","leaf":"zz'
    report, _ = verify_export(lines, lambda _: TRUSTED.check)
    assert report.first_bad is not None
    assert (report.first_bad.seq, report.first_bad.problem) == (10, Problem.MALFORMED)
    assert "line 13" in report.first_bad.detail


def test_something_that_is_not_an_export_is_refused() -> None:
    report, header = verify_export([b"hello\n"], lambda _: TRUSTED.check)
    assert header is None
    assert report.first_bad is not None
    assert report.first_bad.problem is Problem.MALFORMED
    with pytest.raises(MalformedExport, match="empty"):
        ExportReader([])


def test_the_header_says_what_it_is() -> None:
    header = json.loads(ExportHeader(b"\x01" * 32, "k" * 16, T0, 3).line())
    assert header == {
        "type": "header",
        "format": "custos-audit-export/1",
        "log": "custos-audit/1",
        "public_key": "01" * 32,
        "key_id": "k" * 16,
        "exported_at": "2026-11-20T02:00:00.000000Z",
        "tree_size": 3,
    }
    assert (
        canonical_json(header).encode() + b"\n"
        == ExportHeader(b"\x01" * 32, "k" * 16, T0, 3).line()
    )
