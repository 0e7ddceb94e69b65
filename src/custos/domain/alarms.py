"""Alarms: conditions someone must act on, raised once and cleared when they pass."""

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
