"""Signed checkpoints handed to witnesses outside the database (docs/design/evidence.md,
"Witnessed checkpoints"), and read back from them to check the log against.

Only committed checkpoints are handed over: a pass reads them back from the database, after the
newest one each witness already holds. The unit of work wakes the service when a commit signed
one; the housekeeper's witness thread makes the passes. A witness that fails is logged and asked
again at the next pass, which hands it everything it missed; it never holds up the log.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from custos.domain.audit_chain import Checkpoint
from custos.domain.audit_export import ExportHeader, ExportReader, MalformedExport
from custos.domain.audit_verify import LogVerifier, SignatureCheck, VerificationReport
from custos.domain.audit_witness import Refused, WitnessCheck, Witnessed, WitnessReport, screened
from custos.services.audit_log import BATCH, AuditUnitOfWorkFactory

log = logging.getLogger(__name__)

PASS_LIMIT = 500  # checkpoints handed to one witness in one pass; the rest at the next


class WitnessUnavailableError(Exception):
    """The witness could not be written or read (disk, network, store refusing)."""


class CheckpointWitness(Protocol):
    """A place outside the database that keeps every checkpoint it is given."""

    @property
    def name(self) -> str: ...

    def witnessed_size(self) -> int:
        """Tree size of the newest checkpoint it holds (0: none yet)."""
        ...

    def witness(self, cp: Checkpoint) -> None:
        """Keep ``cp`` for good; :class:`WitnessUnavailableError` when it could not."""
        ...


class WitnessSource(Protocol):
    """Where witnessed checkpoints are read back for verification."""

    def read(self) -> tuple[list[Witnessed], list[Refused]]:
        """Every checkpoint found (with where), and what could not be read as one;
        :class:`WitnessUnavailableError` when the witness cannot be read at all."""
        ...


@dataclass
class WitnessPass:
    handed: dict[str, int] = field(default_factory=dict)  # witness name → checkpoints given
    failed: dict[str, str] = field(default_factory=dict)  # witness name → why


class WitnessService:
    """Hands committed checkpoints to every configured witness."""

    def __init__(
        self,
        uow: AuditUnitOfWorkFactory,
        witnesses: Sequence[CheckpointWitness],
        limit: int = PASS_LIMIT,
    ) -> None:
        if not 1 <= limit <= 100_000:
            raise ValueError("a witness pass hands over 1..100000 checkpoints")
        self._uow = uow
        self._witnesses = list(witnesses)
        self._limit = limit
        self._held: dict[str, int] = {}  # what each witness is known to hold
        self._signed = threading.Event()
        self._lock = threading.Lock()

    @property
    def witnesses(self) -> list[CheckpointWitness]:
        return list(self._witnesses)

    def wake(self) -> None:
        """Called after a commit that signed a checkpoint (and to stop the witness thread):
        wake the witness thread. Cheap and cannot fail: it runs in the writer's thread."""
        self._signed.set()

    def wait_for_checkpoint(self, timeout_s: float) -> bool:
        """For the witness thread: True when a checkpoint was committed since the last wait."""
        woken = self._signed.wait(timeout_s)
        self._signed.clear()
        return woken

    def hand_over(self) -> WitnessPass:
        """One pass: every witness gets the committed checkpoints it does not hold yet."""
        result = WitnessPass()
        with self._lock:  # one pass at a time: a witness never gets a checkpoint twice at once
            for w in self._witnesses:
                try:
                    result.handed[w.name] = self._hand_to(w)
                except WitnessUnavailableError as exc:
                    self._held.pop(w.name, None)  # ask it again next time
                    result.failed[w.name] = str(exc)
                    log.warning(
                        "audit witness %s failed, retried at the next pass: %s", w.name, exc
                    )
        return result

    def _hand_to(self, w: CheckpointWitness) -> int:
        held = self._held.get(w.name)
        if held is None:
            held = w.witnessed_size()
            self._held[w.name] = held
        with self._uow() as uow:
            due = uow.audit.checkpoints(held, self._limit)
        for cp in due:
            w.witness(cp)
            self._held[w.name] = cp.tree_size
        return len(due)


def read_all(sources: Iterable[WitnessSource]) -> tuple[list[Witnessed], list[Refused]]:
    """Everything the given witnesses hold; WitnessUnavailableError from the first that cannot
    be read at all."""
    found: list[Witnessed] = []
    refused: list[Refused] = []
    for source in sources:
        more, bad = source.read()
        found += more
        refused += bad
    return found, refused


def verify_export_witnessed(
    lines: Iterable[bytes],
    trust: Callable[[bytes], SignatureCheck],
    witnessed: Iterable[Witnessed],
    refused: Iterable[Refused] = (),
    pinned: SignatureCheck | None = None,
) -> tuple[VerificationReport, ExportHeader | None, WitnessReport]:
    """:func:`verify_export`, and in the same read, that the exported log extends every
    witnessed checkpoint the trusted key signed (the pinned key, else the export's own)."""
    try:
        reader = ExportReader(lines)
    except MalformedExport as exc:
        verifier = LogVerifier([], lambda _: None)
        verifier.malformed(str(exc))
        witness = WitnessCheck([], refused)
        return verifier.finish(), None, witness.finish()
    signature_ok = pinned or trust(reader.header.public_key)
    kept, bad = screened(witnessed, signature_ok)
    witness = WitnessCheck(kept, [*refused, *bad])
    verifier = LogVerifier(reader.checkpoints, signature_ok)
    reading = True
    try:
        for batch in reader.batches(BATCH):
            reading = reading and verifier.feed(batch)
            if not (witness.feed(batch) or reading):
                break
    except MalformedExport as exc:
        verifier.malformed(str(exc))
    return verifier.finish(), reader.header, witness.finish()
