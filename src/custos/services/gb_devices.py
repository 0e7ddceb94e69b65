"""GB/T 28181 devices registering with Custos (issue 12 §1; docs/design/gb28181.md).

People keep the allow-list (a unit manager adds a device's 20-digit ID and digest password; the
password is sealed by the repository and never returned, logged or audited). The SIP server asks
this service what to answer a REGISTER (401 challenge, 403, 423, 200), records keepalives, and
runs the offline check that raises and clears ``device_offline`` alarms and, through
:class:`DeviceCameras`, marks the cameras placed from an offline device's channels offline. A
MANSCDP body the SIP server cannot read is logged here (:meth:`GbDeviceService.bad_message`).
This module knows no SIP: the digest check is handed in as a function of the password
(``RegisterAttempt.digest_ok``).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from custos.domain.access import UNIT_SCOPED_ROLES, Permission
from custos.domain.alarms import AlarmKind, Severity
from custos.domain.audit import AuditEvent, Outcome
from custos.domain.clock import Clock
from custos.domain.errors import Conflict, NotFound, ValidationFailed
from custos.domain.gb_device import (
    DeviceState,
    GbDevice,
    NonceBook,
    check_device,
    device_id_problem,
    gb_date,
)
from custos.domain.users import SYSTEM, Principal
from custos.services.alarms import AlarmService
from custos.services.ports import UnitOfWork
from custos.services.refusals import refusals_logged

log = logging.getLogger(__name__)


class GbDevices(Protocol):
    def add(self, d: GbDevice, password: str) -> GbDevice: ...
    def update(self, d: GbDevice, password: str | None) -> None: ...
    def save_state(self, d: GbDevice) -> None: ...
    def remove(self, device_pk: int) -> None: ...
    def get(self, device_pk: int) -> GbDevice | None: ...
    def by_device_id(self, device_id: str) -> GbDevice | None: ...
    def password(self, device_id: str) -> str | None: ...
    def find(self, unit_id: int | None = None) -> list[GbDevice]: ...
    def registered(self) -> list[GbDevice]: ...


class DeviceCameras(Protocol):
    """The cameras placed from a device's channels (:mod:`custos.services.gb_device_cameras`)."""

    def device_offline(self, device: GbDevice) -> list[int]: ...
    def device_back(self, device_id: str) -> list[int]: ...
    def refresh(self) -> None: ...


class GbDeviceUnitOfWork(UnitOfWork, Protocol):
    @property
    def gb_devices(self) -> GbDevices: ...


@dataclass(frozen=True)
class GbServerSettings:
    platform_id: str
    domain: str
    keepalive_interval_s: int = 60
    min_expires_s: int = 60
    max_expires_s: int = 86_400
    nonce_ttl_s: int = 300


@dataclass(frozen=True)
class DeviceInput:
    device_id: str
    unit_id: int
    name: str
    password: str | None = field(repr=False)  # None on an update: keep the sealed one


@dataclass(frozen=True)
class RegisterAttempt:
    """What the SIP server read from a REGISTER."""

    device_id: str
    nonce: str | None  # None: no Authorization header
    digest_ok: Callable[[str], bool]  # does the Authorization's response match this password?
    expires_s: int
    address: str
    transport: str
    device_date: datetime | None = None


@dataclass(frozen=True)
class RegisterAnswer:
    status: int  # 200, 401, 403 or 423
    reason: str = ""
    nonce: str | None = None  # for a 401: the challenge's nonce
    stale: bool = False
    expires_s: int = 0
    min_expires_s: int = 0
    date: str = ""  # for a 200: the GB Date header


class GbDeviceService:
    def __init__(
        self,
        uow: Callable[[], GbDeviceUnitOfWork],
        clock: Clock,
        settings: GbServerSettings,
        alarms: AlarmService,
        cameras: DeviceCameras | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self.settings = settings
        self._alarms = alarms
        self._cameras = cameras
        self._nonces = NonceBook(ttl_s=settings.nonce_ttl_s)
        self._lock = threading.Lock()
        #: called with the device ID after a device registers (first time or back online)
        self.on_registered: list[Callable[[str], None]] = []

    # --- the allow-list (people) ---------------------------------------------------------------

    def add(self, actor: Principal, data: DeviceInput) -> GbDevice:
        actor.require(Permission.CAMERA_MANAGE)
        now = self._clock.now()
        logged = refusals_logged(self._uow, self._clock, actor, "gb_device.create", "gb_device",
                                 None, {"device_id": data.device_id})  # fmt: skip
        with logged, self._uow() as uow:
            _unit_in_reach(uow, actor, data.unit_id)
            if errors := check_device(data.device_id, data.name, data.password or ""):
                raise ValidationFailed(errors)
            if uow.gb_devices.by_device_id(data.device_id) is not None:
                raise Conflict("device_id", f"device {data.device_id} is already allow-listed")
            d = GbDevice(None, data.device_id, data.unit_id, data.name.strip(), now,
                         actor.username)  # fmt: skip
            d = uow.gb_devices.add(d, data.password or "")
            uow.audit.append(AuditEvent(now, actor.username, "gb_device.create", "gb_device",
                                        str(d.id), after=d.audit_dict()))  # fmt: skip
            uow.commit()
            return d

    def update(self, actor: Principal, device_pk: int, name: str, password: str | None) -> GbDevice:
        actor.require(Permission.CAMERA_MANAGE)
        now = self._clock.now()
        logged = refusals_logged(self._uow, self._clock, actor, "gb_device.update", "gb_device",
                                 device_pk)  # fmt: skip
        with logged, self._uow() as uow:
            before = _device_in_reach(uow, actor, device_pk)
            if errors := check_device(before.device_id, name, password):
                raise ValidationFailed(errors)
            after = dataclasses.replace(before, name=name.strip())
            uow.gb_devices.update(after, password)
            uow.audit.append(AuditEvent(now, actor.username, "gb_device.update", "gb_device",
                                        str(device_pk), before=before.audit_dict(),
                                        after=after.audit_dict(),
                                        detail={"password_changed": password is not None}))  # fmt: skip
            uow.commit()
            return after

    def remove(self, actor: Principal, device_pk: int) -> None:
        actor.require(Permission.CAMERA_MANAGE)
        now = self._clock.now()
        logged = refusals_logged(self._uow, self._clock, actor, "gb_device.delete", "gb_device",
                                 device_pk)  # fmt: skip
        with logged, self._uow() as uow:
            before = _device_in_reach(uow, actor, device_pk)
            uow.gb_devices.remove(device_pk)
            uow.audit.append(AuditEvent(now, actor.username, "gb_device.delete", "gb_device",
                                        str(device_pk), before=before.audit_dict()))  # fmt: skip
            uow.commit()
        self._alarms.clear(AlarmKind.DEVICE_OFFLINE, f"device:{before.device_id}")
        self._cameras_back(before.device_id)

    def find(self, actor: Principal) -> list[dict[str, Any]]:
        actor.require(Permission.REGISTRY_READ)
        scoped = actor.role in UNIT_SCOPED_ROLES
        with self._uow() as uow:
            found = uow.gb_devices.find(actor.unit_id if scoped else None)
        if scoped and actor.unit_id is None:
            found = []
        return [self._view(d) for d in found]

    def get(self, actor: Principal, device_pk: int) -> dict[str, Any]:
        actor.require(Permission.REGISTRY_READ)
        with self._uow() as uow:
            return self._view(_device_in_reach(uow, actor, device_pk))

    def _view(self, d: GbDevice) -> dict[str, Any]:
        return d.as_dict(self._clock.now(), self.settings.keepalive_interval_s)

    # --- the SIP server's questions --------------------------------------------------------------

    def register(self, a: RegisterAttempt) -> RegisterAnswer:
        now = self._clock.now()
        if problem := device_id_problem(a.device_id):
            self._refused(now, a, f"malformed device ID: {problem}")
            return RegisterAnswer(403, "malformed device ID")
        with self._uow() as uow:
            found = uow.gb_devices.by_device_id(a.device_id)
            password = uow.gb_devices.password(a.device_id) if found is not None else None
        if found is None or password is None:
            self._refused(now, a, "device is not on the allow-list")
            return RegisterAnswer(403, "device not allowed")
        with self._lock:
            if a.nonce is None:
                return RegisterAnswer(401, nonce=self._nonces.issue(now))
            if not self._nonces.spend(a.nonce, now):  # replayed, expired or never issued
                return RegisterAnswer(401, nonce=self._nonces.issue(now), stale=True)
        if not a.digest_ok(password):
            self._refused(now, a, "wrong digest response (password)")
            return RegisterAnswer(403, "wrong password")
        if a.expires_s == 0:
            self._unregister(now, found, a)
            return RegisterAnswer(200, expires_s=0, date=gb_date(now))
        if a.expires_s < self.settings.min_expires_s:
            return RegisterAnswer(423, min_expires_s=self.settings.min_expires_s)
        expires = min(a.expires_s, self.settings.max_expires_s)
        fresh = self._registered(now, found, a, expires)
        if fresh:
            for hook in self.on_registered:
                try:
                    hook(a.device_id)
                except Exception:  # a hook's failure must not refuse the registration
                    log.exception("on_registered hook failed for %s", a.device_id)
        return RegisterAnswer(200, expires_s=expires, date=gb_date(now))

    def _registered(self, now: datetime, d: GbDevice, a: RegisterAttempt, expires: int) -> bool:
        """Record the registration; True if the device was not online before."""
        drift = (a.device_date - now).total_seconds() if a.device_date is not None else None
        was = d.state(now, self.settings.keepalive_interval_s)
        after = dataclasses.replace(
            d, registered_at=now, expires_at=now + timedelta(seconds=expires), last_seen_at=now,
            address=a.address[:100], transport=a.transport, offline=False,
            clock_drift_s=drift if drift is not None else d.clock_drift_s,
        )  # fmt: skip
        fresh = was is not DeviceState.ONLINE or d.address != after.address
        with self._uow() as uow:
            uow.gb_devices.save_state(after)
            if fresh:
                detail = {"device_id": d.device_id, "address": after.address,
                          "transport": a.transport, "expires_s": expires, "clock_drift_s": drift}  # fmt: skip
                uow.audit.append(AuditEvent(now, SYSTEM.username, "gb_device.register",
                                            "gb_device", str(d.id), detail=detail))  # fmt: skip
            uow.commit()
        if d.offline or was is DeviceState.OFFLINE:
            self._alarms.clear(AlarmKind.DEVICE_OFFLINE, f"device:{d.device_id}")
            self._cameras_back(d.device_id)
        return fresh

    def _unregister(self, now: datetime, d: GbDevice, a: RegisterAttempt) -> None:
        after = dataclasses.replace(d, expires_at=None, registered_at=None, offline=False)
        with self._uow() as uow:
            uow.gb_devices.save_state(after)
            uow.audit.append(AuditEvent(now, SYSTEM.username, "gb_device.unregister", "gb_device",
                                        str(d.id), detail={"device_id": d.device_id,
                                                           "address": a.address}))  # fmt: skip
            uow.commit()
        self._alarms.clear(AlarmKind.DEVICE_OFFLINE, f"device:{d.device_id}")
        self._cameras_back(d.device_id)

    def _refused(self, now: datetime, a: RegisterAttempt, reason: str) -> None:
        log.warning("GB REGISTER refused from %s: %s", a.address, reason)
        detail = {"device_id": a.device_id[:40], "address": a.address[:100],
                  "transport": a.transport, "reason": reason}  # fmt: skip
        with self._uow() as uow:
            uow.audit.append(AuditEvent(now, SYSTEM.username, "gb_device.register", "gb_device",
                                        None, Outcome.REFUSED, detail=detail))  # fmt: skip
            uow.commit()

    def keepalive(self, device_id: str, address: str) -> bool:
        """A keepalive from a registered device: True (answer 200); False if not registered."""
        now = self._clock.now()
        with self._uow() as uow:
            d = uow.gb_devices.by_device_id(device_id)
            if d is None or d.expires_at is None or now >= d.expires_at:
                return False
            was_offline = d.offline
            uow.gb_devices.save_state(dataclasses.replace(
                d, last_seen_at=now, last_keepalive_at=now, offline=False,
            ))  # fmt: skip
            if was_offline:
                uow.audit.append(AuditEvent(now, SYSTEM.username, "gb_device.online",
                                            "gb_device", str(d.id),
                                            detail={"device_id": device_id}))  # fmt: skip
            uow.commit()
        if was_offline:
            self._alarms.clear(AlarmKind.DEVICE_OFFLINE, f"device:{device_id}")
            self._cameras_back(device_id)
        return True

    def bad_message(self, device_id: str, address: str, field: str, reason: str) -> None:
        """A registered device sent a MANSCDP body that cannot be read (undecodable in its
        declared encoding, broken XML, a missing or malformed field): the SIP server answers
        400; this is the operation-log entry. The device stays registered."""
        now = self._clock.now()
        with self._uow() as uow:
            d = uow.gb_devices.by_device_id(device_id)
            detail = {"device_id": device_id, "address": address[:100], "field": field[:60],
                      "reason": reason[:300]}  # fmt: skip
            uow.audit.append(AuditEvent(now, f"gb-device:{device_id}", "gb_device.bad_message",
                                        "gb_device", str(d.id) if d is not None else None,
                                        Outcome.REFUSED, detail=detail))  # fmt: skip
            uow.commit()

    def is_registered(self, device_id: str) -> bool:
        now = self._clock.now()
        with self._uow() as uow:
            d = uow.gb_devices.by_device_id(device_id)
        return d is not None and d.expires_at is not None and now < d.expires_at

    def online(self, device_id: str) -> GbDevice | None:
        """The device if it is online now (registered, not expired, heard from lately)."""
        now = self._clock.now()
        with self._uow() as uow:
            d = uow.gb_devices.by_device_id(device_id)
        if d is None or d.state(now, self.settings.keepalive_interval_s) is not DeviceState.ONLINE:
            return None
        return d

    def check_offline(self) -> list[str]:
        """Mark offline every registered device silent for 3 keepalive intervals, or whose
        registration expired; raise ``device_offline`` for each. Returns their IDs."""
        now = self._clock.now()
        gone: list[GbDevice] = []
        with self._uow() as uow:
            for d in uow.gb_devices.registered():
                if d.state(now, self.settings.keepalive_interval_s) is DeviceState.OFFLINE:
                    uow.gb_devices.save_state(dataclasses.replace(d, offline=True))
                    uow.audit.append(AuditEvent(now, SYSTEM.username, "gb_device.offline",
                                                "gb_device", str(d.id),
                                                detail={"device_id": d.device_id}))  # fmt: skip
                    gone.append(d)
            uow.commit()
        with self._lock:
            self._nonces.forget_expired(now)
        for d in gone:
            seen = (d.last_seen_at or d.registered_at or now).isoformat()
            self._alarms.raise_(
                AlarmKind.DEVICE_OFFLINE, Severity.WARNING, f"device:{d.device_id}",
                f"GB/T 28181 device {d.device_id} ({d.name}) offline: no keepalive since {seen}",
                {"device_id": d.device_id, "last_seen_at": seen},
            )  # fmt: skip
            if self._cameras is not None:
                try:
                    self._cameras.device_offline(d)
                except Exception:  # one device's cameras must not stop the others'
                    log.exception("cannot mark the cameras of GB device %s offline", d.device_id)
        if self._cameras is not None:
            try:
                self._cameras.refresh()
            except Exception:  # retried at the next check
                log.exception("cannot refresh the offline GB devices' cameras")
        return [d.device_id for d in gone]

    def _cameras_back(self, device_id: str) -> None:
        if self._cameras is None:
            return
        try:
            self._cameras.device_back(device_id)
        except Exception:  # the device's own state is recorded; the cameras catch up on refresh
            log.exception("cannot clear the offline mark of GB device %s's cameras", device_id)


def _unit_in_reach(uow: GbDeviceUnitOfWork, actor: Principal, unit_id: int) -> None:
    unit = uow.units.get(unit_id)
    if unit is None or (actor.role in UNIT_SCOPED_ROLES and actor.unit_id != unit_id):
        raise NotFound("unit", unit_id)


def _device_in_reach(uow: GbDeviceUnitOfWork, actor: Principal, device_pk: int) -> GbDevice:
    d = uow.gb_devices.get(device_pk)
    if d is None or (actor.role in UNIT_SCOPED_ROLES and actor.unit_id != d.unit_id):
        raise NotFound("gb_device", device_pk)
    return d
