"""Asking a GB/T 28181 device about itself: Catalog, DeviceInfo and DeviceStatus queries.

When a device registers (first time, or back online) the three queries leave in that order, the
Catalog first, each in its own MESSAGE queued on the SIP server's loop after the 200 OK
(:meth:`GbDeviceQueries.on_registered`). A unit manager may ask again at any time
(:meth:`GbDeviceQueries.ask`, ``POST /api/v1/gb/devices/{id}/query``); each question asked by a
person is an operation-log entry ``gb_device.query``, a refused one too. The answers come back
as MESSAGEs and are taken by the catalog service (:mod:`custos.services.gb_channels`).

The SIP server connects its sender with :meth:`GbDeviceQueries.connect` when it starts (only
``custos serve`` with ``gb_enabled`` runs one); without it a question is refused, saying why.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, Protocol

from custos.domain.access import UNIT_SCOPED_ROLES, Permission
from custos.domain.audit import AuditEvent
from custos.domain.clock import Clock
from custos.domain.errors import FieldError, NotFound, ValidationFailed
from custos.domain.gb_device import DeviceState, GbDevice
from custos.domain.users import Principal
from custos.services.ports import UnitOfWork
from custos.services.refusals import refusals_logged

QueryKind = Literal["catalog", "device_info", "device_status"]
CmdType = Literal["Catalog", "DeviceInfo", "DeviceStatus"]
#: what a person asks for → the MANSCDP CmdType of the query; in the order sent on registering
CMD_TYPES: dict[QueryKind, CmdType] = {
    "catalog": "Catalog",
    "device_info": "DeviceInfo",
    "device_status": "DeviceStatus",
}

Send = Callable[[str, bytes], None]
"""Send a MANSCDP body in a MESSAGE to a registered device (the SIP server's send_message)."""

BuildQuery = Callable[[CmdType, str], tuple[int, bytes]]
"""A fresh SN and the query's body for a device (the catalog service's ``query``)."""


class QueriedDevices(Protocol):
    def get(self, device_pk: int) -> GbDevice | None: ...


class GbQueryUnitOfWork(UnitOfWork, Protocol):
    @property
    def gb_devices(self) -> QueriedDevices: ...


class GbDeviceQueries:
    def __init__(
        self,
        uow: Callable[[], GbQueryUnitOfWork],
        clock: Clock,
        build: BuildQuery,
        keepalive_interval_s: int,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._build = build
        self._interval_s = keepalive_interval_s
        self._send: Send | None = None

    def connect(self, send: Send) -> None:
        self._send = send

    def on_registered(self, device_id: str) -> None:
        """A device registered (or came back): ask its Catalog, DeviceInfo and DeviceStatus."""
        if self._send is None:
            return
        for cmd_type in CMD_TYPES.values():
            self._send(device_id, self._build(cmd_type, device_id)[1])

    def ask(self, actor: Principal, device_pk: int, what: QueryKind) -> dict[str, Any]:
        """Send one query to an online device now; the answer arrives later (its report or its
        channels). Refused, and logged, when the device is not online or no SIP server runs."""
        actor.require(Permission.CAMERA_MANAGE)
        logged = refusals_logged(self._uow, self._clock, actor, "gb_device.query", "gb_device",
                                 device_pk, {"what": what})  # fmt: skip
        with logged, self._uow() as uow:
            d = uow.gb_devices.get(device_pk)
            if d is None or (actor.role in UNIT_SCOPED_ROLES and actor.unit_id != d.unit_id):
                raise NotFound("gb_device", device_pk)
            if what not in CMD_TYPES:
                raise ValidationFailed(FieldError("what", f"must be one of {', '.join(CMD_TYPES)}"))
            now = self._clock.now()
            state = d.state(now, self._interval_s)
            if state is not DeviceState.ONLINE:
                reason = f"the device is {state.value}; only an online device can be asked"
                raise ValidationFailed(FieldError("device_id", reason))
            if self._send is None:
                reason = "the GB/T 28181 SIP server is not running (setting gb_enabled)"
                raise ValidationFailed(FieldError("device_id", reason))
            cmd_type = CMD_TYPES[what]
            sn, body = self._build(cmd_type, d.device_id)
            sent = {"device_id": d.device_id, "what": what, "cmd_type": cmd_type, "sn": sn,
                    "sent_at": now.isoformat()}  # fmt: skip
            uow.audit.append(AuditEvent(now, actor.username, "gb_device.query", "gb_device",
                                        str(device_pk), detail=sent))  # fmt: skip
            uow.commit()
        self._send(d.device_id, body)
        return sent
