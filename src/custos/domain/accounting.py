"""Interruption accounting: what a camera recorded on one Asia/Shanghai day, what it lost and why,
and how long its faults took to repair (issue 14 §1; docs/design/operations.md).

A *fault* is a stretch in which a camera that should record did not, long enough to raise an
alarm (``camera_offline`` after the grace, or ``recording_gap``): it starts when recording stopped
and ends when recording is back (*recovered*). Its repair time runs from start to recovery and may
cross days; an open fault counts to now. A fault not repaired within the unit's repair deadline
breaks "restore promptly" (Chongqing art. 20(6), Xi'an art. 22(6)).

A day is the Shanghai calendar day: 00:00–24:00 in UTC+8, i.e. 16:00 UTC the day before to
16:00 UTC. Segments and gaps are clipped to it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from custos.domain.calendar import SHANGHAI
from custos.domain.recording import Gap, Segment

#: Where no pack gives a repair deadline, Custos's default (a product default, not a rule).
DEFAULT_REPAIR_DEADLINE_HOURS = 24
MAX_ACCOUNTING_DAYS = 31


class FaultKind(enum.StrEnum):
    OFFLINE = "offline"  # not recording (camera_offline)
    GAP = "gap"  # "recording" but nothing sealed (recording_gap)


@dataclass(frozen=True)
class CameraFault:
    id: int | None
    camera_id: int
    kind: FaultKind
    started_at: datetime
    recovered_at: datetime | None  # None while the fault lasts
    reason: str  # the recorder's reason (unreachable, auth_failed, …) or the watcher's
    detail: str = ""

    def repair_time(self, now: datetime) -> timedelta:
        return (self.recovered_at or now) - self.started_at

    def is_overdue(self, deadline: timedelta, now: datetime) -> bool:
        """Not repaired (or not repaired in time) within ``deadline`` of its start."""
        return self.repair_time(now) > deadline

    def as_dict(self, now: datetime) -> dict[str, Any]:
        return {
            "id": self.id,
            "camera_id": self.camera_id,
            "kind": self.kind.value,
            "started_at": self.started_at.isoformat(),
            "recovered_at": self.recovered_at.isoformat() if self.recovered_at else None,
            "reason": self.reason,
            "detail": self.detail,
            "repair_s": round(self.repair_time(now).total_seconds(), 1),
        }


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC-comparable start and end of a Shanghai day (end exclusive)."""
    start = datetime.combine(day, time(0), tzinfo=SHANGHAI)
    return start, datetime.combine(day + timedelta(days=1), time(0), tzinfo=SHANGHAI)


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def overlap_s(start: datetime, end: datetime, lo: datetime, hi: datetime) -> float:
    """Seconds of [start, end) inside [lo, hi)."""
    return max(0.0, (min(end, hi) - max(start, lo)).total_seconds())


@dataclass(frozen=True)
class GapSlice:
    start_at: datetime  # clipped to the day
    end_at: datetime
    reason: str
    detail: str
    ongoing: bool  # the gap had not ended by the end of the day (or by now)

    @property
    def seconds(self) -> float:
        return (self.end_at - self.start_at).total_seconds()

    def as_dict(self) -> dict[str, Any]:
        return {
            "start_at": self.start_at.isoformat(),
            "end_at": self.end_at.isoformat(),
            "seconds": round(self.seconds, 1),
            "reason": self.reason,
            "detail": self.detail,
            "ongoing": self.ongoing,
        }


@dataclass(frozen=True)
class FaultSlice:
    fault: CameraFault
    in_day_s: float  # how much of the fault fell on this day
    overdue: bool  # not repaired within the deadline (up to now)

    def as_dict(self, now: datetime) -> dict[str, Any]:
        return {**self.fault.as_dict(now), "in_day_s": round(self.in_day_s, 1),
                "overdue": self.overdue}  # fmt: skip


@dataclass(frozen=True)
class DayAccount:
    camera_id: int
    day: date
    day_s: float  # seconds of the day accounted (the whole day, or up to now for today)
    recorded_s: float
    gaps: list[GapSlice]
    faults: list[FaultSlice]
    repair_deadline_h: int

    @property
    def gap_s(self) -> float:
        return sum(g.seconds for g in self.gaps)

    def as_dict(self, now: datetime) -> dict[str, Any]:
        return {
            "camera_id": self.camera_id,
            "day": self.day.isoformat(),
            "day_s": round(self.day_s, 1),
            "recorded_s": round(self.recorded_s, 1),
            "gap_s": round(self.gap_s, 1),
            "gaps": [g.as_dict() for g in self.gaps],
            "faults": [f.as_dict(now) for f in self.faults],
            "repair_deadline_h": self.repair_deadline_h,
        }


def recorded_seconds(segments: Iterable[Segment], lo: datetime, hi: datetime) -> float:
    """Seconds of [lo, hi) covered by footage; overlapping segments are counted once."""
    spans = sorted((s.start_at, s.end_at) for s in segments if not s.missing)
    total = 0.0
    cursor = lo
    for start, end in spans:
        start = max(start, cursor)
        if end > start:
            total += overlap_s(start, end, lo, hi)
            cursor = max(cursor, end)
    return total


def gap_slices(gaps: Iterable[Gap], lo: datetime, hi: datetime, now: datetime) -> list[GapSlice]:
    out = []
    for g in sorted(gaps, key=lambda g: g.start_at):
        end = g.end_at or now
        if overlap_s(g.start_at, end, lo, hi) <= 0:
            continue
        ongoing = g.end_at is None or g.end_at > hi
        out.append(GapSlice(max(g.start_at, lo), min(end, hi), g.reason.value, g.detail, ongoing))
    return out


def account_day(
    camera_id: int,
    day: date,
    segments: Sequence[Segment],
    gaps: Sequence[Gap],
    faults: Sequence[CameraFault],
    now: datetime,
    deadline_h: int,
) -> DayAccount:
    """One camera's account of one Shanghai day, as of ``now`` (a day not over counts to now)."""
    lo, hi = day_bounds(day)
    hi = max(lo, min(hi, now))
    deadline = timedelta(hours=deadline_h)
    slices = [
        FaultSlice(
            f, overlap_s(f.started_at, f.recovered_at or now, lo, hi), f.is_overdue(deadline, now)
        )
        for f in sorted(faults, key=lambda f: f.started_at)
        if f.started_at < hi and (f.recovered_at is None or f.recovered_at > lo)
    ]
    return DayAccount(
        camera_id,
        day,
        (hi - lo).total_seconds(),
        recorded_seconds(segments, lo, hi),
        gap_slices(gaps, lo, hi, now),
        slices,
        deadline_h,
    )
