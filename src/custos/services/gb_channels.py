"""GB/T 28181 channels: a device's catalogue becomes channels; a unit manager places a channel and
it becomes a registry camera, under exactly the rules of a typed-in camera (docs/design/gb28181.md).

The SIP server (G1) owns sending and receiving; this service builds the query bodies
(:meth:`GbCatalogService.query`), takes what the device answers (:meth:`on_message`: Catalog
parts are gathered by SN until ``SumNum``; Catalog notifications; DeviceInfo; DeviceStatus) and
keeps it. Every write enters the operation log: what a device reported as ``gb-device:<id>``,
placements as the unit manager.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from custos.domain.access import Permission
from custos.domain.audit import AuditEvent, Outcome
from custos.domain.clock import Clock
from custos.domain.errors import FieldError, NotFound, ValidationFailed
from custos.domain.gb_channel import (
    REMOVING_EVENTS,
    GbChannel,
    channel_code_problem,
    channel_from_item,
)
from custos.domain.manscdp import (
    CatalogItem,
    CatalogNotify,
    CatalogResponse,
    DeviceInfoResponse,
    DeviceStatusResponse,
    Message,
)
from custos.domain.manscdp_assembly import AssembledCatalog, CatalogAssembler, IncompleteCatalog
from custos.domain.manscdp_build import Encoding, build_query
from custos.domain.registry import Camera
from custos.domain.users import Principal
from custos.domain.visibility import reaches_site
from custos.services.gb_placement import Placement, camera_input
from custos.services.ports import UnitOfWork
from custos.services.refusals import refusals_logged
from custos.services.registry import RegistryService


class GbChannels(Protocol):
    def add(self, channel: GbChannel) -> GbChannel: ...
    def update(self, channel: GbChannel) -> None: ...  # what the device says, not camera_id
    def attach(self, channel_pk: int, camera_id: int) -> None: ...
    def get(self, channel_pk: int) -> GbChannel | None: ...
    def find(self, unit_id: int | None = None, device_id: str | None = None) -> list[GbChannel]: ...


class GbDeviceReports(Protocol):
    def save(self, device_id: str, kind: str, report: dict[str, Any], at: datetime) -> None: ...
    def get(self, device_id: str) -> dict[str, Any]: ...


class KnownDevice(Protocol):
    """What this service needs of an allow-listed device (G1's ``GbDevice``)."""

    @property
    def device_id(self) -> str: ...
    @property
    def unit_id(self) -> int: ...


class GbDevices(Protocol):
    def by_device_id(self, device_id: str) -> KnownDevice | None: ...


class GbChannelUnitOfWork(UnitOfWork, Protocol):
    @property
    def gb_channels(self) -> GbChannels: ...
    @property
    def gb_device_reports(self) -> GbDeviceReports: ...
    @property
    def gb_devices(self) -> GbDevices: ...


@dataclass(frozen=True)
class CatalogOutcome:
    """What one complete catalogue or notification changed."""

    device_id: str
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # item ID → why it is not a channel

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class GbCatalogService:
    def __init__(
        self,
        uow: Callable[[], GbChannelUnitOfWork],
        registry: RegistryService,
        clock: Clock,
        assembler: CatalogAssembler | None = None,
    ) -> None:
        self._uow = uow
        self._registry = registry
        self._clock = clock
        self._assembler = assembler or CatalogAssembler()
        self._lock = threading.Lock()
        self._sn = itertools.count(int(clock.now().timestamp()) % 1_000_000 + 1)

    # --- for the SIP server ------------------------------------------------------------------

    def query(
        self,
        cmd_type: Literal["Catalog", "DeviceInfo", "DeviceStatus"],
        device_id: str,
        encoding: Encoding = "GB2312",
    ) -> tuple[int, bytes]:
        """A fresh SN and the MANSCDP body of the query, to send to the device in a MESSAGE."""
        with self._lock:
            sn = next(self._sn) % (2**31 - 1)
        return sn, build_query(cmd_type, sn, device_id, encoding)

    def on_message(self, device_id: str, message: Message) -> None:
        """Take a MANSCDP message from ``device_id`` (already answered 200 by the SIP server):
        Catalog parts and notifications, DeviceInfo, DeviceStatus; others are not ours. A
        device speaks only for itself: a body naming another ``DeviceID`` is refused, logged."""
        if message.header.device_id != device_id:
            self._log_foreign(device_id, message.header.device_id, message.header.cmd_type)
            return
        match message:
            case CatalogResponse():
                self.on_catalog_part(device_id, message)
            case CatalogNotify():
                self.on_catalog_notify(device_id, message)
            case DeviceInfoResponse():
                self._save_report(device_id, "info", _info(message))
            case DeviceStatusResponse():
                self._save_report(device_id, "status", _status(message))
            case _:
                pass

    def on_catalog_part(self, device_id: str, part: CatalogResponse) -> CatalogOutcome | None:
        """One MESSAGE of a Catalog response; stores the catalogue once it is complete."""
        now = self._clock.now()
        with self._lock:
            whole = self._assembler.add(part, now)
            lost = self._assembler.expire(now)
        for incomplete in lost:
            self._log_incomplete(incomplete)
        if whole is None:
            return None
        return self.on_catalog(device_id, whole)

    def expire(self) -> list[IncompleteCatalog]:
        """Give up catalogues that did not complete in time (logged); for a periodic tick."""
        with self._lock:
            lost = self._assembler.expire(self._clock.now())
        for incomplete in lost:
            self._log_incomplete(incomplete)
        return lost

    def on_catalog(self, device_id: str, catalog: AssembledCatalog) -> CatalogOutcome:
        """A complete catalogue: each video source becomes (or updates) a channel; channels it
        no longer lists are marked gone."""
        now = self._clock.now()
        outcome = CatalogOutcome(device_id)
        with self._uow() as uow:
            unit_id = _device_unit(uow, device_id)
            known = {c.channel_id: c for c in uow.gb_channels.find(device_id=device_id)}
            listed = self._upsert(uow, device_id, unit_id, catalog.items, known, outcome, now)
            for channel_id, channel in known.items():
                if channel_id not in listed and channel.present:
                    uow.gb_channels.update(dataclasses.replace(channel, present=False))
                    outcome.gone.append(channel_id)
            self._audit(uow, device_id, "gb.catalog", outcome, {"sn": catalog.sn})
            uow.commit()
        return outcome

    def on_catalog_notify(self, device_id: str, notify: CatalogNotify) -> CatalogOutcome:
        """A catalogue change: ADD/UPDATE upsert, DEL marks gone, ON/OFF/VLOST/DEFECT set status."""
        now = self._clock.now()
        outcome = CatalogOutcome(device_id)
        with self._uow() as uow:
            unit_id = _device_unit(uow, device_id)
            known = {c.channel_id: c for c in uow.gb_channels.find(device_id=device_id)}
            removing = [i for i in notify.items if (i.event or "").upper() in REMOVING_EVENTS]
            for item in removing:
                channel = known.get(item.device_id)
                if channel is not None and channel.present:
                    uow.gb_channels.update(dataclasses.replace(channel, present=False))
                    outcome.gone.append(item.device_id)
            rest = [i for i in notify.items if i not in removing]
            self._upsert(uow, device_id, unit_id, rest, known, outcome, now)
            self._audit(uow, device_id, "gb.catalog_notify", outcome, {"sn": notify.header.sn})
            uow.commit()
        return outcome

    def is_channel_of(self, device_id: str, channel_id: str) -> bool:
        """Is ``channel_id`` in ``device_id``'s catalogue now (for the media INVITE)?"""
        with self._uow() as uow:
            found = uow.gb_channels.find(device_id=device_id)
        return any(c.channel_id == channel_id and c.present for c in found)

    # --- for people --------------------------------------------------------------------------

    def list_channels(self, actor: Principal, device_id: str | None = None) -> list[GbChannel]:
        actor.require(Permission.REGISTRY_READ)
        with self._uow() as uow:
            found = uow.gb_channels.find(device_id=device_id)
        return [c for c in found if _reaches(actor, c)]

    def device_report(self, actor: Principal, device_id: str) -> dict[str, Any]:
        """What the device last said in DeviceInfo and DeviceStatus, with when."""
        actor.require(Permission.REGISTRY_READ)
        with self._uow() as uow:
            device = uow.gb_devices.by_device_id(device_id)
            if device is None or not reaches_site(actor, device.unit_id, device_id[:6]):
                raise NotFound("gb_device", device_id)
            return {"device_id": device_id, **uow.gb_device_reports.get(device_id)}

    def place(self, actor: Principal, channel_pk: int, where: Placement) -> Camera:
        """Create the registry camera of a channel at a site, through the registry's own camera
        creation: its field checks and placement rules, each refusal citing its article."""
        actor.require(Permission.CAMERA_MANAGE)
        logged = refusals_logged(
            self._uow, self._clock, actor, "gb_channel.place", "gb_channel", channel_pk
        )
        with logged, self._uow() as uow:
            channel = uow.gb_channels.get(channel_pk)
            if channel is None or not _reaches(actor, channel):
                raise NotFound("gb_channel", channel_pk)
            site = uow.sites.get(where.site_id)
            if channel.camera_id is not None:
                reason = f"already placed as camera {channel.camera_id}"
                raise ValidationFailed(FieldError("channel", reason))
            if site is not None and site.unit_id != channel.unit_id:
                reason = "the site belongs to another unit than the channel's device"
                raise ValidationFailed(FieldError("site_id", reason))
        camera = self._registry.create_camera(actor, camera_input(channel, where))
        with self._uow() as uow:
            placed = dataclasses.replace(channel, camera_id=camera.id)
            uow.gb_channels.attach(channel_pk, camera.id or 0)
            uow.audit.append(
                AuditEvent(
                    self._clock.now(), actor.username, "gb_channel.place", "gb_channel",
                    str(channel_pk), after=placed.as_dict(),
                    detail={"camera_id": camera.id, "site_id": where.site_id},
                )
            )  # fmt: skip
            uow.commit()
        return camera

    # --- inside ------------------------------------------------------------------------------

    def _upsert(
        self,
        uow: GbChannelUnitOfWork,
        device_id: str,
        unit_id: int,
        items: Sequence[CatalogItem],
        known: dict[str, GbChannel],
        outcome: CatalogOutcome,
        now: datetime,
    ) -> set[str]:
        listed: set[str] = set()
        for item in items:
            if item.device_id == device_id:
                outcome.skipped[item.device_id] = "the device itself, not one of its channels"
                continue
            if problem := channel_code_problem(item.device_id):
                outcome.skipped[item.device_id] = problem
                continue
            listed.add(item.device_id)
            before = known.get(item.device_id)
            channel = channel_from_item(item, device_id, unit_id, before, now)
            if before is None:
                known[item.device_id] = uow.gb_channels.add(channel)
                outcome.added.append(item.device_id)
            else:
                uow.gb_channels.update(channel)
                known[item.device_id] = channel
                outcome.updated.append(item.device_id)
        return listed

    def _save_report(self, device_id: str, kind: str, report: dict[str, Any]) -> None:
        now = self._clock.now()
        with self._uow() as uow:
            _device_unit(uow, device_id)
            uow.gb_device_reports.save(device_id, kind, report, now)
            uow.audit.append(
                AuditEvent(now, _device_actor(device_id), f"gb.device_{kind}", "gb_device",
                           device_id, detail=report)
            )  # fmt: skip
            uow.commit()

    def _audit(
        self,
        uow: GbChannelUnitOfWork,
        device_id: str,
        action: str,
        outcome: CatalogOutcome,
        extra: dict[str, Any],
    ) -> None:
        detail = {**extra, **outcome.as_dict()}
        uow.audit.append(
            AuditEvent(self._clock.now(), _device_actor(device_id), action, "gb_device",
                       device_id, detail=detail)
        )  # fmt: skip

    def _log_foreign(self, device_id: str, named: str, cmd_type: str) -> None:
        with self._uow() as uow:
            uow.audit.append(
                AuditEvent(
                    self._clock.now(), _device_actor(device_id), "gb.message_refused",
                    "gb_device", device_id, Outcome.REFUSED,
                    detail={"cmd_type": cmd_type, "device_id_in_body": named,
                            "reason": "a device may speak only for itself"},
                )
            )  # fmt: skip
            uow.commit()

    def _log_incomplete(self, lost: IncompleteCatalog) -> None:
        with self._uow() as uow:
            uow.audit.append(
                AuditEvent(
                    self._clock.now(), _device_actor(lost.device_id), "gb.catalog_incomplete",
                    "gb_device", lost.device_id, detail=dataclasses.asdict(lost),
                )
            )  # fmt: skip
            uow.commit()


def _device_actor(device_id: str) -> str:
    return f"gb-device:{device_id}"


def _device_unit(uow: GbChannelUnitOfWork, device_id: str) -> int:
    device = uow.gb_devices.by_device_id(device_id)
    if device is None:
        raise NotFound("gb_device", device_id)
    return device.unit_id


def _reaches(actor: Principal, channel: GbChannel) -> bool:
    return reaches_site(actor, channel.unit_id, channel.channel_id[:6])


def _info(m: DeviceInfoResponse) -> dict[str, Any]:
    return {
        "result": m.result,
        "device_name": m.device_name,
        "manufacturer": m.manufacturer,
        "model": m.model,
        "firmware": m.firmware,
        "channels": m.channels,
    }


def _status(m: DeviceStatusResponse) -> dict[str, Any]:
    return {
        "result": m.result,
        "online": m.online,
        "status": m.status,
        "encode": m.encode,
        "record": m.record,
        "device_time": m.device_time,
    }
