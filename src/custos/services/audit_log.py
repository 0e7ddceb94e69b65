"""The operation log (运行记录) as use-cases: signed checkpoints, verification, export, proofs.

Appending is not here: every service appends through ``uow.audit`` in its own transaction, and
the repository behind it chains each entry and asks the :class:`Checkpointer` whether a signed
checkpoint is due. This module reads the log back and proves things about it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self

from custos.domain.access import Permission
from custos.domain.audit import AuditEvent
from custos.domain.audit_chain import Checkpoint, checkpoint_statement
from custos.domain.audit_export import ExportHeader, ExportReader, MalformedExport
from custos.domain.audit_export import checkpoint_line as _checkpoint_line
from custos.domain.audit_export import entry_line as _entry_line
from custos.domain.audit_verify import EntryBatch, LogVerifier, SignatureCheck, VerificationReport
from custos.domain.audit_witness import Refused, WitnessCheck, Witnessed, WitnessReport, screened
from custos.domain.clock import Clock
from custos.domain.errors import Conflict, NotFound
from custos.domain.merkle import inclusion_path, leaf_hash, verify_inclusion
from custos.domain.users import Principal

BATCH = 50_000  # entries read per transaction while verifying or exporting


class Signer(Protocol):
    @property
    def key_id(self) -> str: ...
    @property
    def public_key(self) -> bytes: ...
    def sign(self, message: bytes) -> bytes: ...


@dataclass(frozen=True)
class CheckpointPolicy:
    """Sign a checkpoint once ``every_entries`` entries or ``every_seconds`` have gone by."""

    every_entries: int = 1000
    every_seconds: float = 60.0

    def __post_init__(self) -> None:
        if self.every_entries < 1 or self.every_seconds <= 0:
            raise ValueError("checkpoint intervals must be positive")


class Checkpointer:
    """Decides when a checkpoint is due, and signs it."""

    def __init__(self, signer: Signer, clock: Clock, policy: CheckpointPolicy) -> None:
        self.signer = signer
        self.policy = policy
        self._clock = clock
        self._listeners: list[Callable[[], None]] = []

    def after_commit(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after each commit that signed a checkpoint (the witnesses' wake-up;
        it runs in the writer's thread, so it must be quick and must not fail)."""
        self._listeners.append(listener)

    def committed(self) -> None:
        """The unit of work's call: a transaction that signed a checkpoint has committed."""
        for listener in self._listeners:
            listener()

    def due_by_count(self, size: int, last_size: int) -> bool:
        return size - last_size >= self.policy.every_entries

    def due(self, size: int, last_size: int, last_at: datetime | None) -> bool:
        if size <= last_size:
            return False
        if last_at is None or self.due_by_count(size, last_size):
            return True  # the very first entries are signed at once
        return (self._clock.now() - last_at).total_seconds() >= self.policy.every_seconds

    def sign(self, tree_size: int, root: bytes, chain: bytes) -> Checkpoint:
        at = self._clock.now()
        key_id = self.signer.key_id
        signature = self.signer.sign(checkpoint_statement(tree_size, root, chain, at, key_id))
        return Checkpoint(tree_size, root, chain, at, key_id, signature)


@dataclass(frozen=True)
class EntryFilter:
    """Which entries to show: an action or action prefix (``alarm.``), an actor, and text
    anywhere in the entry (case-insensitive)."""

    action: str | None = None
    actor: str | None = None
    text: str | None = None


class AuditLedger(Protocol):
    """What this module needs from the stored log (the SQL AuditRepository provides it)."""

    def append(self, e: AuditEvent) -> int: ...
    def size(self) -> int: ...
    def batch(self, after_seq: int, limit: int) -> EntryBatch: ...
    def newest(self, before_seq: int | None, limit: int, where: EntryFilter) -> EntryBatch: ...
    def span(self, after_seq: int, upto: int) -> EntryBatch: ...
    def leaves(self, upto: int) -> list[bytes]: ...
    def checkpoints(self, after_size: int = 0, limit: int | None = None) -> list[Checkpoint]: ...
    def latest_checkpoint(self) -> Checkpoint | None: ...
    def checkpoint(self, force: bool = True) -> Checkpoint | None: ...


class AuditUnitOfWork(Protocol):
    @property
    def audit(self) -> AuditLedger: ...
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    def commit(self) -> None: ...


class AuditUnitOfWorkFactory(Protocol):
    def __call__(self) -> AuditUnitOfWork: ...


@dataclass(frozen=True)
class AuditRecord:
    seq: int
    entry: dict[str, Any]
    leaf: bytes
    chain: bytes


@dataclass(frozen=True)
class InclusionProof:
    """Entry ``seq`` is leaf ``seq - 1`` of the tree that ``checkpoint`` signs."""

    seq: int
    entry: dict[str, Any]
    leaf: bytes
    audit_path: list[bytes]
    checkpoint: Checkpoint
    public_key: bytes

    @property
    def leaf_index(self) -> int:
        return self.seq - 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "leaf_index": self.leaf_index,
            "tree_size": self.checkpoint.tree_size,
            "entry": self.entry,
            "leaf_hash": self.leaf.hex(),
            "audit_path": [h.hex() for h in self.audit_path],
            "root": self.checkpoint.root.hex(),
            "checkpoint": self.checkpoint.as_dict(),
            "public_key": self.public_key.hex(),
        }


class AuditLogService:
    def __init__(
        self,
        uow: AuditUnitOfWorkFactory,
        checkpointer: Checkpointer,
        signature_ok: SignatureCheck,
        clock: Clock,
    ) -> None:
        self._uow = uow
        self._checkpointer = checkpointer
        self._signature_ok = signature_ok
        self._clock = clock

    @property
    def public_key(self) -> bytes:
        return self._checkpointer.signer.public_key

    @property
    def key_id(self) -> str:
        return self._checkpointer.signer.key_id

    def verify(self, actor: Principal, trusted: SignatureCheck | None = None) -> VerificationReport:
        """Recompute everything up to the current end of the log, then log the run itself.

        ``trusted`` replaces this installation's own key, for an auditor who pins another.
        """
        return self._verify(actor, trusted, None)[0]

    def verify_witnessed(
        self,
        actor: Principal,
        witnessed: Iterable[Witnessed],
        refused: Iterable[Refused] = (),
        trusted: SignatureCheck | None = None,
    ) -> tuple[VerificationReport, WitnessReport]:
        """:meth:`verify`, and in the same read, that the log extends every witnessed checkpoint
        whose signature the trusted key accepts (docs/design/evidence.md)."""
        kept, bad = screened(witnessed, trusted or self._signature_ok)
        report, witness = self._verify(actor, trusted, WitnessCheck(kept, [*refused, *bad]))
        assert witness is not None
        return report, witness

    def _verify(
        self, actor: Principal, trusted: SignatureCheck | None, witness: WitnessCheck | None
    ) -> tuple[VerificationReport, WitnessReport | None]:
        actor.require(Permission.AUDIT_READ)
        with self._uow() as uow:
            # Checkpoints first: one signed after this read cannot make the log look truncated.
            checkpoints = uow.audit.checkpoints()
            end = uow.audit.size()
        verifier = LogVerifier(checkpoints, trusted or self._signature_ok)
        reading = True
        for batch in self._batches(end):
            reading = reading and verifier.feed(batch)
            witnessing = witness is not None and witness.feed(batch)
            if not (reading or witnessing):
                break
        report = verifier.finish()
        witnessed = witness.finish() if witness is not None else None
        detail: dict[str, Any] = {
            "sound": report.ok,
            "entries": report.entries,
            "checkpoints": report.checkpoints,
        }
        if report.first_bad is not None:
            bad = report.first_bad
            detail["first_bad"] = {"seq": bad.seq, "problem": bad.problem.value}
        if witnessed is not None:
            detail["witnessed"] = {
                "checked": witnessed.checked,
                "upheld": witnessed.upheld,
                "refused": len(witnessed.refused),
            }
            if witnessed.first_contradicted is not None:
                cp = witnessed.first_contradicted.witnessed.checkpoint
                detail["witnessed"]["first_contradicted"] = cp.tree_size
        self._record(actor, "audit.verify", detail)
        return report, witnessed

    def checkpoint_now(self, actor: Principal) -> Checkpoint | None:
        """Sign the log as it stands (None when the latest checkpoint already covers it)."""
        actor.require(Permission.AUDIT_READ)
        with self._uow() as uow:
            cp = uow.audit.checkpoint(force=True)
            uow.commit()
        return cp

    def checkpoint_if_due(self) -> Checkpoint | None:
        """For a timer: sign the tail if the policy's time (or count) has come."""
        with self._uow() as uow:
            cp = uow.audit.checkpoint(force=False)
            uow.commit()
        return cp

    def entries(self, actor: Principal, after_seq: int = 0, limit: int = 100) -> list[AuditRecord]:
        actor.require(Permission.AUDIT_READ)
        with self._uow() as uow:
            b = uow.audit.batch(after_seq, limit)
        return [
            AuditRecord(seq, json.loads(entry), leaf, chain)
            for seq, entry, leaf, chain in zip(b.seqs, b.entries, b.leaves, b.chains, strict=True)
        ]

    def newest(
        self, actor: Principal, before_seq: int | None, limit: int, where: EntryFilter
    ) -> list[AuditRecord]:
        """One page of the log, newest first, keyset-paged by ``before_seq``."""
        actor.require(Permission.AUDIT_READ)
        with self._uow() as uow:
            b = uow.audit.newest(before_seq, limit, where)
        return [
            AuditRecord(seq, json.loads(entry), leaf, chain)
            for seq, entry, leaf, chain in zip(b.seqs, b.entries, b.leaves, b.chains, strict=True)
        ]

    def checkpoints(
        self, actor: Principal, after_size: int = 0, limit: int = 100
    ) -> list[Checkpoint]:
        actor.require(Permission.AUDIT_READ)
        with self._uow() as uow:
            return uow.audit.checkpoints(after_size, limit)

    def proof(self, actor: Principal, seq: int) -> InclusionProof:
        """An inclusion proof of entry ``seq`` against the latest signed checkpoint."""
        actor.require(Permission.AUDIT_READ)
        with self._uow() as uow:
            cp = uow.audit.latest_checkpoint()
            if seq < 1 or seq > uow.audit.size():
                raise NotFound("audit entry", seq)
            if cp is None or seq > cp.tree_size:
                covered = cp.tree_size if cp else 0
                raise Conflict(
                    "seq",
                    f"entry {seq} is not yet covered by a signed checkpoint (the latest covers "
                    f"1..{covered}); wait for the next one or make one with "
                    "'custos audit checkpoint'",
                )
            leaves = uow.audit.leaves(cp.tree_size)
            batch = uow.audit.span(seq - 1, seq)
        path = inclusion_path(leaves, seq - 1) if len(leaves) == cp.tree_size else []
        if (
            not batch.seqs
            or leaf_hash(batch.entries[0]) != leaves[seq - 1]
            or not verify_inclusion(seq - 1, cp.tree_size, leaves[seq - 1], path, cp.root)
        ):
            raise Conflict(
                "seq", "the stored log no longer matches its latest checkpoint: run audit verify"
            )
        entry = json.loads(batch.entries[0])
        return InclusionProof(seq, entry, leaves[seq - 1], path, cp, self.public_key)

    def export(self, actor: Principal, write: Callable[[bytes], object]) -> ExportHeader:
        """Write the self-contained export; it ends on a checkpoint signed for the occasion."""
        actor.require(Permission.AUDIT_READ)
        self._record(actor, "audit.export", {})
        self.checkpoint_now(actor)
        with self._uow() as uow:
            checkpoints = uow.audit.checkpoints()
            end = uow.audit.size()
        header = ExportHeader(self.public_key, self.key_id, self._clock.now(), end)
        write(header.line())
        for cp in checkpoints:
            write(_checkpoint_line(cp))
        for b in self._batches(end):
            for entry, leaf, chain in zip(b.entries, b.leaves, b.chains, strict=True):
                write(_entry_line(entry, leaf, chain))
        return header

    def _batches(self, end: int) -> Iterator[EntryBatch]:
        """Entries 1..end in spans of BATCH seqs, each read in its own short transaction.

        The next span is read on a second thread while the caller hashes this one: the
        database drivers leave the GIL while they wait, so reading and hashing overlap.
        """
        if end <= 0:
            return
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit-read") as reader:
            ahead = reader.submit(self._span, 0, min(BATCH, end))
            for after in range(BATCH, end + BATCH, BATCH):
                batch = ahead.result()
                if after < end:
                    ahead = reader.submit(self._span, after, min(after + BATCH, end))
                yield batch

    def _span(self, after: int, upto: int) -> EntryBatch:
        with self._uow() as uow:
            return uow.audit.span(after, upto)

    def _record(self, actor: Principal, action: str, detail: dict[str, Any]) -> None:
        """Reading the log for a verification or an export is itself entered in it."""
        event = AuditEvent(
            self._clock.now(), actor.username, action, "audit_log", None, detail=detail
        )
        with self._uow() as uow:
            uow.audit.append(event)
            uow.commit()


def verify_export(
    lines: Iterable[bytes],
    trust: Callable[[bytes], SignatureCheck],
    pinned: SignatureCheck | None = None,
) -> tuple[VerificationReport, ExportHeader | None]:
    """Verify an export offline. Without ``pinned`` keys, trust the key the export names."""
    try:
        reader = ExportReader(lines)
    except MalformedExport as exc:
        verifier = LogVerifier([], lambda _: None)
        verifier.malformed(str(exc))
        return verifier.finish(), None
    verifier = LogVerifier(reader.checkpoints, pinned or trust(reader.header.public_key))
    try:
        for batch in reader.batches(BATCH):
            if not verifier.feed(batch):
                break
    except MalformedExport as exc:
        verifier.malformed(str(exc))
    return verifier.finish(), reader.header
