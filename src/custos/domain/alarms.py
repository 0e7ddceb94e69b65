"""Alarms: conditions someone must act on, raised once and cleared when they pass.

A person may *acknowledge* an open alarm (I have seen it, with a note) and *resolve* it (it is
dealt with, with a note); resolving closes it. If the condition is still there, the next check
raises a new alarm, so a resolved alarm never hides a condition that persists.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class Severity(enum.StrEnum):
    WARNING = "warning"
    CRITICAL = "critical"


class AlarmKind(enum.StrEnum):
    RETENTION_PROJECTION = "retention_projection"  # a volume cannot hold the floor much longer
    STORAGE_FULL = "storage_full"  # no volume has room: new footage is not being written
    INTEGRITY = "integrity"  # a segment's file is missing or its hash changed
    # issue 14: one model for every source (docs/design/operations.md gives each subject)
    CAMERA_OFFLINE = "camera_offline"  # not recording for longer than the grace (camera:<id>)
    RECORDING_GAP = "recording_gap"  # "recording" but no segment sealed for too long (camera:<id>)
    DEVICE_OFFLINE = "device_offline"  # a GB/T 28181 device missed 3 keepalives (device:<id>)
    VOLUME_SPILL = "volume_spill"  # new footage spilled to another volume (volume:<path>)
    DIAGNOSIS = "diagnosis"  # a video quality fault, K samples in a row (camera:<id>:<fault>)
    NETWORK_INTERRUPTION = "network_interruption"  # Xi'an art. 26 ¶2 (site:<id>:interruption:<id>)
    CLOCK_DRIFT = "clock_drift"  # a camera's clock beyond the limit (camera:<id>)
    REPAIR_OVERDUE = "repair_overdue"  # a fault not repaired within the unit's deadline
    DELIVERY_FAILED = "delivery_failed"  # a notification channel keeps failing (channel:<id>)
    # a recorder node's late segment refused for a stale lease token, kept aside (camera:<id>)
    SEGMENT_REFUSED = "segment_refused"


@dataclass(frozen=True)
class Handling:
    """Someone acted on an alarm: who (user id and name), when, and their note."""

    by: int
    by_name: str
    at: datetime
    note: str


@dataclass
class Alarm:
    id: int | None
    kind: AlarmKind
    severity: Severity
    subject: str  # what it is about: "volume:/data/media", "segment:42"
    message: str
    raised_at: datetime
    cleared_at: datetime | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    camera_id: int | None = None  # None: about the whole system (a volume, the recorder)
    acknowledged: Handling | None = None
    resolved: Handling | None = None

    @property
    def is_open(self) -> bool:
        """Open until the condition clears by itself or someone resolves it."""
        return self.cleared_at is None and self.resolved is None


SITE_SUBJECT_PREFIX = "site:"


def site_subject(site_id: int, rest: str) -> str:
    """The subject of an alarm about a whole site (not one camera): ``site:<id>:<rest>``.
    Such an alarm reaches the people and channels of the site's unit."""
    return f"{SITE_SUBJECT_PREFIX}{site_id}:{rest}"


def site_of_subject(subject: str) -> int | None:
    """The site of a ``site:<id>:…`` subject; None for any other subject."""
    if not subject.startswith(SITE_SUBJECT_PREFIX):
        return None
    head = subject[len(SITE_SUBJECT_PREFIX) :].split(":", 1)[0]
    return int(head) if head.isdigit() else None
