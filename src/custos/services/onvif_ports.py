"""The ports the ONVIF services share: the device client and the stored links and proposals.

The client is implemented by :mod:`custos.adapters.onvif` with ``wsdiscovery`` and
``onvif-zeep-async``; every method has a time-out, and a device that cannot be reached, refuses
the credentials or does not speak ONVIF raises :class:`~custos.domain.errors.ValidationFailed`
naming the device, never a traceback.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from custos.domain.access import UNIT_SCOPED_ROLES
from custos.domain.errors import NotFound
from custos.domain.onvif import (
    Credentials,
    DeviceReport,
    DiscoveredDevice,
    OnvifLink,
    Proposal,
    PtzCommand,
)
from custos.domain.registry import Camera
from custos.domain.users import Principal
from custos.domain.visibility import reaches_camera, reaches_site
from custos.services.ports import UnitOfWork


class OnvifClient(Protocol):
    def discover(
        self, interface: str | None, address: str | None, timeout_s: float
    ) -> list[DiscoveredDevice]:
        """WS-Discovery probe sent from one interface: the one named, or the one with
        ``address``."""
        ...

    def report(self, xaddr: str, credentials: Credentials | None) -> DeviceReport: ...

    def camera_utc(self, xaddr: str, credentials: Credentials | None) -> datetime:
        """GetSystemDateAndTime, as an aware UTC instant."""
        ...

    def set_camera_utc(self, xaddr: str, credentials: Credentials | None, utc: datetime) -> None:
        """SetSystemDateAndTime: manual, UTC."""
        ...

    def ptz(
        self, xaddr: str, credentials: Credentials | None, profile: str, cmd: PtzCommand
    ) -> None: ...

    def presets(self, xaddr: str, credentials: Credentials | None, profile: str) -> list[str]: ...


class OnvifLinks(Protocol):
    def add(self, link: OnvifLink) -> None: ...
    def get(self, camera_id: int) -> OnvifLink | None: ...
    def all(self) -> list[OnvifLink]: ...
    def record_drift(self, camera_id: int, drift_s: float, at: datetime) -> None: ...
    def record_clock_attempt(self, camera_id: int, at: datetime) -> None:
        """The clock could not be read at ``at``: the drift stays as last measured."""
        ...


class Proposals(Protocol):
    def add(self, p: Proposal) -> Proposal: ...
    def get(self, proposal_id: int) -> Proposal | None: ...
    def find(self, unit_ids: list[int] | None, status: str | None) -> list[Proposal]: ...
    def open_for(self, unit_id: int, endpoint: str) -> Proposal | None: ...
    def replace(self, p: Proposal) -> None: ...
    def decide(self, p: Proposal) -> None: ...


class OnvifUnitSettings(Protocol):
    def camera_time_sync(self, unit_id: int) -> bool: ...
    def set_camera_time_sync(self, unit_id: int, allowed: bool) -> None: ...


def reached_camera(uow: UnitOfWork, actor: Principal, camera_id: int) -> tuple[int, Camera]:
    """The camera's unit id and the camera, if ``actor`` reaches it (else NotFound: a camera out
    of reach is not shown to exist)."""
    cam = uow.cameras.get(camera_id)
    site = uow.sites.get(cam.site_id) if cam is not None else None
    if cam is None or site is None or site.id is None:
        raise NotFound("camera", camera_id)
    if not (
        reaches_site(actor, site.unit_id, site.division_code)
        and reaches_camera(actor, site.unit_id, site.id, camera_id)
    ):
        raise NotFound("camera", camera_id)
    return site.unit_id, cam


def reaches_unit(actor: Principal, unit_id: int) -> bool:
    return actor.is_system or actor.role not in UNIT_SCOPED_ROLES or actor.unit_id == unit_id
