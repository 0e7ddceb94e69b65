"""Duty (值班) in a unit's monitoring room (监控室): shifts, who is signed on, the duty log, reports
of suspicious information to the police, and who entered the room.

The rules (Chongqing art. 20, Xi'an art. 22, Beijing art. 13 …) ask the operating unit to keep
duty monitoring, to report suspicious information to the police promptly (Xi'an: immediately),
and to keep unrelated persons out of the monitoring room. This module holds the records as plain
data and the pure judgements on them: when a shift runs (local Asia/Shanghai times that may cross
midnight), whether a shift was covered, when a report was due, and the findings.

Times of day are Shanghai wall-clock times; a shift "of" a day starts on that Shanghai date and,
when its end is not after its start, ends on the next one (a night shift 20:00–08:00 of the 20th
ends at 08:00 on the 21st). Every instant stored is an aware UTC datetime.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from custos.domain.calendar import SHANGHAI, shanghai_date
from custos.domain.errors import FieldError


class ReportChannel(enum.StrEnum):
    PHONE_110 = "phone_110"  # 拨打 110
    PHONE_OTHER = "phone_other"  # the local station's number
    IN_PERSON = "in_person"  # 当面报告
    PLATFORM = "platform"  # the police's networked platform (联网平台)
    OTHER = "other"


@dataclass(frozen=True)
class MonitoringRoom:
    """A unit's monitoring room, at one of its sites; it watches ``camera_ids`` (empty: every
    camera of the unit). ``authorised`` names the persons besides the rota who may enter."""

    id: int | None
    unit_id: int
    site_id: int
    name: str
    camera_ids: tuple[int, ...]
    authorised: tuple[str, ...]
    created_by: str
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "unit_id": self.unit_id,
            "site_id": self.site_id,
            "name": self.name,
            "camera_ids": list(self.camera_ids),
            "whole_unit": not self.camera_ids,
            "authorised": list(self.authorised),
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True)
class Shift:
    """A shift of a room: from ``starts`` to ``ends`` (Shanghai times; crosses midnight when
    ``ends`` is not after ``starts``). ``requires_duty``: someone must be signed on throughout.
    ``created_at``: the shift binds from then on, never for the days before it existed."""

    id: int | None
    room_id: int
    name: str
    starts: time
    ends: time
    requires_duty: bool = True
    created_at: datetime | None = None

    @property
    def crosses_midnight(self) -> bool:
        return self.ends <= self.starts

    def window(self, day: date) -> tuple[datetime, datetime]:
        """The shift of Shanghai date ``day``, as aware instants (start, end)."""
        start = datetime.combine(day, self.starts, tzinfo=SHANGHAI)
        end_day = day + timedelta(days=1) if self.crosses_midnight else day
        return start, datetime.combine(end_day, self.ends, tzinfo=SHANGHAI)

    def day_of(self, moment: datetime) -> date | None:
        """The Shanghai date of the shift that ``moment`` falls in, or None outside the shift."""
        today = shanghai_date(moment)
        for day in (today, today - timedelta(days=1)):
            start, end = self.window(day)
            if start <= moment < end:
                return day
        return None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "room_id": self.room_id,
            "name": self.name,
            "starts": self.starts.strftime("%H:%M"),
            "ends": self.ends.strftime("%H:%M"),
            "crosses_midnight": self.crosses_midnight,
            "requires_duty": self.requires_duty,
            "created_at": self.created_at.isoformat() if self.created_at else None,
        }


@dataclass(frozen=True)
class RotaEntry:
    """A person on a shift of a Shanghai date: a Custos user, or named staff without a login."""

    id: int | None
    room_id: int
    shift_id: int
    day: date
    user_id: int | None
    person_name: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "room_id": self.room_id,
            "shift_id": self.shift_id,
            "day": self.day.isoformat(),
            "user_id": self.user_id,
            "person_name": self.person_name,
        }


@dataclass(frozen=True)
class DutySession:
    """One operator's time on duty in a room: signed on, then signed off or handed over.

    A handover names the next operator and a note; it ends this session only when that operator
    accepts, at which moment their session begins (``follows`` points back here)."""

    id: int | None
    room_id: int
    user_id: int
    username: str
    signed_on_at: datetime
    signed_off_at: datetime | None = None
    follows: int | None = None
    handover_to: int | None = None
    handover_note: str = ""
    handover_at: datetime | None = None

    @property
    def open(self) -> bool:
        return self.signed_off_at is None

    def as_dict(self) -> dict[str, Any]:
        def iso(at: datetime | None) -> str | None:
            return at.isoformat() if at else None

        return {
            "id": self.id,
            "room_id": self.room_id,
            "user_id": self.user_id,
            "username": self.username,
            "signed_on_at": self.signed_on_at.isoformat(),
            "signed_off_at": iso(self.signed_off_at),
            "follows": self.follows,
            "handover_to": self.handover_to,
            "handover_note": self.handover_note,
            "handover_at": iso(self.handover_at),
            "open": self.open,
        }


@dataclass(frozen=True)
class LogEntry:
    """A line of the duty log: append-only; a correction is a new entry naming the old one."""

    id: int | None
    room_id: int
    session_id: int | None
    at: datetime  # when it was seen or done
    camera_id: int | None
    text: str
    suspicious: bool
    corrects: int | None
    written_by: str
    written_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "room_id": self.room_id,
            "session_id": self.session_id,
            "at": self.at.isoformat(),
            "day": shanghai_date(self.at).isoformat(),
            "camera_id": self.camera_id,
            "text": self.text,
            "suspicious": self.suspicious,
            "corrects": self.corrects,
            "written_by": self.written_by,
            "written_at": self.written_at.isoformat(),
        }


@dataclass(frozen=True)
class PoliceReport:
    """A report of suspicious information to a public-security organ."""

    id: int | None
    room_id: int
    entry_id: int | None  # the duty-log entry it reports, if any
    seen_at: datetime
    reported_at: datetime
    organ: str  # e.g. 西安市公安局雁塔分局小寨派出所
    organ_code: str
    channel: ReportChannel
    reference: str  # the receipt or case number the police gave
    what: str
    recorded_by: str
    recorded_at: datetime

    @property
    def delay(self) -> timedelta:
        return self.reported_at - self.seen_at

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "room_id": self.room_id,
            "entry_id": self.entry_id,
            "seen_at": self.seen_at.isoformat(),
            "reported_at": self.reported_at.isoformat(),
            "reported_day": shanghai_date(self.reported_at).isoformat(),
            "delay_minutes": round(self.delay.total_seconds() / 60, 1),
            "organ": self.organ,
            "organ_code": self.organ_code,
            "channel": self.channel.value,
            "reference": self.reference,
            "what": self.what,
            "recorded_by": self.recorded_by,
            "recorded_at": self.recorded_at.isoformat(),
        }


@dataclass(frozen=True)
class RoomEntry:
    """Someone who entered the monitoring room: who, when, why, who let them in, and whether
    they were authorised (on the room's rota or listed as authorised) when they came in."""

    id: int | None
    room_id: int
    person_name: str
    organisation: str
    reason: str
    entered_at: datetime
    left_at: datetime | None
    let_in_by: str
    let_in_by_user_id: int | None
    authorised: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "room_id": self.room_id,
            "person_name": self.person_name,
            "organisation": self.organisation,
            "reason": self.reason,
            "entered_at": self.entered_at.isoformat(),
            "left_at": self.left_at.isoformat() if self.left_at else None,
            "let_in_by": self.let_in_by,
            "authorised": self.authorised,
            "unrelated": not self.authorised,
        }


# ---- checks on input ----------------------------------------------------------------------
def check_times(now: datetime, **moments: datetime | None) -> list[FieldError]:
    """Each moment carries a zone and is not in the future."""
    errors: list[FieldError] = []
    for name, at in moments.items():
        if at is None:
            continue
        if at.tzinfo is None or at.utcoffset() is None:
            errors.append(
                FieldError(
                    name,
                    "must carry a time zone",
                    key="refusal.duty.no_zone",
                    params={"field": name},
                )
            )
        elif at > now:
            errors.append(
                FieldError(
                    name, "is in the future", key="refusal.duty.future", params={"field": name}
                )
            )
    return errors


def check_report(r: PoliceReport, now: datetime) -> list[FieldError]:
    errors = check_times(now, seen_at=r.seen_at, reported_at=r.reported_at)
    if not r.organ.strip():
        errors.append(
            FieldError(
                "organ",
                "name the public-security organ reported to",
                key="refusal.duty.organ_missing",
            )
        )
    if not r.what.strip():
        errors.append(FieldError("what", "say what was reported", key="refusal.duty.what_missing"))
    if not errors and r.reported_at < r.seen_at:
        errors.append(
            FieldError(
                "reported_at", "must not be before seen_at", key="refusal.duty.reported_before_seen"
            )
        )
    return errors


def is_authorised(person_name: str, user_id: int | None, room: MonitoringRoom,
                  rota: Iterable[RotaEntry]) -> bool:  # fmt: skip
    """On the room's rota (as a user, or by name), or listed among the room's authorised."""
    name = person_name.strip()
    if name in room.authorised:
        return True
    return any(
        (user_id is not None and e.user_id == user_id) or (name and e.person_name == name)
        for e in rota
    )
