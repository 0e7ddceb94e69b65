"""The unit's monitoring and O&M staff archive (监看人员档案) and their trainings (培训).

Chongqing art. 20(3) and Xi'an art. 22(3) ask for an archive of the monitoring staff; every
pack but Decree 799 asks that monitoring and O&M staff be trained (Beijing art. 12(1), Liaoning
art. 14(1), Shaanxi art. 16(2), Chongqing art. 20(2), Xi'an art. 22(2)). The contents a
training must cover and how often are ``EffectiveRules.operating.training_contents`` and
``training_interval_days``.

A staff member's ID-card number is personal information: the archive keeps it encrypted and
shows only its masked form (``110105********123X``); it never enters a log, a repr or the
operation log.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from custos.domain.errors import FieldError
from custos.domain.rules.terms import TrainingContent

MAX_TRAINING_HOURS = 200


class StaffRole(enum.StrEnum):
    MONITORING = "monitoring"  # 监看人员
    MAINTENANCE = "maintenance"  # 操作维护人员
    MANAGER = "manager"  # 管理人员


#: The roles the training duty binds (监看、操作维护等人员).
TRAINED_ROLES = frozenset({StaffRole.MONITORING, StaffRole.MAINTENANCE})

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id_number_error(number: str) -> FieldError | None:
    """An 18-character resident ID number (GB 11643-1999) with a valid check character."""
    n = number.strip().upper()
    if len(n) != 18 or not n[:17].isascii() or not n[:17].isdigit() or n[17] not in _ID_CHECK:
        return FieldError(
            "id_number",
            "an ID-card number has 17 digits and a check digit or X (GB 11643)",
            key="refusal.id_number_format",
        )
    total = sum(int(d) * w for d, w in zip(n[:17], _ID_WEIGHTS, strict=True))
    if _ID_CHECK[total % 11] != n[17]:
        return FieldError(
            "id_number",
            "the check digit of the ID-card number does not match",
            key="refusal.id_number_check",
        )
    return None


def mask_id_number(number: str) -> str:
    """The first 6 and last 4 characters: enough to tell two people apart on a list."""
    n = number.strip().upper()
    return n[:6] + "*" * (len(n) - 10) + n[-4:]


@dataclass(frozen=True)
class StaffMember:
    """A person in the archive. ``contractor_id`` None: employed by the unit itself."""

    id: int | None
    unit_id: int
    name: str
    role: StaffRole
    id_number_masked: str
    hired_on: date
    left_on: date | None
    contractor_id: int | None
    user_id: int | None
    recorded_by: str
    recorded_at: datetime
    id_number: str | None = field(default=None, repr=False, compare=False)
    """The full number, only on the way in (to be encrypted); never read back."""

    def employed_on(self, day: date) -> bool:
        return self.hired_on <= day and (self.left_on is None or day <= self.left_on)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "unit_id": self.unit_id,
            "name": self.name,
            "role": self.role.value,
            "id_number_masked": self.id_number_masked,
            "hired_on": self.hired_on.isoformat(),
            "left_on": self.left_on.isoformat() if self.left_on else None,
            "contractor_id": self.contractor_id,
            "user_id": self.user_id,
            "recorded_by": self.recorded_by,
            "recorded_at": self.recorded_at.isoformat(),
        }


def check_member(m: StaffMember, today: date) -> list[FieldError]:
    errors: list[FieldError] = []
    if not m.name.strip():
        errors.append(FieldError("name", "name the person"))
    if m.id_number is not None and (e := id_number_error(m.id_number)) is not None:
        errors.append(e)
    if m.hired_on > today:
        errors.append(FieldError("hired_on", "is in the future"))
    if m.left_on is not None and m.left_on < m.hired_on:
        errors.append(FieldError("left_on", "must not be before hired_on"))
    return errors


@dataclass(frozen=True)
class Training:
    id: int | None
    unit_id: int
    held_on: date
    contents: frozenset[TrainingContent]
    trainer: str
    hours: int
    attendee_ids: tuple[int, ...]
    recorded_by: str
    recorded_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "unit_id": self.unit_id,
            "held_on": self.held_on.isoformat(),
            "contents": sorted(c.value for c in self.contents),
            "trainer": self.trainer,
            "hours": self.hours,
            "attendee_ids": list(self.attendee_ids),
            "recorded_by": self.recorded_by,
            "recorded_at": self.recorded_at.isoformat(),
        }


def check_training(t: Training, today: date, archive: Iterable[StaffMember]) -> list[FieldError]:
    errors: list[FieldError] = []
    if t.held_on > today:
        errors.append(FieldError("held_on", "is in the future"))
    if not t.contents:
        errors.append(FieldError("contents", "name at least one content"))
    if not t.trainer.strip():
        errors.append(FieldError("trainer", "name the trainer"))
    if not 1 <= t.hours <= MAX_TRAINING_HOURS:
        errors.append(FieldError("hours", f"must be 1 to {MAX_TRAINING_HOURS}"))
    known = {m.id for m in archive if m.unit_id == t.unit_id}
    if not t.attendee_ids:
        errors.append(FieldError("attendee_ids", "name at least one attendee"))
    errors += [
        FieldError(f"attendee_ids[{i}]", f"staff {s} is not in this unit's archive")
        for i, s in enumerate(t.attendee_ids)
        if s not in known
    ]
    return errors


@dataclass(frozen=True)
class TrainedVerdict:
    """Whether a person counts as trained on a day, and why not."""

    trained: bool
    last_training: date | None
    missing: frozenset[TrainingContent]

    def as_dict(self) -> dict[str, Any]:
        return {
            "trained": self.trained,
            "last_training": self.last_training.isoformat() if self.last_training else None,
            "missing": sorted(c.value for c in self.missing),
        }


def is_trained(
    trainings: Iterable[Training],
    staff_id: int,
    on: date,
    interval_days: int | None,
    required: frozenset[TrainingContent],
) -> TrainedVerdict:
    """Trained on ``on``: trainings attended within the last ``interval_days`` days (up to and
    including ``on``) cover every required content. No interval (no pack requires training):
    any training counts."""
    attended = [t for t in trainings if staff_id in t.attendee_ids and t.held_on <= on]
    last = max((t.held_on for t in attended), default=None)
    if interval_days is not None:
        since = on - timedelta(days=interval_days)
        attended = [t for t in attended if t.held_on > since]
    covered = frozenset(c for t in attended for c in t.contents)
    missing = required - covered
    return TrainedVerdict(bool(attended) and not missing, last, missing)
