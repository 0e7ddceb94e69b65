"""The scrub: re-hash sealed segments on a schedule, least recently verified first.

A segment whose file is gone or whose SHA-256 no longer matches the index raises a critical
``integrity`` alarm and an entry in the operation log; it is never "repaired" by re-indexing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from custos.domain.alarms import AlarmKind, Severity
from custos.domain.audit import AuditEvent
from custos.domain.clock import Clock
from custos.services.alarms import AlarmService
from custos.services.ports import RetentionUnitOfWorkFactory


class HashedFiles(Protocol):
    def hash_of(self, relative: str) -> str: ...
    def size_of(self, relative: str) -> int | None: ...


@dataclass
class ScrubReport:
    checked: int = 0
    missing: list[int] = field(default_factory=list)
    mismatched: list[int] = field(default_factory=list)


class Scrubber:
    def __init__(
        self,
        uow: RetentionUnitOfWorkFactory,
        clock: Clock,
        files: HashedFiles,
        alarms: AlarmService,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._files = files
        self._alarms = alarms

    def run(self, batch: int = 50, node: str | None = None) -> ScrubReport:
        """Re-hash a batch of the segments whose files are here: recorder node ``node``'s
        (None: the one-machine recorder's; docs/design/cluster.md, "Timed duties")."""
        report = ScrubReport()
        with self._uow() as uow:
            due = uow.segments.least_verified(batch, node)
        for seg in due:
            assert seg.id is not None
            report.checked += 1
            if self._files.size_of(seg.path) is None:
                report.missing.append(seg.id)
                self._flag(seg.id, seg.camera_id, seg.path, "the file is missing", seg.sha256, None)
                continue
            actual = self._files.hash_of(seg.path)
            if actual != seg.sha256:
                report.mismatched.append(seg.id)
                self._flag(seg.id, seg.camera_id, seg.path, "the file's SHA-256 differs from the index",
                           seg.sha256, actual)  # fmt: skip
                continue
            with self._uow() as uow:
                uow.segments.mark_verified(seg.id, self._clock.now())
                uow.commit()
        return report

    def _flag(self, segment_id: int, camera_id: int, path: str, why: str, indexed: str,
              actual: str | None) -> None:  # fmt: skip
        detail = {"path": path, "indexed_sha256": indexed, "actual_sha256": actual}
        self._alarms.raise_(
            AlarmKind.INTEGRITY, Severity.CRITICAL, f"segment:{segment_id}",
            f"segment {segment_id} ({path}): {why}", detail, camera_id=camera_id,
        )  # fmt: skip
        with self._uow() as uow:
            uow.audit.append(
                AuditEvent(self._clock.now(), "system", "segment.integrity_failed", "segment",
                           str(segment_id), detail={**detail, "why": why})
            )  # fmt: skip
            uow.commit()
