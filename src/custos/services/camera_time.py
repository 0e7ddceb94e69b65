"""Camera clocks: drift measured at onboarding and daily, corrected where the unit allows.

Drift is camera UTC − server UTC at the middle of the request's round trip
(:class:`~custos.domain.onvif.ClockReading`). Beyond the limit (``CUSTOS_CLOCK_DRIFT_LIMIT_S``,
2 s) it raises ``clock_drift`` on ``camera:<id>``; back within, the alarm clears. Where the
unit's ``camera_time_sync`` is on, Custos sets the camera's clock (SetSystemDateAndTime, manual,
UTC) and measures again; each setting is in the operation log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from custos.domain.access import Permission
from custos.domain.alarms import AlarmKind, Severity
from custos.domain.audit import AuditEvent
from custos.domain.clock import Clock
from custos.domain.errors import NotFound, PermissionDenied, ValidationFailed
from custos.domain.onvif import DAILY, ClockReading, OnvifLink, drift_exceeds
from custos.domain.registry import RECORDING_STATES
from custos.domain.users import Principal
from custos.services.alarms import AlarmService
from custos.services.onvif_ports import (
    OnvifClient,
    OnvifLinks,
    OnvifUnitSettings,
    reached_camera,
    reaches_unit,
)
from custos.services.ports import UnitOfWork
from custos.services.refusals import refusals_logged

log = logging.getLogger(__name__)


class CameraTimeUnitOfWork(UnitOfWork, Protocol):
    @property
    def onvif_links(self) -> OnvifLinks: ...
    @property
    def onvif_settings(self) -> OnvifUnitSettings: ...


@dataclass(frozen=True)
class ClockCheck:
    camera_id: int
    drift_s: float  # as measured first
    round_trip_s: float
    limit_s: float
    set: bool  # Custos set the camera's clock
    drift_after_s: float | None  # measured again after setting it
    alarm: bool  # the drift (after any setting) is beyond the limit

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class CameraTimeService:
    def __init__(
        self,
        uow: Callable[[], CameraTimeUnitOfWork],
        client: OnvifClient,
        alarms: AlarmService,
        clock: Clock,
        limit_s: float,
    ) -> None:
        self._uow = uow
        self._client = client
        self._alarms = alarms
        self._clock = clock
        self._limit_s = limit_s

    @property
    def limit_s(self) -> float:
        return self._limit_s

    def read(self, link: OnvifLink) -> ClockReading:
        sent = self._clock.now()
        camera = self._client.camera_utc(link.xaddr, link.credentials)
        return ClockReading(sent, camera, self._clock.now())

    def check(self, actor: Principal, camera_id: int) -> ClockCheck:
        """Measure one camera's clock now (and set it, where the unit allows)."""
        actor.require(Permission.ONVIF_ONBOARD)
        with refusals_logged(self._uow, self._clock, actor, "onvif.clock.check", "camera",
                             camera_id):  # fmt: skip
            with self._uow() as uow:
                reached_camera(uow, actor, camera_id)
                link = uow.onvif_links.get(camera_id)
            if link is None:
                raise NotFound("onvif camera", camera_id)
            return self._check(link, actor.username)

    def check_due(self) -> list[ClockCheck]:
        """The housekeeper's duty (its own thread: a camera that does not answer takes the
        client's timeout): every ONVIF camera in service not measured for a day. A camera that
        could not be read has its attempt recorded, so it is tried again a day later, not at
        every pass; meanwhile the offline alarm tells of it."""
        now = self._clock.now()
        with self._uow() as uow:
            links = uow.onvif_links.all()
            in_service = {c.id for c in uow.cameras.find() if c.state in RECORDING_STATES}
        done: list[ClockCheck] = []
        for link in links:
            if link.camera_id not in in_service:
                continue  # planned, built, removed …: not operating, nothing to measure
            if link.clock_checked_at is not None and now - link.clock_checked_at < DAILY:
                continue
            try:
                done.append(self._check(link, "system"))
            except Exception as exc:  # one camera's failure must not end the pass
                if isinstance(exc, ValidationFailed):  # unreachable
                    log.warning("camera %d clock not read: %s", link.camera_id, exc)
                else:
                    log.exception("camera %d clock check failed", link.camera_id)
                with self._uow() as uow:
                    uow.onvif_links.record_clock_attempt(link.camera_id, self._clock.now())
                    uow.commit()
        return done

    def set_time_sync(self, actor: Principal, unit_id: int, allowed: bool) -> bool:
        actor.require(Permission.ONVIF_ONBOARD)
        if not reaches_unit(actor, unit_id):
            raise PermissionDenied("another unit's setting")
        now = self._clock.now()
        with self._uow() as uow:
            if uow.units.get(unit_id) is None:
                raise NotFound("unit", unit_id)
            uow.onvif_settings.set_camera_time_sync(unit_id, allowed)
            uow.audit.append(AuditEvent(now, actor.username, "onvif.time_sync.set", "unit",
                                        str(unit_id), detail={"camera_time_sync": allowed}))  # fmt: skip
            uow.commit()
        return allowed

    def time_sync(self, actor: Principal, unit_id: int) -> bool:
        actor.require(Permission.ONVIF_ONBOARD)
        if not reaches_unit(actor, unit_id):
            raise PermissionDenied("another unit's setting")
        with self._uow() as uow:
            return uow.onvif_settings.camera_time_sync(unit_id)

    # ---- one camera ---------------------------------------------------------------------
    def _check(self, link: OnvifLink, who: str) -> ClockCheck:
        first = self.read(link)
        drift, after, was_set = first.drift_s, None, False
        with self._uow() as uow:
            cam = uow.cameras.get(link.camera_id)
            site = uow.sites.get(cam.site_id) if cam is not None else None
            allowed = site is not None and uow.onvif_settings.camera_time_sync(site.unit_id)
        if drift_exceeds(drift, self._limit_s) and allowed:
            # whole seconds on the wire: send the nearest one to the instant it arrives
            self._client.set_camera_utc(
                link.xaddr, link.credentials, self._clock.now() + timedelta(milliseconds=500)
            )
            was_set = True
            after = self.read(link).drift_s
        final = after if after is not None else drift
        beyond = drift_exceeds(final, self._limit_s)
        result = ClockCheck(link.camera_id, drift, first.round_trip_s, self._limit_s, was_set,
                            after, beyond)  # fmt: skip
        now = self._clock.now()
        with self._uow() as uow:
            uow.onvif_links.record_drift(link.camera_id, final, now)
            action = "onvif.clock.set" if was_set else "onvif.clock.check"
            uow.audit.append(AuditEvent(now, who, action, "camera", str(link.camera_id),
                                        detail=result.as_dict()))  # fmt: skip
            uow.commit()
        subject = f"camera:{link.camera_id}"
        if beyond:
            self._alarms.raise_(
                AlarmKind.CLOCK_DRIFT, Severity.WARNING, subject,
                f"camera clock off by {final:+.1f} s (limit {self._limit_s:g} s)",
                detail=result.as_dict(), camera_id=link.camera_id,
            )  # fmt: skip
        else:
            self._alarms.clear(AlarmKind.CLOCK_DRIFT, subject)
        return result
