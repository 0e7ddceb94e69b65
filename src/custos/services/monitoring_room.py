"""Monitoring rooms (监控室) of a unit and the room's access register.

A room sits at one of the unit's sites and watches a list of cameras, or every camera of the
unit. Who may enter: the persons on the room's rota and those listed as authorised. Everyone who
enters is registered (who, organisation, why, when, who let them in); a person who is neither is
flagged as unrelated — recorded, never refused (the door is not Custos's) — and is a finding of
the compliance report (Xi'an art. 22, Chongqing art. 20: no unrelated persons in the room).

The other duty services (:mod:`custos.services.duty`, :mod:`custos.services.police_reports`)
find rooms through :func:`room_in_reach`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from custos.domain.access import Permission
from custos.domain.audit import AuditEvent
from custos.domain.calendar import shanghai_date
from custos.domain.clock import Clock
from custos.domain.duty import (
    DutySession,
    LogEntry,
    MonitoringRoom,
    PoliceReport,
    RoomEntry,
    RotaEntry,
    Shift,
    check_times,
    is_authorised,
)
from custos.domain.errors import FieldError, NotFound, ValidationFailed
from custos.domain.registry import Site
from custos.domain.users import Principal
from custos.domain.visibility import reaches_site
from custos.services.ports import UnitOfWork
from custos.services.refusals import refusals_logged


class MonitoringRooms(Protocol):
    def add(self, room: MonitoringRoom) -> MonitoringRoom: ...
    def update(self, room: MonitoringRoom) -> None: ...
    def get(self, room_id: int) -> MonitoringRoom | None: ...
    def find(self, unit_ids: Sequence[int] | None = None) -> list[MonitoringRoom]: ...
    def add_entry(self, e: RoomEntry) -> RoomEntry: ...
    def leave(self, entry_id: int, left_at: datetime) -> None: ...
    def get_entry(self, entry_id: int) -> RoomEntry | None: ...
    def entries(self, room_id: int) -> list[RoomEntry]: ...


class DutyRecords(Protocol):
    def add_shift(self, s: Shift) -> Shift: ...
    def shifts(self, room_id: int) -> list[Shift]: ...
    def add_rota(self, e: RotaEntry) -> RotaEntry: ...
    def rota(self, room_id: int, first: date, last: date) -> list[RotaEntry]: ...
    def add_session(self, s: DutySession) -> DutySession: ...
    def update_session(self, s: DutySession) -> None: ...
    def get_session(self, session_id: int) -> DutySession | None: ...
    def sessions(
        self, room_ids: Sequence[int], since: datetime | None = None, open_only: bool = False
    ) -> list[DutySession]: ...
    def append(self, e: LogEntry) -> LogEntry: ...
    def get_entry(self, entry_id: int) -> LogEntry | None: ...
    def log(self, room_id: int, since: datetime | None = None) -> list[LogEntry]: ...


class PoliceReports(Protocol):
    def add(self, r: PoliceReport) -> PoliceReport: ...
    def find(self, room_id: int) -> list[PoliceReport]: ...


class DutyUnitOfWork(UnitOfWork, Protocol):
    """The repositories every duty service reads (rooms, duty records, reports)."""

    @property
    def monitoring_rooms(self) -> MonitoringRooms: ...
    @property
    def duty(self) -> DutyRecords: ...
    @property
    def police_reports(self) -> PoliceReports: ...


def room_in_reach(
    uow: UnitOfWork, actor: Principal, room: MonitoringRoom | None, room_id: int
) -> tuple[MonitoringRoom, Site]:
    """The room and its site, or NotFound when there is none or ``actor`` does not reach it
    (another unit's operator learns nothing of the room)."""
    site = uow.sites.get(room.site_id) if room is not None else None
    if room is None or site is None or not reaches_site(actor, room.unit_id, site.division_code):
        raise NotFound("monitoring_room", room_id)
    return room, site


def get_room(uow: DutyUnitOfWork, actor: Principal, room_id: int) -> tuple[MonitoringRoom, Site]:
    return room_in_reach(uow, actor, uow.monitoring_rooms.get(room_id), room_id)


@dataclass(frozen=True)
class RoomInput:
    site_id: int
    name: str
    camera_ids: tuple[int, ...] = ()
    authorised: tuple[str, ...] = ()


@dataclass(frozen=True)
class EntryInput:
    person_name: str
    reason: str
    entered_at: datetime
    organisation: str = ""
    user_id: int | None = None  # when the person is a Custos user


class MonitoringRoomService:
    def __init__(self, uow: Callable[[], DutyUnitOfWork], clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    # ---- rooms (duty.manage) ------------------------------------------------------------
    def create(self, actor: Principal, data: RoomInput) -> MonitoringRoom:
        actor.require(Permission.DUTY_MANAGE)
        now = self._clock.now()
        logged = refusals_logged(
            self._uow, self._clock, actor, "duty.room.create", "site", data.site_id
        )
        with logged, self._uow() as uow:
            site = uow.sites.get(data.site_id)
            if site is None or not reaches_site(actor, site.unit_id, site.division_code):
                raise NotFound("site", data.site_id)
            room = MonitoringRoom(
                None, site.unit_id, data.site_id, data.name.strip(), (), (), actor.username, now
            )
            room = self._checked(uow, room, data)
            room = uow.monitoring_rooms.add(room)
            uow.audit.append(
                AuditEvent(
                    now,
                    actor.username,
                    "duty.room.create",
                    "monitoring_room",
                    str(room.id),
                    after=room.as_dict(),
                )
            )
            uow.commit()
        return room

    def update(self, actor: Principal, room_id: int, data: RoomInput) -> MonitoringRoom:
        actor.require(Permission.DUTY_MANAGE)
        now = self._clock.now()
        logged = refusals_logged(
            self._uow, self._clock, actor, "duty.room.update", "monitoring_room", room_id
        )
        with logged, self._uow() as uow:
            room, _ = get_room(uow, actor, room_id)
            if data.site_id != room.site_id:
                raise ValidationFailed(
                    FieldError(
                        "site_id",
                        "a room does not move between sites",
                        key="refusal.duty.room_moves",
                    )
                )
            changed = self._checked(uow, room, data)
            uow.monitoring_rooms.update(changed)
            uow.audit.append(
                AuditEvent(
                    now,
                    actor.username,
                    "duty.room.update",
                    "monitoring_room",
                    str(room_id),
                    before=room.as_dict(),
                    after=changed.as_dict(),
                )
            )
            uow.commit()
        return changed

    def _checked(
        self, uow: DutyUnitOfWork, room: MonitoringRoom, data: RoomInput
    ) -> MonitoringRoom:
        errors: list[FieldError] = []
        if not data.name.strip():
            errors.append(
                FieldError("name", "name the monitoring room", key="refusal.duty.room_name_missing")
            )
        unit_sites = {s.id for s in uow.sites.find(room.unit_id)}
        for i, camera_id in enumerate(data.camera_ids):
            cam = uow.cameras.get(camera_id)
            if cam is None or cam.site_id not in unit_sites:
                errors.append(
                    FieldError(
                        f"camera_ids[{i}]",
                        "no such camera in the unit",
                        key="refusal.duty.no_camera",
                    )
                )
        names = tuple(dict.fromkeys(n.strip() for n in data.authorised if n.strip()))
        if errors:
            raise ValidationFailed(errors)
        return dataclasses.replace(
            room,
            name=data.name.strip(),
            camera_ids=tuple(sorted(set(data.camera_ids))),
            authorised=names,
        )

    def rooms(self, actor: Principal, unit_id: int | None = None) -> list[MonitoringRoom]:
        actor.require(Permission.DUTY_READ)
        with self._uow() as uow:
            rooms = uow.monitoring_rooms.find([unit_id] if unit_id is not None else None)
            sites = {s.id: s for s in uow.sites.find()}
            return [
                r
                for r in rooms
                if (s := sites.get(r.site_id)) and reaches_site(actor, r.unit_id, s.division_code)
            ]

    def get(self, actor: Principal, room_id: int) -> MonitoringRoom:
        actor.require(Permission.DUTY_READ)
        with self._uow() as uow:
            return get_room(uow, actor, room_id)[0]

    # ---- the access register (duty.write) ------------------------------------------------
    def enter(self, actor: Principal, room_id: int, data: EntryInput) -> RoomEntry:
        """Register someone entering; whether they are authorised is decided here, from the
        rota of the day and the room's list."""
        actor.require(Permission.DUTY_WRITE)
        now = self._clock.now()
        logged = refusals_logged(
            self._uow, self._clock, actor, "duty.room.enter", "monitoring_room", room_id
        )
        with logged, self._uow() as uow:
            room, _ = get_room(uow, actor, room_id)
            errors = check_times(now, entered_at=data.entered_at)
            if not data.person_name.strip():
                errors.append(
                    FieldError(
                        "person_name",
                        "name the person who entered",
                        key="refusal.duty.person_missing",
                    )
                )
            if not data.reason.strip():
                errors.append(
                    FieldError(
                        "reason", "say why the person entered", key="refusal.duty.reason_missing"
                    )
                )
            if errors:
                raise ValidationFailed(errors)
            day = shanghai_date(data.entered_at)
            rota = uow.duty.rota(room_id, day - timedelta(days=1), day)
            authorised = is_authorised(data.person_name, data.user_id, room, rota)
            entry = uow.monitoring_rooms.add_entry(
                RoomEntry(
                    None,
                    room_id,
                    data.person_name.strip(),
                    data.organisation.strip(),
                    data.reason.strip(),
                    data.entered_at,
                    None,
                    actor.username,
                    actor.user_id,
                    authorised,
                )
            )
            uow.audit.append(
                AuditEvent(
                    now,
                    actor.username,
                    "duty.room.enter",
                    "room_entry",
                    str(entry.id),
                    after=entry.as_dict(),
                )
            )
            uow.commit()
        return entry

    def leave(self, actor: Principal, entry_id: int, left_at: datetime) -> RoomEntry:
        actor.require(Permission.DUTY_WRITE)
        now = self._clock.now()
        logged = refusals_logged(
            self._uow, self._clock, actor, "duty.room.leave", "room_entry", entry_id
        )
        with logged, self._uow() as uow:
            entry = uow.monitoring_rooms.get_entry(entry_id)
            if entry is None:
                raise NotFound("room_entry", entry_id)
            get_room(uow, actor, entry.room_id)
            errors = check_times(now, left_at=left_at)
            if entry.left_at is not None:
                errors.append(
                    FieldError(
                        "left_at",
                        f"already left at {entry.left_at.isoformat()}",
                        key="refusal.duty.already_left",
                        params={"at": entry.left_at.isoformat()},
                    )
                )
            elif not errors and left_at < entry.entered_at:
                errors.append(
                    FieldError(
                        "left_at",
                        "must not be before entered_at",
                        key="refusal.duty.left_before_entered",
                    )
                )
            if errors:
                raise ValidationFailed(errors)
            uow.monitoring_rooms.leave(entry_id, left_at)
            left = dataclasses.replace(entry, left_at=left_at)
            uow.audit.append(
                AuditEvent(
                    now,
                    actor.username,
                    "duty.room.leave",
                    "room_entry",
                    str(entry_id),
                    after=left.as_dict(),
                )
            )
            uow.commit()
        return left

    def entries(self, actor: Principal, room_id: int) -> list[RoomEntry]:
        actor.require(Permission.DUTY_READ)
        with self._uow() as uow:
            get_room(uow, actor, room_id)
            return uow.monitoring_rooms.entries(room_id)
