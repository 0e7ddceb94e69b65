"""Duty (值班) in a monitoring room: signing on and handing over at the wall, and the duty log
(shifts and the rota are in :mod:`custos.services.duty_rota`).

An operator signs on in a room and is on duty until they sign off or hand over. A handover
names the next operator and carries a note; the handing operator stays on duty until the next
one accepts, so the room is never left between the two. The duty log is append-only: a
correction is a new entry that names the entry it corrects.

:meth:`DutyService.on_duty_users` tells alarm delivery who is signed on in a unit's rooms now.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from custos.domain.access import Permission
from custos.domain.audit import AuditEvent
from custos.domain.clock import Clock
from custos.domain.duty import DutySession, LogEntry, check_times
from custos.domain.errors import FieldError, NotFound, PermissionDenied, ValidationFailed
from custos.domain.users import Principal
from custos.services.monitoring_room import DutyUnitOfWork, get_room
from custos.services.refusals import refusals_logged


@dataclass(frozen=True)
class LogInput:
    text: str
    at: datetime | None = None  # when it was seen or done; now when not given
    camera_id: int | None = None
    suspicious: bool = False
    corrects: int | None = None


@dataclass(frozen=True)
class RoomDuty:
    """Who is on duty in a room now, and the handovers waiting to be accepted."""

    room_id: int
    on_duty: list[DutySession]

    def as_dict(self) -> dict[str, Any]:
        return {
            "room_id": self.room_id,
            "on_duty": [s.as_dict() for s in self.on_duty],
            "handovers": [s.as_dict() for s in self.on_duty if s.handover_to is not None],
        }


class DutyService:
    def __init__(self, uow: Callable[[], DutyUnitOfWork], clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    # ---- signing on, handing over, signing off (duty.write) -------------------------------
    def sign_on(self, actor: Principal, room_id: int) -> DutySession:
        actor.require(Permission.DUTY_WRITE)
        now = self._clock.now()
        with self._logged(actor, "duty.sign_on", "monitoring_room", room_id), self._uow() as uow:
            get_room(uow, actor, room_id)
            user_id = _user_id(actor)
            if any(s.user_id == user_id for s in uow.duty.sessions([room_id], open_only=True)):
                raise ValidationFailed(
                    FieldError(
                        "room_id",
                        "you are already on duty here",
                        key="refusal.duty.already_on_duty",
                    )
                )
            session = uow.duty.add_session(DutySession(None, room_id, user_id, actor.username, now))
            self._audit(
                uow, now, actor, "duty.sign_on", "duty_session", session.id, session.as_dict()
            )
            uow.commit()
        return session

    def hand_over(
        self, actor: Principal, session_id: int, to_user_id: int, note: str
    ) -> DutySession:
        """Offer the duty to ``to_user_id`` with a note; it passes when they accept."""
        actor.require(Permission.DUTY_WRITE)
        now = self._clock.now()
        with self._logged(actor, "duty.hand_over", "duty_session", session_id), self._uow() as uow:
            session = self._own_open(uow, actor, session_id)
            room, _ = get_room(uow, actor, session.room_id)
            to = uow.users.get(to_user_id)
            errors = []
            if to is None or not to.active or to.unit_id != room.unit_id:
                errors.append(
                    FieldError(
                        "to_user_id", "no such user in the room's unit", key="refusal.duty.no_user"
                    )
                )
            elif to.id == session.user_id:
                errors.append(
                    FieldError(
                        "to_user_id", "hand over to someone else", key="refusal.duty.handover_self"
                    )
                )
            elif not to.can(Permission.DUTY_WRITE):
                errors.append(
                    FieldError(
                        "to_user_id",
                        "that user's role cannot be on duty",
                        key="refusal.duty.handover_role",
                    )
                )
            if not note.strip():
                errors.append(
                    FieldError(
                        "note",
                        "write a handover note (交接班记录)",
                        key="refusal.duty.handover_note_missing",
                    )
                )
            if errors:
                raise ValidationFailed(errors)
            offered = dataclasses.replace(
                session, handover_to=to_user_id, handover_note=note.strip(), handover_at=now
            )
            uow.duty.update_session(offered)
            self._audit(
                uow, now, actor, "duty.hand_over", "duty_session", session_id, offered.as_dict()
            )
            uow.commit()
        return offered

    def accept(self, actor: Principal, session_id: int) -> DutySession:
        """The named operator accepts a handover: the handing session ends and theirs begins."""
        actor.require(Permission.DUTY_WRITE)
        now = self._clock.now()
        with self._logged(actor, "duty.accept", "duty_session", session_id), self._uow() as uow:
            handing = uow.duty.get_session(session_id)
            if handing is None:
                raise NotFound("duty_session", session_id)
            get_room(uow, actor, handing.room_id)
            if not handing.open or handing.handover_to is None:
                raise ValidationFailed(
                    FieldError(
                        "session_id", "no handover is waiting here", key="refusal.duty.no_handover"
                    )
                )
            if handing.handover_to != actor.user_id:
                raise PermissionDenied("the handover is offered to someone else")
            uow.duty.update_session(dataclasses.replace(handing, signed_off_at=now))
            open_here = uow.duty.sessions([handing.room_id], open_only=True)
            mine = next((s for s in open_here if s.user_id == actor.user_id), None)
            taking = mine or uow.duty.add_session(
                DutySession(None, handing.room_id, _user_id(actor), actor.username, now)
            )
            taking = dataclasses.replace(taking, follows=session_id)
            uow.duty.update_session(taking)
            self._audit(
                uow,
                now,
                actor,
                "duty.accept",
                "duty_session",
                taking.id,
                {**taking.as_dict(), "handover_note": handing.handover_note},
            )
            uow.commit()
        return taking

    def sign_off(self, actor: Principal, session_id: int) -> DutySession:
        actor.require(Permission.DUTY_WRITE)
        now = self._clock.now()
        with self._logged(actor, "duty.sign_off", "duty_session", session_id), self._uow() as uow:
            session = self._own_open(uow, actor, session_id)
            ended = dataclasses.replace(session, signed_off_at=now)
            uow.duty.update_session(ended)
            self._audit(
                uow, now, actor, "duty.sign_off", "duty_session", session_id, ended.as_dict()
            )
            uow.commit()
        return ended

    def status(self, actor: Principal, room_id: int) -> RoomDuty:
        actor.require(Permission.DUTY_READ)
        with self._uow() as uow:
            get_room(uow, actor, room_id)
            return RoomDuty(room_id, uow.duty.sessions([room_id], open_only=True))

    def sessions(self, actor: Principal, room_id: int, since: datetime) -> list[DutySession]:
        actor.require(Permission.DUTY_READ)
        with self._uow() as uow:
            get_room(uow, actor, room_id)
            return uow.duty.sessions([room_id], since=since)

    def colleagues(self, actor: Principal, room_id: int) -> list[dict[str, Any]]:
        """The users of the room's unit who may be on duty there (to hand over to)."""
        actor.require(Permission.DUTY_READ)
        with self._uow() as uow:
            room, _ = get_room(uow, actor, room_id)
            return [
                {"id": u.id, "username": u.username, "full_name": u.full_name}
                for u in uow.users.find()
                if u.unit_id == room.unit_id and u.can(Permission.DUTY_WRITE)
            ]

    def on_duty_users(self, unit_id: int) -> list[int]:
        """The users signed on now in any monitoring room of the unit (for alarm delivery)."""
        with self._uow() as uow:
            rooms = [r.id for r in uow.monitoring_rooms.find([unit_id]) if r.id is not None]
            sessions = uow.duty.sessions(rooms, open_only=True) if rooms else []
            return sorted({s.user_id for s in sessions})

    # ---- the duty log (append-only) -------------------------------------------------------
    def write(self, actor: Principal, room_id: int, data: LogInput) -> LogEntry:
        actor.require(Permission.DUTY_WRITE)
        now = self._clock.now()
        with self._logged(actor, "duty.log.write", "monitoring_room", room_id), self._uow() as uow:
            room, _ = get_room(uow, actor, room_id)
            at = data.at or now
            errors = check_times(now, at=at)
            if not data.text.strip():
                errors.append(
                    FieldError(
                        "text", "write what was seen or done", key="refusal.duty.text_missing"
                    )
                )
            if data.camera_id is not None:
                cam = uow.cameras.get(data.camera_id)
                unit_sites = {s.id for s in uow.sites.find(room.unit_id)}
                if cam is None or cam.site_id not in unit_sites:
                    errors.append(
                        FieldError(
                            "camera_id",
                            "no such camera in the room's unit",
                            key="refusal.duty.no_camera",
                        )
                    )
            if data.corrects is not None:
                old = uow.duty.get_entry(data.corrects)
                if old is None or old.room_id != room_id:
                    errors.append(
                        FieldError(
                            "corrects",
                            "no such entry in this room's log",
                            key="refusal.duty.no_entry",
                        )
                    )
            if errors:
                raise ValidationFailed(errors)
            mine = [
                s
                for s in uow.duty.sessions([room_id], open_only=True)
                if s.user_id == actor.user_id
            ]
            entry = uow.duty.append(
                LogEntry(
                    None,
                    room_id,
                    mine[0].id if mine else None,
                    at,
                    data.camera_id,
                    data.text.strip(),
                    data.suspicious,
                    data.corrects,
                    actor.username,
                    now,
                )
            )
            self._audit(uow, now, actor, "duty.log.write", "duty_log", entry.id, entry.as_dict())
            uow.commit()
        return entry

    def log(self, actor: Principal, room_id: int, since: datetime | None = None) -> list[LogEntry]:
        actor.require(Permission.DUTY_READ)
        with self._uow() as uow:
            get_room(uow, actor, room_id)
            return uow.duty.log(room_id, since)

    # ---- helpers --------------------------------------------------------------------------
    def _own_open(self, uow: DutyUnitOfWork, actor: Principal, session_id: int) -> DutySession:
        session = uow.duty.get_session(session_id)
        if session is None:
            raise NotFound("duty_session", session_id)
        get_room(uow, actor, session.room_id)
        if session.user_id != actor.user_id:
            raise PermissionDenied("only the operator on duty may hand over or sign off")
        if not session.open:
            raise ValidationFailed(
                FieldError(
                    "session_id", "this duty has already ended", key="refusal.duty.duty_ended"
                )
            )
        return session

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


def _user_id(actor: Principal) -> int:
    if actor.user_id is None:
        raise ValidationFailed(
            FieldError(
                "user", "only a signed-in person can be on duty", key="refusal.duty.not_a_person"
            )
        )
    return actor.user_id
