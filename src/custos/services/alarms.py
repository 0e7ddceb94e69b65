"""Alarms: raised and cleared by the watchers, seen and handled by people.

The watchers (storage projection, recorder state, scrub) *raise* an alarm once per kind and
subject and *clear* it when the condition passes. A person who may see it can *acknowledge* it
(who, when, a note) and *resolve* it (who, when, a note; this closes it). Both enter the operation
log. What a person sees: alarms about a camera only if that camera is in their reach
(``domain.visibility``); alarms about the whole system (a volume, the recorder) to everyone with
``storage.read``. Seeing alarms needs ``alarm.read`` (issue 14: operators on duty have it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from custos.domain.access import Permission
from custos.domain.alarms import Alarm, AlarmKind, Handling, Severity, site_of_subject
from custos.domain.audit import AuditEvent
from custos.domain.clock import Clock
from custos.domain.errors import InvalidTransition, NotFound
from custos.domain.users import Principal
from custos.domain.visibility import reaches_camera, reaches_site
from custos.services.ports import RetentionUnitOfWork, RetentionUnitOfWorkFactory

MAX_ALARMS = 500


@dataclass(frozen=True)
class AlarmFilter:
    open_only: bool = True
    severity: Severity | None = None
    camera_id: int | None = None
    site_id: int | None = None
    limit: int = MAX_ALARMS


class AlarmService:
    def __init__(self, uow: RetentionUnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    # ---- the watchers ---------------------------------------------------------------------
    def raise_(self, kind: AlarmKind, severity: Severity, subject: str, message: str,
               detail: dict[str, Any] | None = None, camera_id: int | None = None) -> Alarm:  # fmt: skip
        """Raise once: an open alarm of the same kind and subject is kept (severity updated)."""
        now = self._clock.now()
        with self._uow() as uow:
            open_ = uow.alarms.open_for(kind, subject)
            if open_ is not None and open_.severity is severity and open_.resolved is None:
                return open_
            if open_ is not None and open_.id is not None:
                uow.alarms.clear(open_.id, now)
            alarm = uow.alarms.add(
                Alarm(None, kind, severity, subject, message, now, None, detail or {}, camera_id)
            )
            detail_ = {"kind": kind.value, "severity": severity.value, "subject": subject,
                       "message": message}  # fmt: skip
            uow.audit.append(
                AuditEvent(now, "system", "alarm.raise", "alarm", str(alarm.id), detail=detail_)
            )
            uow.commit()
            return alarm

    def clear(self, kind: AlarmKind, subject: str) -> bool:
        now = self._clock.now()
        with self._uow() as uow:
            open_ = uow.alarms.open_for(kind, subject)
            if open_ is None or open_.id is None:
                return False
            uow.alarms.clear(open_.id, now)
            uow.audit.append(AuditEvent(now, "system", "alarm.clear", "alarm", str(open_.id)))
            uow.commit()
            return True

    # ---- people ---------------------------------------------------------------------------
    def find(
        self, actor: Principal, open_only: bool = True, where: AlarmFilter | None = None
    ) -> list[Alarm]:
        """The alarms the actor may see, newest first (``where`` narrows them)."""
        actor.require(Permission.ALARM_READ)
        f = where or AlarmFilter(open_only=open_only)
        with self._uow() as uow:
            sites, reach = _reach(uow, actor, f.site_id)
            narrowed = f.camera_id is not None or f.site_id is not None
            if f.camera_id is not None:
                reach, sites = reach & {f.camera_id}, set()
            # reach goes into the query, so the limit counts only what the actor may see
            return uow.alarms.find(
                f.open_only, f.limit, f.severity, sorted(reach),
                with_system=not narrowed and actor.can(Permission.STORAGE_READ),
                site_ids=sorted(sites),
            )  # fmt: skip

    def get(self, actor: Principal, alarm_id: int) -> Alarm:
        actor.require(Permission.ALARM_READ)
        with self._uow() as uow:
            return _visible(uow, actor, alarm_id)

    def acknowledge(self, actor: Principal, alarm_id: int, note: str) -> Alarm:
        """I have seen it: who, when and a note. An alarm is acknowledged once, while open."""
        return self._handle(actor, alarm_id, "acknowledged", note)

    def resolve(self, actor: Principal, alarm_id: int, note: str) -> Alarm:
        """It is dealt with: who, when and a note; the alarm is closed."""
        return self._handle(actor, alarm_id, "resolved", note)

    def _handle(self, actor: Principal, alarm_id: int, step: str, note: str) -> Alarm:
        actor.require(Permission.ALARM_HANDLE)
        now = self._clock.now()
        with self._uow() as uow:
            alarm = _visible(uow, actor, alarm_id)
            if not alarm.is_open:
                raise InvalidTransition("closed", step, field="alarm", reason="the alarm is closed")
            if step == "acknowledged" and alarm.acknowledged is not None:
                raise InvalidTransition(
                    "acknowledged", step, field="alarm", reason="the alarm is already acknowledged"
                )
            done = Handling(actor.user_id or 0, actor.full_name or actor.username, now, note)
            uow.alarms.record(alarm_id, step, done)
            action = "alarm.acknowledge" if step == "acknowledged" else "alarm.resolve"
            detail = {"kind": alarm.kind.value, "subject": alarm.subject, "note": note}
            uow.audit.append(
                AuditEvent(now, actor.username, action, "alarm", str(alarm_id), detail=detail)
            )
            uow.commit()
            handled = uow.alarms.get(alarm_id)
        assert handled is not None
        return handled


def _reach(
    uow: RetentionUnitOfWork, actor: Principal, site_id: int | None
) -> tuple[set[int], set[int]]:
    """The sites and the cameras the actor reaches (``site_id``: within that site only)."""
    sites = [s for s in uow.sites.find() if site_id is None or s.id == site_id]
    by_id = {s.id: s for s in sites if reaches_site(actor, s.unit_id, s.division_code)}
    cameras = {
        cam.id
        for cam in uow.cameras.find([i for i in by_id if i is not None])
        if cam.id is not None
        and reaches_camera(actor, by_id[cam.site_id].unit_id, cam.site_id, cam.id)
    }
    return {i for i in by_id if i is not None}, cameras


def _reachable_cameras(uow: RetentionUnitOfWork, actor: Principal, site_id: int | None) -> set[int]:
    return _reach(uow, actor, site_id)[1]


def _visible(uow: RetentionUnitOfWork, actor: Principal, alarm_id: int) -> Alarm:
    alarm = uow.alarms.get(alarm_id)
    if alarm is None or (
        alarm.camera_id is not None and alarm.camera_id not in _reachable_cameras(uow, actor, None)
    ):
        raise NotFound("alarm", alarm_id)
    site = site_of_subject(alarm.subject) if alarm is not None else None
    if alarm.camera_id is None and site is not None:  # about a whole site: its unit's people
        if site in _reach(uow, actor, site)[0] or actor.can(Permission.STORAGE_READ):
            return alarm
        raise NotFound("alarm", alarm_id)
    if alarm.camera_id is None and not actor.can(Permission.STORAGE_READ):  # a system alarm
        raise NotFound("alarm", alarm_id)
    return alarm
