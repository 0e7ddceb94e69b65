"""Retention: how long each camera's footage must be kept, and whether a segment may go.

A camera's retention is ``max(floor, configured)``, where the floor is the strictest rule pack in
force for its site's division and ``configured`` the camera's own setting, optionally capped by a
deployment maximum (Decree 799 art. 17: footage whose purpose is served is not kept without
end) — but a cap never goes below the floor. A segment may be deleted only when all of it is past
retention, no evidence hold protects it, and no pending or approved access request freezes it.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from custos.domain.access_requests import FootageScope
from custos.domain.holds import EvidenceHold
from custos.domain.recording import Segment
from custos.domain.rules.duty import Duty


@dataclass(frozen=True)
class RetentionPolicy:
    camera_id: int
    floor: Duty[int]
    configured_days: int | None
    max_days: int | None = None

    @property
    def days(self) -> int:
        wanted = self.configured_days if self.configured_days is not None else self.floor.value
        if self.max_days is not None:
            wanted = min(wanted, self.max_days)
        return max(self.floor.value, wanted)

    def keep_until(self, segment_end: datetime) -> datetime:
        return segment_end + timedelta(days=self.days)

    def cutoff(self, now: datetime) -> datetime:
        """Segments that ended at or before this instant are past retention."""
        return now - timedelta(days=self.days)


@dataclass(frozen=True)
class GarbageRow:
    """A segment marked for deletion: written before its file is unlinked, dropped with its row,
    so a crash mid-purge leaves a row that says exactly what to finish."""

    segment_id: int
    camera_id: int
    path: str
    sha256: str
    bytes: int
    marked_at: datetime
    batch: str


class Verdict(enum.StrEnum):
    DELETE = "delete"
    IN_RETENTION = "in_retention"
    HELD = "held"
    FROZEN = "frozen"


def verdict(
    segment: Segment,
    policy: RetentionPolicy,
    now: datetime,
    holds: Sequence[EvidenceHold],
    frozen: Sequence[FootageScope],
) -> Verdict:
    if segment.end_at > policy.cutoff(now):
        return Verdict.IN_RETENTION
    if any(h.protects(segment.camera_id, segment.start_at, segment.end_at, now) for h in holds):
        return Verdict.HELD
    if any(f.overlaps(segment.camera_id, segment.start_at, segment.end_at) for f in frozen):
        return Verdict.FROZEN
    return Verdict.DELETE
