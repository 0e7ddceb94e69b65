"""Checking an operation log: recompute every leaf, the chain, the tree at every checkpoint, and
the checkpoint signatures, and name the first entry that is not what was signed.

The verifier streams: entries arrive in batches (columns, not rows, so that hashing a batch is a
few list comprehensions), and it stops as soon as nothing later could be an earlier problem.
"""

from __future__ import annotations

import enum
import hashlib
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from custos.domain.audit_chain import GENESIS, Checkpoint
from custos.domain.merkle import CompactRange, leaf_hashes

_sha256 = hashlib.sha256

#: Says why a checkpoint's signature is not acceptable, or None when it is.
SignatureCheck = Callable[[Checkpoint], str | None]


class Problem(enum.StrEnum):
    MISSING = "missing"  # a seq is absent where the next one was expected (deleted, reordered)
    EDITED = "edited"  # the entry no longer hashes to its stored leaf
    CHAIN_BROKEN = "chain_broken"  # the stored chain hash does not follow from the one before
    NOT_AS_SIGNED = "not_as_signed"  # a checkpoint's root or chain differs from the entries
    BAD_SIGNATURE = "bad_signature"  # a checkpoint is not signed by a trusted key
    TRUNCATED = "truncated"  # a checkpoint vouches for entries the log no longer has
    MALFORMED = "malformed"  # an export line that is not what the format says


@dataclass(frozen=True)
class Finding:
    seq: int  # the first entry that cannot be trusted
    problem: Problem
    detail: str

    def __str__(self) -> str:
        return f"seq {self.seq}: {self.problem}: {self.detail}"


@dataclass(frozen=True)
class EntryBatch:
    """Consecutive stored entries as columns: seq, canonical bytes, stored leaf, stored chain."""

    seqs: list[int]
    entries: list[bytes]
    leaves: list[bytes]
    chains: list[bytes]

    def __len__(self) -> int:
        return len(self.seqs)


@dataclass(frozen=True)
class VerificationReport:
    ok: bool
    entries: int  # entries read and found sound
    checkpoints: int  # checkpoints whose root and chain were matched against the entries
    first_bad: Finding | None
    root: bytes  # the tree root over the sound entries
    chain: bytes
    unsigned_entries: int  # sound entries after the last matched checkpoint
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        bad = self.first_bad
        return {
            "ok": self.ok,
            "entries": self.entries,
            "checkpoints": self.checkpoints,
            "root": self.root.hex(),
            "chain": self.chain.hex(),
            "unsigned_entries": self.unsigned_entries,
            "first_bad": None
            if bad is None
            else {"seq": bad.seq, "problem": bad.problem.value, "detail": bad.detail},
            "notes": list(self.notes),
        }

    def summary(self) -> str:
        if self.first_bad is not None:
            return f"FAILED at {self.first_bad}"
        return (
            f"OK: {self.entries} entries, {self.checkpoints} signed checkpoints matched, "
            f"root {self.root.hex()}"
        )


def _first_difference(a: Sequence[object], b: Sequence[object]) -> int | None:
    if a == b:
        return None
    return next(i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y)


class LogVerifier:
    """Feed it batches in seq order, then :meth:`finish`."""

    def __init__(self, checkpoints: Iterable[Checkpoint], signature_ok: SignatureCheck) -> None:
        ordered = sorted(checkpoints, key=lambda c: c.tree_size)
        self._pending: deque[Checkpoint] = deque(ordered)
        self._findings: list[Finding] = []
        self._untrusted: set[int] = set()  # tree sizes of checkpoints with a bad signature
        self._read_until: int | None = None  # stop reading past this seq
        self._range = CompactRange()
        self._chain = GENESIS
        self._matched = 0
        self._last_matched_size = 0
        self._check_signatures(ordered, signature_ok)

    def _check_signatures(self, ordered: list[Checkpoint], signature_ok: SignatureCheck) -> None:
        """A checkpoint with a bad signature vouches for nothing after the one before it."""
        previous = 0
        for cp in ordered:
            why = signature_ok(cp)
            if why is not None:
                detail = f"checkpoint {cp.tree_size}: {why}"
                self._found(Finding(previous + 1, Problem.BAD_SIGNATURE, detail))
                self._untrusted.add(cp.tree_size)
                if self._read_until is None:
                    self._read_until = cp.tree_size
            previous = cp.tree_size

    @property
    def done(self) -> bool:
        """True once reading more entries cannot change the verdict."""
        return self._read_until is not None and self._range.size >= self._read_until

    @property
    def size(self) -> int:
        return self._range.size

    def feed(self, batch: EntryBatch) -> bool:
        """Check the next consecutive entries; False when no more are needed."""
        if self.done:
            return False
        n = len(batch)
        if self._read_until is not None:
            n = min(n, self._read_until - self._range.size)
        sound = self._sound_prefix(batch, n)
        self._advance(batch, sound)
        return not self.done

    def _sound_prefix(self, b: EntryBatch, n: int) -> int:
        """How many entries from the batch's start are in place, unedited and chained."""
        start = self._range.size + 1
        stop = n
        gap = _first_difference(b.seqs[:n], list(range(start, start + n)))
        if gap is not None:
            stop = gap
        computed = leaf_hashes(b.entries[:stop])
        edited = _first_difference(computed, b.leaves[:stop])
        if edited is not None:
            stop = edited
        previous = [self._chain, *b.chains[: stop - 1]] if stop else []
        expected = [_sha256(p + leaf).digest() for p, leaf in zip(previous, computed, strict=False)]
        broken = _first_difference(expected, b.chains[:stop])
        if broken is not None:
            stop = broken
            finding = Finding(start + broken, Problem.CHAIN_BROKEN, _chain_detail(start + broken))
        elif edited is not None:
            finding = Finding(start + edited, Problem.EDITED, _edit_detail(start + edited))
        elif gap is not None:
            finding = _gap_finding(start + gap, b.seqs[gap])
        else:
            return stop
        self._found(_moved(finding, b.entries[finding.seq - start]))
        return stop

    def _advance(self, b: EntryBatch, sound: int) -> None:
        leaves, done, failed = b.leaves, 0, False
        while self._pending and self._pending[0].tree_size <= self._range.size + sound - done:
            cp = self._pending.popleft()
            take = cp.tree_size - self._range.size
            self._range.extend(leaves[done : done + take])
            done += take
            if cp.tree_size in self._untrusted:
                continue  # a checkpoint nobody trusted signed is no evidence either way
            if not self._matches(cp, b.chains[done - 1] if done else self._chain):
                sound, failed = done, True
                break
        self._range.extend(leaves[done:sound])
        if sound:
            self._chain = b.chains[sound - 1]
        if failed or sound < len(b):
            self._read_until = self._range.size

    def _matches(self, cp: Checkpoint, chain: bytes) -> bool:
        root = self._range.root()
        if root == cp.root and chain == cp.chain:
            self._matched += 1
            self._last_matched_size = cp.tree_size
            return True
        what = "root" if root != cp.root else "chain hash"
        detail = (
            f"entries {self._last_matched_size + 1}..{cp.tree_size} do not have the {what} "
            f"signed in checkpoint {cp.tree_size}: rewritten, with their hashes recomputed"
        )
        self._found(Finding(self._last_matched_size + 1, Problem.NOT_AS_SIGNED, detail))
        return False

    def malformed(self, detail: str) -> None:
        """The input could not be read past this point (an export line that is not one)."""
        if not self.done:
            self._found(Finding(self._range.size + 1, Problem.MALFORMED, detail))
            self._read_until = self._range.size

    def _found(self, f: Finding) -> None:
        self._findings.append(f)

    def finish(self) -> VerificationReport:
        if not self._findings and self._pending:
            last = self._pending[-1].tree_size
            end = self._range.size
            detail = f"the log ends at entry {end}, but checkpoint {last} vouches for {last}"
            self._found(Finding(self._range.size + 1, Problem.TRUNCATED, detail))
        first = min(self._findings, key=lambda f: f.seq) if self._findings else None
        notes = []
        unsigned = self._range.size - self._last_matched_size
        if first is None and unsigned:
            notes.append(
                f"entries {self._last_matched_size + 1}..{self._range.size} are chained but not "
                "yet covered by a signed checkpoint"
            )
        return VerificationReport(
            ok=first is None,
            entries=self._range.size,
            checkpoints=self._matched,
            first_bad=first,
            root=self._range.root(),
            chain=self._chain,
            unsigned_entries=unsigned,
            notes=notes,
        )


def _chain_detail(seq: int) -> str:
    return f"the stored chain hash of entry {seq} does not follow from entry {seq - 1}"


def _edit_detail(seq: int) -> str:
    return f"entry {seq} no longer hashes to its stored leaf: its content was changed"


def _moved(f: Finding, entry: bytes) -> Finding:
    """Say so when the entry at a bad position says it belongs elsewhere (rows renumbered)."""
    if f.problem is Problem.MISSING:
        return f
    try:
        says = int(entry[entry.rindex(b'"seq":') + 6 : -1])
    except ValueError:
        return f
    if says == f.seq:
        return f
    why = f"the row for entry {f.seq} holds entry {says}: entries were moved or renumbered"
    return Finding(f.seq, Problem.MISSING, why)


def _gap_finding(expected: int, found: int) -> Finding:
    if found > expected:
        why = f"entry {expected} is missing (deleted or moved): the next one stored is {found}"
    else:
        why = f"entry {found} appears where entry {expected} should be (reordered or duplicated)"
    return Finding(expected, Problem.MISSING, why)
