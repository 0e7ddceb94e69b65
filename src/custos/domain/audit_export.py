"""The self-contained export of the operation log: JSON lines an auditor verifies offline.

    line 1   {"type":"header", "format":"custos-audit-export/1", "public_key":<hex>, ...}
    then     {"type":"checkpoint", "tree_size":…, "root":…, "chain":…, "signed_at":…,
              "key_id":…, "signature":…}                        one per checkpoint, by size
    then     {"type":"entry","leaf":<hex>,"chain":<hex>,"entry":<canonical entry>}
                                                                 one per entry, by seq

Entry lines are written with that exact member order and the entry in its canonical form, so a
reader may take the entry's bytes straight from the line; a line in any other layout is parsed
as JSON and its entry re-canonicalised, which gives the same bytes for an untouched entry.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from custos.domain.audit_chain import (
    LOG_ORIGIN,
    Checkpoint,
    canonical_json,
    canonical_time,
    parse_time,
)
from custos.domain.audit_verify import EntryBatch

FORMAT = "custos-audit-export/1"
_P1, _P2, _P3 = b'{"type":"entry","leaf":"', b'","chain":"', b'","entry":'
_LEAF_AT = len(_P1)
_P2_AT = _LEAF_AT + 64
_CHAIN_AT = _P2_AT + len(_P2)
_P3_AT = _CHAIN_AT + 64
_ENTRY_AT = _P3_AT + len(_P3)


class MalformedExport(ValueError):  # noqa: N818 - the domain's word for it
    def __init__(self, line_no: int, why: str) -> None:
        self.line_no = line_no
        self.why = why
        super().__init__(f"line {line_no}: {why}")


@dataclass(frozen=True)
class ExportHeader:
    public_key: bytes
    key_id: str
    exported_at: datetime
    tree_size: int

    def line(self) -> bytes:
        body = {
            "type": "header",
            "format": FORMAT,
            "log": LOG_ORIGIN,
            "public_key": self.public_key.hex(),
            "key_id": self.key_id,
            "exported_at": canonical_time(self.exported_at),
            "tree_size": self.tree_size,
        }
        return canonical_json(body).encode() + b"\n"


def checkpoint_line(cp: Checkpoint) -> bytes:
    return canonical_json({"type": "checkpoint", **cp.as_dict()}).encode() + b"\n"


def entry_line(entry: bytes, leaf: bytes, chain: bytes) -> bytes:
    return b"".join((_P1, leaf.hex().encode(), _P2, chain.hex().encode(), _P3, entry, b"}\n"))


class ExportReader:
    """Reads the header and checkpoints up front, then hands out entries in batches."""

    def __init__(self, lines: Iterable[bytes]) -> None:
        self._lines = iter(enumerate(lines, start=1))
        self._next: tuple[int, bytes] | None = None
        self.header = self._read_header()
        self.checkpoints: list[Checkpoint] = []
        for line_no, line in self._lines:
            d = None if line.startswith(_P1) else _json(line_no, line)
            if d is None or d.get("type") == "entry":
                self._next = (line_no, line)
                break
            self.checkpoints.append(_checkpoint(line_no, d))

    def _read_header(self) -> ExportHeader:
        first = next(self._lines, None)
        if first is None:
            raise MalformedExport(1, "the export is empty")
        line_no, line = first
        d = _json(line_no, line)
        if d.get("type") != "header" or d.get("format") != FORMAT:
            raise MalformedExport(line_no, f"the first line is not a {FORMAT} header")
        try:
            return ExportHeader(
                bytes.fromhex(d["public_key"]),
                str(d["key_id"]),
                parse_time(d["exported_at"]),
                int(d["tree_size"]),
            )
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            raise MalformedExport(line_no, f"bad header: {exc}") from exc

    def batches(self, size: int) -> Iterator[EntryBatch]:
        """Entries in batches; raises MalformedExport at the first line it cannot read."""
        batch = EntryBatch([], [], [], [])
        pending = [self._next] if self._next is not None else []
        for line_no, line in _chain_lines(pending, self._lines):
            try:
                seq, entry, leaf, chain = _entry(line)
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                if batch.seqs:
                    yield batch
                raise MalformedExport(line_no, f"not an entry line: {exc}") from exc
            batch.seqs.append(seq)
            batch.entries.append(entry)
            batch.leaves.append(leaf)
            batch.chains.append(chain)
            if len(batch.seqs) >= size:
                yield batch
                batch = EntryBatch([], [], [], [])
        if batch.seqs:
            yield batch


def _chain_lines(
    first: list[tuple[int, bytes]], rest: Iterator[tuple[int, bytes]]
) -> Iterator[tuple[int, bytes]]:
    yield from first
    yield from rest


def _entry(line: bytes) -> tuple[int, bytes, bytes, bytes]:
    line = line.rstrip(b"\r\n")
    if (
        line.startswith(_P1)
        and line[_P2_AT:_CHAIN_AT] == _P2
        and line[_P3_AT:_ENTRY_AT] == _P3
        and line.endswith(b"}")
    ):
        entry = line[_ENTRY_AT:-1]
        leaf = bytes.fromhex(line[_LEAF_AT:_P2_AT].decode())
        chain = bytes.fromhex(line[_CHAIN_AT:_P3_AT].decode())
        seq = int(entry[entry.rindex(b'"seq":') + 6 : -1])
        return seq, entry, leaf, chain
    d = json.loads(line)
    if d.get("type") != "entry":
        raise ValueError(f"type {d.get('type')!r} where an entry was expected")
    e = d["entry"]
    return (
        int(e["seq"]),
        canonical_json(e).encode(),
        bytes.fromhex(d["leaf"]),
        bytes.fromhex(d["chain"]),
    )


def _json(line_no: int, line: bytes) -> dict[str, Any]:
    try:
        d = json.loads(line)
    except ValueError as exc:
        raise MalformedExport(line_no, f"not JSON: {exc}") from exc
    if not isinstance(d, dict):
        raise MalformedExport(line_no, "not a JSON object")
    return d


def _checkpoint(line_no: int, d: dict[str, Any]) -> Checkpoint:
    if d.get("type") != "checkpoint":
        raise MalformedExport(line_no, f"type {d.get('type')!r} where a checkpoint was expected")
    try:
        return Checkpoint.from_dict(d)
    except (KeyError, ValueError, TypeError) as exc:
        raise MalformedExport(line_no, f"bad checkpoint: {exc}") from exc
