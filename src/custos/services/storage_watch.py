"""Storage projection and alarms: will each volume hold the retention floor?

For each volume: the bytes per day the cameras recording onto it produce (measured from their
sealed segments over the last day), and how many days of footage the volume can hold at that rate
(``(footage already on it + free space) / bytes per day``). Below the longest retention of those
cameras, a ``retention_projection`` alarm is raised (critical below the floor itself, a warning
within 20 % above it); it clears by itself when the projection recovers. Footage is never
deleted to make room: the recorder stops writing instead (gap reason ``storage_full``), and
raises the critical ``storage_full`` alarm itself, the moment it stops (``StorageFullAlarm``).
New footage written to a volume other than the first (the earlier ones ran short: a spill,
docs/design/recording.md "Volumes") raises the warning ``volume_spill`` on ``volume:<path>`` of
that volume, kept by the recorder too (``VolumeSpillAlarm``); it clears when writing returns to
the first volume.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from custos.domain.alarms import AlarmKind, Severity
from custos.domain.clock import Clock
from custos.domain.errors import NotFound
from custos.services.alarms import AlarmService as AlarmService  # re-exported for bootstrap
from custos.services.ports import RetentionUnitOfWork, RetentionUnitOfWorkFactory
from custos.services.retention import RetentionService

log = logging.getLogger(__name__)
DiskUsage = Callable[[], tuple[int, int, int]]  # (total, used, free) bytes
WARNING_MARGIN = 1.2


@dataclass(frozen=True)
class VolumeProjection:
    volume: str
    total_bytes: int
    free_bytes: int
    footage_bytes: int
    bytes_per_day: float
    days_possible: float | None  # None: nothing recorded yet
    days_required: int

    @property
    def short(self) -> bool:
        return self.days_possible is not None and self.days_possible < self.days_required

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "short": self.short}


class StorageFullAlarm:
    """The critical ``storage_full`` alarm, kept by the recorder in step with its own state:
    raised as soon as a camera stops for want of room on every volume, cleared as soon as none
    is stopped for it (docs/design/recording.md, "Storage")."""

    SUBJECT = "recorder"
    #: While cameras stay stopped the alarm is raised again this often (one read when it is still
    #: open), so a person who resolves it while the disk is still full sees it come back.
    REASSERT_S = 10.0

    def __init__(
        self, alarms: AlarmService, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._alarms = alarms
        self._monotonic = monotonic
        self._shown: bool | None = None  # unknown until the first update: a stale one is cleared
        self._asserted_at = 0.0

    def update(self, stopped: Sequence[int]) -> bool:
        """``stopped``: the cameras offline for want of room now. Whether the alarm changed."""
        full = bool(stopped)
        now = self._monotonic()
        if full is self._shown and not (full and now - self._asserted_at >= self.REASSERT_S):
            return False
        changed = full is not self._shown
        if full:
            self._asserted_at = now
            self._alarms.raise_(
                AlarmKind.STORAGE_FULL, Severity.CRITICAL, self.SUBJECT,
                f"{len(stopped)} camera(s) are not being recorded: no volume has room "
                "(footage inside retention is never deleted to make room)",
                {"camera_ids": sorted(stopped)},
            )  # fmt: skip
        else:
            changed = self._alarms.clear(AlarmKind.STORAGE_FULL, self.SUBJECT)
        self._shown = full
        return changed


class VolumeSpillAlarm:
    """The warning ``volume_spill``, one per volume after the first, kept by the recorder in step
    with where its cameras write: every new run goes to the first volume with room, so a camera
    writing to volume N > 0 means the volumes before it ran short. Raised in the tick the first
    camera writes there, cleared in the tick none does any more."""

    def __init__(self, alarms: AlarmService, volumes: Sequence[str]) -> None:
        self._alarms = alarms
        self._volumes = tuple(volumes)  # volume 0 (the media directory) first
        self._shown: frozenset[int] | None = None  # unknown until the first update

    def subject(self, volume: int) -> str:
        return f"volume:{self._volumes[volume]}"

    def update(self, writing: Mapping[int, Sequence[int]]) -> bool:
        """``writing``: volume number → the cameras writing to it now. Whether an alarm changed."""
        spilled = frozenset(v for v, cams in writing.items() if 0 < v < len(self._volumes) and cams)
        if spilled == self._shown:
            return False
        shown = self._shown
        # the first update also clears what a previous recorder left open
        stale = set(range(1, len(self._volumes))) if shown is None else set(shown)
        changed = False
        for v in sorted(spilled - (shown or frozenset())):
            cams = sorted(writing[v])
            self._alarms.raise_(
                AlarmKind.VOLUME_SPILL, Severity.WARNING, self.subject(v),
                f"{len(cams)} camera(s) write new footage to {self._volumes[v]}: the volumes "
                "before it ran short of the minimum free space",
                {"volume": v, "path": self._volumes[v], "camera_ids": cams},
            )  # fmt: skip
            changed = True
        for v in sorted(stale - spilled):
            changed = self._alarms.clear(AlarmKind.VOLUME_SPILL, self.subject(v)) or changed
        self._shown = spilled
        return changed


class StorageWatch:
    def __init__(
        self,
        uow: RetentionUnitOfWorkFactory,
        clock: Clock,
        retention: RetentionService,
        alarms: AlarmService,
        volume: str,
        disk_usage: DiskUsage,
        node: str | None = None,
    ) -> None:
        """``node``: the recorder node whose disk ``volume`` is (None: the one-machine
        recorder's); only its segments count (docs/design/cluster.md, "Timed duties")."""
        self._node = node
        self._uow = uow
        self._clock = clock
        self._retention = retention
        self._alarms = alarms
        self._volume = volume
        self._disk_usage = disk_usage

    def projection(self) -> VolumeProjection:
        total, _used, free = self._disk_usage()
        now = self._clock.now()
        with self._uow() as uow:
            per_day, footage, required = self._rates(uow, now)
        days = (footage + free) / per_day if per_day > 0 else None
        return VolumeProjection(self._volume, total, free, footage, per_day, days, required)

    def check(self) -> VolumeProjection:
        """Raise or clear the projection alarm for this volume. (The storage-full alarm is the
        recorder's, kept in step with its state: ``StorageFullAlarm``.)"""
        p = self.projection()
        subject = f"volume:{self._volume}"
        if p.days_possible is None:
            return p
        if p.short:
            self._alarms.raise_(
                AlarmKind.RETENTION_PROJECTION, Severity.CRITICAL, subject,
                f"at the present rate this volume holds {p.days_possible:.1f} days of footage; "
                f"the cameras on it must keep {p.days_required} days",
                p.as_dict(),
            )  # fmt: skip
        elif p.days_possible < p.days_required * WARNING_MARGIN:
            self._alarms.raise_(
                AlarmKind.RETENTION_PROJECTION, Severity.WARNING, subject,
                f"this volume holds {p.days_possible:.1f} days at the present rate, close to the "
                f"{p.days_required} days required",
                p.as_dict(),
            )  # fmt: skip
        else:
            self._alarms.clear(AlarmKind.RETENTION_PROJECTION, subject)
        return p

    def _rates(self, uow: RetentionUnitOfWork, now: datetime) -> tuple[float, int, int]:
        per_day = 0.0
        footage = 0
        required = 0
        for st in uow.segments.stats(now - timedelta(days=1), self._node):
            footage += st.total_bytes
            if st.recent_seconds > 0:
                per_day += st.recent_bytes / st.recent_seconds * 86400
            try:
                required = max(required, self._retention.policy_in(uow, st.camera_id).days)
            except NotFound:  # a camera gone from the registry sets no requirement
                log.warning("camera %s has footage but is not in the registry", st.camera_id)
        return per_day, footage, required
