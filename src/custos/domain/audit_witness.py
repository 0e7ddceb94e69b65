"""Witnessed checkpoints: copies of signed checkpoints kept outside the database, and the check
that the log as it stands extends every one of them (docs/design/evidence.md).

A witness line is the canonical JSON of the checkpoint with ``"type":"checkpoint"`` and the log's
origin; a reader parses it back or names the line it could not read. :class:`WitnessCheck` is fed
the same batches of stored entries as the log verifier, recomputes each leaf from the entry's
text and compares the Merkle root of the first *n* entries with every witnessed root of size *n*.
"""

from __future__ import annotations

import binascii
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from custos.domain.audit_chain import LOG_ORIGIN, Checkpoint, canonical_json, canonical_time
from custos.domain.audit_verify import EntryBatch, SignatureCheck
from custos.domain.merkle import HASH_SIZE, CompactRange, leaf_hashes

MAX_LINE = 4096  # bytes: a checkpoint line is about 400; anything longer is not one
MAX_TREE_SIZE = 1 << 62
MEMBERS = {"type", "log", "tree_size", "root", "chain", "signed_at", "key_id", "signature"}


class MalformedWitnessError(ValueError):
    """A witness line or object that is not a checkpoint."""


def witness_line(cp: Checkpoint) -> bytes:
    """The line a witness keeps for ``cp``, newline included."""
    body = {"type": "checkpoint", "log": LOG_ORIGIN, **cp.as_dict()}
    return canonical_json(body).encode() + b"\n"


def parse_witness_line(line: bytes) -> Checkpoint:
    """The checkpoint on a witness line; :class:`MalformedWitnessError` saying what is wrong."""
    if len(line) > MAX_LINE:
        raise MalformedWitnessError(f"longer than {MAX_LINE} bytes")
    try:
        d = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedWitnessError(f"not JSON ({exc})") from exc
    except RecursionError:  # nested deeper than the parser goes: no checkpoint is
        raise MalformedWitnessError("not JSON (nested too deep)") from None
    if not isinstance(d, dict):
        raise MalformedWitnessError("not a JSON object")
    if d.get("type") != "checkpoint" or d.get("log") != LOG_ORIGIN:
        raise MalformedWitnessError(f"not a checkpoint of log {LOG_ORIGIN}")
    if set(d) != MEMBERS:
        raise MalformedWitnessError(f"members must be exactly {', '.join(sorted(MEMBERS))}")
    size = d["tree_size"]
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= MAX_TREE_SIZE:
        raise MalformedWitnessError(f"tree_size must be an integer 1..{MAX_TREE_SIZE}")
    try:
        cp = Checkpoint.from_dict(d)
    except (TypeError, ValueError, binascii.Error) as exc:
        raise MalformedWitnessError(f"unreadable member ({exc})") from exc
    if len(cp.root) != HASH_SIZE or len(cp.chain) != HASH_SIZE:
        raise MalformedWitnessError("root and chain must be 32-byte hashes in hex")
    return cp


@dataclass(frozen=True)
class Witnessed:
    """A checkpoint as a witness holds it, and where: ``file line 3`` or an object's key."""

    checkpoint: Checkpoint
    source: str

    def describe(self) -> str:
        cp = self.checkpoint
        return (
            f"witnessed checkpoint {cp.tree_size} (signed {canonical_time(cp.signed_at)}, "
            f"{self.source})"
        )


@dataclass(frozen=True)
class Refused:
    """A witness line or object that was not used, and why (malformed, bad signature)."""

    source: str
    reason: str

    def __str__(self) -> str:
        return f"{self.source}: {self.reason}"


@dataclass(frozen=True)
class Contradiction:
    witnessed: Witnessed
    reason: str

    def __str__(self) -> str:
        return f"{self.witnessed.describe()} is contradicted: {self.reason}"


@dataclass(frozen=True)
class WitnessReport:
    checked: int  # distinct witnessed checkpoints compared with the log
    upheld: int
    newest_upheld: Witnessed | None
    first_contradicted: Contradiction | None
    refused: list[Refused]
    log_size: int  # entries read from the log

    @property
    def ok(self) -> bool:
        return self.first_contradicted is None and not self.refused

    def summary(self) -> str:
        if self.first_contradicted is not None:
            return f"WITNESS FAILED: {self.first_contradicted}"
        lines = []
        newest = self.newest_upheld
        if newest is not None:
            after = self.log_size - newest.checkpoint.tree_size
            lines.append(
                f"WITNESSED: the log extends {_count(self.upheld, 'witnessed checkpoint')}; the "
                f"newest is {newest.describe()}; {_count(after, 'entry', 'entries')} after it"
            )
        else:
            lines.append("WITNESSED: no usable witnessed checkpoint was found")
        lines += [f"WITNESS REFUSED: {r}" for r in self.refused]
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        newest, bad = self.newest_upheld, self.first_contradicted
        return {
            "ok": self.ok,
            "checked": self.checked,
            "upheld": self.upheld,
            "newest_upheld": None if newest is None else _witnessed_dict(newest),
            "first_contradicted": None
            if bad is None
            else {**_witnessed_dict(bad.witnessed), "reason": bad.reason},
            "refused": [{"source": r.source, "reason": r.reason} for r in self.refused],
        }


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


def _witnessed_dict(w: Witnessed) -> dict[str, Any]:
    cp = w.checkpoint
    return {
        "tree_size": cp.tree_size,
        "signed_at": canonical_time(cp.signed_at),
        "root": cp.root.hex(),
        "source": w.source,
    }


def screened(
    candidates: Iterable[Witnessed], signature_ok: SignatureCheck
) -> tuple[list[Witnessed], list[Refused]]:
    """Keep the witnessed checkpoints whose signature the trusted keys accept (one of each
    size and root, the first found); refuse the others, naming where they were found."""
    kept: dict[tuple[int, bytes], Witnessed] = {}
    refused: list[Refused] = []
    for w in candidates:
        why = signature_ok(w.checkpoint)
        if why is not None:
            refused.append(Refused(w.source, f"checkpoint {w.checkpoint.tree_size}: {why}"))
            continue
        kept.setdefault((w.checkpoint.tree_size, w.checkpoint.root), w)
    return list(kept.values()), refused


class WitnessCheck:
    """Feed it the log's batches in seq order (as :class:`LogVerifier` gets them), then
    :meth:`finish`. Witnessed checkpoints must already have had their signatures checked."""

    def __init__(self, witnessed: Iterable[Witnessed], refused: Iterable[Refused] = ()) -> None:
        self._pending = sorted(witnessed, key=lambda w: w.checkpoint.tree_size, reverse=True)
        self._refused = list(refused)
        self._range = CompactRange()
        self._hole: str | None = None  # why the log stopped being readable, if it did
        self._upheld: list[Witnessed] = []
        self._contradicted: Contradiction | None = None

    @property
    def wanted(self) -> bool:
        """True while some witnessed checkpoint lies beyond what has been read."""
        return bool(self._pending) and self._hole is None and self._contradicted is None

    def feed(self, b: EntryBatch) -> bool:
        """Extend the prefix with the batch's entries; False once no more are needed."""
        if not self.wanted:
            return False
        start = self._range.size + 1
        n = len(b)
        expected = range(start, start + n)
        if b.seqs != list(expected):
            n = next(i for i, (s, e) in enumerate(zip(b.seqs, expected, strict=False)) if s != e)
            self._hole = f"entry {start + n} is missing"
        leaves = leaf_hashes(b.entries[:n])
        done = 0
        while self._pending and self._pending[-1].checkpoint.tree_size <= start - 1 + n:
            w = self._pending.pop()
            take = w.checkpoint.tree_size - self._range.size
            self._range.extend(leaves[done : done + take])
            done += take
            self._compare(w)
            if self._contradicted is not None:
                return False
        self._range.extend(leaves[done:n])
        return self.wanted

    def _compare(self, w: Witnessed) -> None:
        if self._range.root() == w.checkpoint.root:
            self._upheld.append(w)
            return
        # after the newest upheld one below it: a witness may hold two copies of one size (a
        # bureau keeps a conflicting copy beside the one it accepted), and one may be upheld
        size = w.checkpoint.tree_size
        below = [u.checkpoint.tree_size for u in self._upheld if u.checkpoint.tree_size < size]
        first = max(below, default=0) + 1
        reason = (
            f"the first {w.checkpoint.tree_size} entries of the log do not have its root: "
            f"entries in {first}..{w.checkpoint.tree_size} were changed or replaced"
        )
        self._contradicted = Contradiction(w, reason)

    def finish(self) -> WitnessReport:
        """Call after the last batch: what is still pending lies beyond the log's end."""
        if self._contradicted is None and self._pending:
            w = self._pending[-1]
            size = self._range.size
            if self._hole is not None:
                reason = f"{self._hole} ({size} entries readable in order)"
            else:
                reason = f"the log ends at entry {size}: entries after it were removed"
            self._contradicted = Contradiction(w, reason)
        checked = len(self._upheld) + (self._contradicted is not None)
        return WitnessReport(
            checked=checked,
            upheld=len(self._upheld),
            newest_upheld=self._upheld[-1] if self._upheld else None,
            first_contradicted=self._contradicted,
            refused=self._refused,
            log_size=self._range.size,
        )
