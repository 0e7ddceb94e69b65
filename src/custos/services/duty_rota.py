"""Shifts and the rota of a monitoring room: the shifts' local times (Asia/Shanghai, a night
shift ending the next day) and who is on which shift of which Shanghai date — a user of the
room's unit or named staff without a login. Unit managers (duty.manage) set them; the people of
the unit read them (duty.read). The rota also says who may enter the room
(:mod:`custos.services.monitoring_room`), and the shifts that require duty are what the coverage
findings judge (:mod:`custos.services.police_reports`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from custos.domain.access import Permission
from custos.domain.audit import AuditEvent
from custos.domain.clock import Clock
from custos.domain.duty import RotaEntry, Shift
from custos.domain.errors import FieldError, ValidationFailed
from custos.domain.users import Principal
from custos.services.monitoring_room import DutyUnitOfWork, get_room
from custos.services.refusals import refusals_logged

#: The longest stretch of rota one request may read.
ROTA_MAX_DAYS = 62


@dataclass(frozen=True)
class ShiftInput:
    name: str
    starts: time
    ends: time
    requires_duty: bool = True


class DutyRotaService:
    def __init__(self, uow: Callable[[], DutyUnitOfWork], clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    # ---- shifts and the rota (duty.manage to change, duty.read to see) --------------------
    def add_shift(self, actor: Principal, room_id: int, data: ShiftInput) -> Shift:
        actor.require(Permission.DUTY_MANAGE)
        now = self._clock.now()
        with (
            self._logged(actor, "duty.shift.create", "monitoring_room", room_id),
            self._uow() as uow,
        ):
            get_room(uow, actor, room_id)
            errors = []
            if not data.name.strip():
                errors.append(
                    FieldError("name", "name the shift", key="refusal.duty.shift_name_missing")
                )
            if data.starts == data.ends:
                errors.append(
                    FieldError(
                        "ends",
                        "must differ from starts (a shift has a length)",
                        key="refusal.duty.shift_empty",
                    )
                )
            if errors:
                raise ValidationFailed(errors)
            shift = uow.duty.add_shift(
                Shift(
                    None,
                    room_id,
                    data.name.strip(),
                    data.starts,
                    data.ends,
                    data.requires_duty,
                    now,
                )
            )
            self._audit(
                uow, now, actor, "duty.shift.create", "duty_shift", shift.id, shift.as_dict()
            )
            uow.commit()
        return shift

    def shifts(self, actor: Principal, room_id: int) -> list[Shift]:
        actor.require(Permission.DUTY_READ)
        with self._uow() as uow:
            get_room(uow, actor, room_id)
            return uow.duty.shifts(room_id)

    def assign(
        self,
        actor: Principal,
        room_id: int,
        shift_id: int,
        day: date,
        user_id: int | None,
        person_name: str,
    ) -> RotaEntry:
        """Put a person on a shift of a Shanghai date: a user of the room's unit, or named staff."""
        actor.require(Permission.DUTY_MANAGE)
        now = self._clock.now()
        with (
            self._logged(actor, "duty.rota.assign", "monitoring_room", room_id),
            self._uow() as uow,
        ):
            room, _ = get_room(uow, actor, room_id)
            errors = []
            if all(s.id != shift_id for s in uow.duty.shifts(room_id)):
                errors.append(
                    FieldError(
                        "shift_id", "no such shift in this room", key="refusal.duty.no_shift"
                    )
                )
            name = person_name.strip()
            if user_id is not None:
                user = uow.users.get(user_id)
                if user is None or user.unit_id != room.unit_id:
                    errors.append(
                        FieldError(
                            "user_id", "no such user in the room's unit", key="refusal.duty.no_user"
                        )
                    )
                else:
                    name = name or user.full_name or user.username
            if not name:
                errors.append(
                    FieldError(
                        "person_name",
                        "name the person, or give a user_id",
                        key="refusal.duty.person_missing",
                    )
                )
            if errors:
                raise ValidationFailed(errors)
            entry = uow.duty.add_rota(RotaEntry(None, room_id, shift_id, day, user_id, name))
            self._audit(uow, now, actor, "duty.rota.assign", "duty_rota", entry.id, entry.as_dict())
            uow.commit()
        return entry

    def rota(self, actor: Principal, room_id: int, first: date, last: date) -> list[RotaEntry]:
        actor.require(Permission.DUTY_READ)
        if last < first or (last - first).days > ROTA_MAX_DAYS:
            raise ValidationFailed(
                FieldError(
                    "to",
                    f"must be on or after from, and at most {ROTA_MAX_DAYS} days on",
                    key="refusal.duty.rota_range",
                    params={"days": ROTA_MAX_DAYS},
                )
            )
        with self._uow() as uow:
            get_room(uow, actor, room_id)
            return uow.duty.rota(room_id, first, last)

    def _logged(self, actor: Principal, action: str, kind: str, obj_id: int) -> Any:
        return refusals_logged(self._uow, self._clock, actor, action, kind, obj_id)

    @staticmethod
    def _audit(
        uow: DutyUnitOfWork,
        now: datetime,
        actor: Principal,
        action: str,
        kind: str,
        obj_id: int | None,
        after: dict[str, Any],
    ) -> None:
        uow.audit.append(AuditEvent(now, actor.username, action, kind, str(obj_id), after=after))
