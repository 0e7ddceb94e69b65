"""ONVIF onboarding: discover, propose, accept into the registry or dismiss.

Discovery never adds a camera. Each device that answers the WS-Discovery probe is read
(GetDeviceInformation, GetProfiles, GetStreamUri main and sub, GetSystemDateAndTime) and stored
as a *proposal* of the unit. A unit manager accepts it through the registry's own camera
creation (:meth:`RegistryService.create_camera`), so placement rules, address-code validation
and the sealing of stream credentials apply exactly as for a typed-in camera; the ONVIF user
is sealed with the secret box and never returned, logged or put in the operation log.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from custos.domain.access import UNIT_SCOPED_ROLES, Permission
from custos.domain.audit import AuditEvent
from custos.domain.clock import Clock
from custos.domain.errors import FieldError, NotFound, PermissionDenied, ValidationFailed
from custos.domain.onvif import (
    ClockReading,
    Credentials,
    DeviceReport,
    DiscoveredDevice,
    OnvifLink,
    Proposal,
    ProposalStatus,
    with_credentials,
)
from custos.domain.registry import Camera
from custos.domain.users import Principal
from custos.services.camera_time import CameraTimeService
from custos.services.onvif_ports import OnvifClient, OnvifLinks, Proposals, reaches_unit
from custos.services.ports import UnitOfWork
from custos.services.refusals import refusals_logged
from custos.services.registry import CameraInput, RegistryService

log = logging.getLogger(__name__)


class OnboardingUnitOfWork(UnitOfWork, Protocol):
    @property
    def onvif_proposals(self) -> Proposals: ...
    @property
    def onvif_links(self) -> OnvifLinks: ...


@dataclass
class Placement:
    """What the unit manager says about the camera being accepted (as for a typed-in one)."""

    site_id: int
    address_code: str
    name: str
    location_categories: list[str]
    install_position: str = ""
    field_of_view: str = ""
    covers_public_area: bool = False
    captures_public_area_outside_premises: bool = False
    retention_days: int | None = None
    device_type: str = ""


class OnboardingService:
    def __init__(
        self,
        uow: Callable[[], OnboardingUnitOfWork],
        registry: RegistryService,
        client: OnvifClient,
        camera_time: CameraTimeService,
        clock: Clock,
    ) -> None:
        self._uow = uow
        self._registry = registry
        self._client = client
        self._time = camera_time
        self._clock = clock

    def discover(
        self,
        actor: Principal,
        unit_id: int,
        interface: str | None,
        address: str | None,
        credentials: Credentials | None,
        timeout_s: float = 3.0,
    ) -> list[Proposal]:
        """Probe from one interface (named, or the one with ``address``); each device found becomes (or refreshes) an open
        proposal of the unit. Devices already in the registry are not proposed again."""
        actor.require(Permission.ONVIF_ONBOARD)
        with refusals_logged(self._uow, self._clock, actor, "onvif.discover", "unit", unit_id,
                             {"interface": interface, "address": address}):  # fmt: skip
            self._unit(actor, unit_id)
            devices = self._client.discover(interface, address, timeout_s)
            with self._uow() as uow:
                known = {link.endpoint for link in uow.onvif_links.all()}
            fresh = [d for d in devices if d.endpoint not in known]
            read = [(d, *self._read(d, credentials)) for d in fresh]
            now = self._clock.now()
            proposals: list[Proposal] = []
            with self._uow() as uow:
                for device, report, reading, error in read:
                    p = _proposal(unit_id, device, report, reading, error, credentials,
                                  now, actor.username)  # fmt: skip
                    old = uow.onvif_proposals.open_for(unit_id, device.endpoint)
                    if old is not None:
                        p = dataclasses.replace(p, id=old.id)
                        uow.onvif_proposals.replace(p)
                    else:
                        p = uow.onvif_proposals.add(p)
                    proposals.append(p)
                detail = {"interface": interface, "address": address, "found": len(devices),
                          "proposals": [p.id for p in proposals]}  # fmt: skip
                uow.audit.append(AuditEvent(now, actor.username, "onvif.discover", "unit",
                                            str(unit_id), detail=detail))  # fmt: skip
                uow.commit()
        return proposals

    def list(self, actor: Principal, status: ProposalStatus | None = None) -> list[Proposal]:
        actor.require(Permission.ONVIF_ONBOARD)
        scoped = actor.role in UNIT_SCOPED_ROLES and not actor.is_system
        units = [actor.unit_id or 0] if scoped else None
        with self._uow() as uow:
            return uow.onvif_proposals.find(units, status.value if status else None)

    def get(self, actor: Principal, proposal_id: int) -> Proposal:
        actor.require(Permission.ONVIF_ONBOARD)
        with self._uow() as uow:
            return _reached(uow, actor, proposal_id)

    def accept(self, actor: Principal, proposal_id: int, placement: Placement) -> Camera:
        actor.require(Permission.ONVIF_ONBOARD)
        logged = refusals_logged(self._uow, self._clock, actor, "onvif.accept", "onvif_proposal",
                                 proposal_id)  # fmt: skip
        with logged:
            with self._uow() as uow:
                p = _reached(uow, actor, proposal_id)
                _still_open(p)
                site = uow.sites.get(placement.site_id)
            if p.probe_error:
                reason = f"the device could not be read ({p.probe_error}): discover it again"
                raise ValidationFailed(
                    FieldError(
                        "proposal", reason, key="onvif.unread", params={"error": p.probe_error}
                    )
                )
            if site is None or site.unit_id != p.unit_id:
                raise ValidationFailed(
                    FieldError(
                        "site_id",
                        "must be a site of the unit the device was found for",
                        key="onvif.site_of_unit",
                    )
                )
        camera = self._registry.create_camera(actor, _camera_input(p, placement))
        assert camera.id is not None
        now = self._clock.now()
        with self._uow() as uow:
            link = OnvifLink(camera.id, p.xaddr, p.endpoint, p.credentials, p.profile_token,
                             p.has_ptz)  # fmt: skip
            uow.onvif_links.add(link)
            decided = dataclasses.replace(p, status=ProposalStatus.ACCEPTED,
                                          decided_by=actor.username, decided_at=now,
                                          camera_id=camera.id)  # fmt: skip
            uow.onvif_proposals.decide(decided)
            uow.audit.append(AuditEvent(now, actor.username, "onvif.accept", "onvif_proposal",
                                        str(proposal_id), detail=decided.as_dict()))  # fmt: skip
            uow.commit()
        try:  # measured at onboarding: the alarm (and the setting) now name the camera
            self._time.check(actor, camera.id)
        except ValidationFailed as exc:
            log.warning("camera %d: clock not read at onboarding: %s", camera.id, exc)
        return camera

    def dismiss(self, actor: Principal, proposal_id: int) -> Proposal:
        actor.require(Permission.ONVIF_ONBOARD)
        now = self._clock.now()
        logged = refusals_logged(self._uow, self._clock, actor, "onvif.dismiss",
                                 "onvif_proposal", proposal_id)  # fmt: skip
        with logged, self._uow() as uow:
            p = _reached(uow, actor, proposal_id)
            _still_open(p)
            decided = dataclasses.replace(p, status=ProposalStatus.DISMISSED,
                                          decided_by=actor.username, decided_at=now)  # fmt: skip
            uow.onvif_proposals.decide(decided)
            uow.audit.append(AuditEvent(now, actor.username, "onvif.dismiss", "onvif_proposal",
                                        str(proposal_id), detail=decided.as_dict()))  # fmt: skip
            uow.commit()
        return decided

    # ---- helpers ------------------------------------------------------------------------
    def _unit(self, actor: Principal, unit_id: int) -> None:
        if not reaches_unit(actor, unit_id):
            raise PermissionDenied("another unit")
        with self._uow() as uow:
            if uow.units.get(unit_id) is None:
                raise ValidationFailed(
                    FieldError(
                        "unit_id",
                        f"no unit {unit_id}",
                        key="onvif.no_unit",
                        params={"unit_id": unit_id},
                    )
                )

    def _read(
        self, device: DiscoveredDevice, credentials: Credentials | None
    ) -> tuple[DeviceReport | None, ClockReading | None, str]:
        xaddr = device.xaddrs[0]
        try:
            report = self._client.report(xaddr, credentials)
            sent = self._clock.now()
            camera = self._client.camera_utc(xaddr, credentials)
            return report, ClockReading(sent, camera, self._clock.now()), ""
        except ValidationFailed as exc:
            return None, None, "; ".join(e.reason for e in exc.errors)[:500]


def _proposal(
    unit_id: int,
    device: DiscoveredDevice,
    report: DeviceReport | None,
    reading: ClockReading | None,
    error: str,
    credentials: Credentials | None,
    now: datetime,
    who: str,
) -> Proposal:
    return Proposal(
        id=None,
        unit_id=unit_id,
        endpoint=device.endpoint,
        xaddr=device.xaddrs[0],
        scopes=list(device.scopes),
        identity=report.identity if report else None,
        main_stream_uri=report.main_stream_uri if report else None,
        sub_stream_uri=report.sub_stream_uri if report else None,
        profile_token=report.profile_token if report else None,
        has_ptz=report.has_ptz if report else False,
        clock_drift_s=reading.drift_s if reading else None,
        probe_error=error,
        discovered_at=now,
        discovered_by=who,
        credentials=credentials,
    )


def _reached(uow: OnboardingUnitOfWork, actor: Principal, proposal_id: int) -> Proposal:
    p = uow.onvif_proposals.get(proposal_id)
    if p is None or not reaches_unit(actor, p.unit_id):
        raise NotFound("onvif_proposal", proposal_id)
    return p


def _still_open(p: Proposal) -> None:
    if p.status is not ProposalStatus.PROPOSED:
        raise ValidationFailed(
            FieldError(
                "proposal", f"already {p.status.value}", key=f"onvif.already_{p.status.value}"
            )
        )


def _camera_input(p: Proposal, placement: Placement) -> CameraInput:
    ident = p.identity
    return CameraInput(
        site_id=placement.site_id,
        address_code=placement.address_code,
        name=placement.name,
        location_categories=placement.location_categories,
        device_type=placement.device_type,
        manufacturer=ident.manufacturer if ident else "",
        model=ident.model if ident else "",
        install_position=placement.install_position,
        field_of_view=placement.field_of_view,
        covers_public_area=placement.covers_public_area,
        captures_public_area_outside_premises=placement.captures_public_area_outside_premises,
        main_stream_url=with_credentials(p.main_stream_uri, p.credentials),
        sub_stream_url=with_credentials(p.sub_stream_uri, p.credentials),
        retention_days=placement.retention_days,
        ptz=p.has_ptz,
    )
