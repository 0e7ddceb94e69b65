"""What a supervising bureau reaches, read in one transaction (docs/design/filing.md D5).

A supervisor reaches the sites of its ``jurisdiction`` (that division and every division below
it, GB/T 2260 containment) and, where the user has narrower scopes (``unit:3``, ``site:7``,
``camera:12``), only those. **A supervisor with no jurisdiction reaches nothing**: the general
rule of :mod:`custos.domain.visibility` lets a user without one reach everything, which is right
for an administrator and wrong for a bureau's console, so the console denies by default. System
principals (the CLI) reach every site.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from custos.domain.accounting import CameraFault
from custos.domain.alarms import Alarm
from custos.domain.divisions import contains
from custos.domain.filing_case import CaseState, FilingCase
from custos.domain.kinds import LifecycleState
from custos.domain.rectification import Notice
from custos.domain.registry import Camera, Filing, Site, Unit
from custos.domain.users import Principal, parse_scope
from custos.domain.visibility import reaches_camera, reaches_site
from custos.services.inspection_ports import InspectionUnitOfWork
from custos.services.interruption_accounting import AccountingUnitOfWork
from custos.services.ports import RetentionUnitOfWork


class FilingCases(Protocol):
    """The part of filing-core's repository the console reads."""

    def find(
        self,
        site_ids: Collection[int] | None = None,
        states: Collection[CaseState] | None = None,
    ) -> list[FilingCase]: ...


class SupervisionUnitOfWork(
    RetentionUnitOfWork, AccountingUnitOfWork, InspectionUnitOfWork, Protocol
):
    """The registry, filings and cases, camera faults and alarms, requests and the register,
    rectification notices."""

    @property
    def filing_cases(self) -> FilingCases: ...


def supervises(actor: Principal, site: Site, camera_ids: Collection[int] = ()) -> bool:
    """Whether the console shows ``site`` to ``actor`` (see the module's rule)."""
    if actor.is_system:
        return True
    if actor.jurisdiction is None:
        return False  # deny by default: a supervisor without a jurisdiction reaches nothing
    if not reaches_site(actor, site.unit_id, site.division_code):
        return False
    if not actor.scopes:
        return True
    return any(reaches_camera(actor, site.unit_id, site.id or 0, c) for c in camera_ids) or any(
        parse_scope(s) in {("unit", site.unit_id), ("site", site.id or 0)} for s in actor.scopes
    )


def area_of(actor: Principal, division: str | None) -> str | None:
    """The division the console shows: the actor's jurisdiction, narrowed to ``division`` when
    that lies inside it (a wider ``division`` keeps the jurisdiction). ``None``: everything (a
    system principal that named no division); ``""``: nothing (no jurisdiction, or a
    ``division`` outside it)."""
    if actor.is_system:
        return division
    jurisdiction = actor.jurisdiction
    if jurisdiction is None:
        return ""
    if division is None or contains(division, jurisdiction):
        return jurisdiction
    return division if contains(jurisdiction, division) else ""


def in_area(area: str | None, code: str) -> bool:
    return area is None or (area != "" and contains(area, code))


def camera_in_reach(actor: Principal, site: Site, camera: Camera) -> bool:
    return reaches_camera(actor, site.unit_id, site.id or 0, camera.id or 0)


@dataclass
class Snapshot:
    """The reached part of the registry, and whatever else the caller asked to read."""

    now: datetime
    area: str | None  # see area_of
    units: dict[int, Unit]
    sites: list[Site]  # by unit name, then site name
    cameras: dict[int, list[Camera]]  # site id → its cameras in reach (removed ones included)
    filings: dict[int, list[Filing]] = field(default_factory=dict)  # site id → Filing rows
    cases: list[FilingCase] = field(default_factory=list)  # newest first
    open_faults: list[CameraFault] = field(default_factory=list)
    month_faults: list[CameraFault] = field(default_factory=list)
    camera_alarms: list[Alarm] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)  # of the reached units, in the area

    @property
    def site_ids(self) -> list[int]:
        return [s.id or 0 for s in self.sites]

    @property
    def camera_index(self) -> dict[int, tuple[Camera, Site]]:
        by_id = {s.id: s for s in self.sites}
        return {c.id or 0: (c, by_id[sid]) for sid, cams in self.cameras.items() for c in cams}

    def unit_name(self, unit_id: int) -> str:
        unit = self.units.get(unit_id)
        return unit.name if unit else ""


def reached(
    uow: SupervisionUnitOfWork, actor: Principal, now: datetime, division: str | None = None
) -> Snapshot:
    """The units, sites and cameras ``actor`` supervises (inside ``division``, if given)."""
    area = area_of(actor, division)
    units = {u.id or 0: u for u in uow.units.find()}
    sites: list[Site] = []
    cameras: dict[int, list[Camera]] = {}
    all_cameras: dict[int, list[Camera]] = {}
    for cam in uow.cameras.find():
        all_cameras.setdefault(cam.site_id, []).append(cam)
    for site in uow.sites.find():
        cams = all_cameras.get(site.id or 0, [])
        if not in_area(area, site.division_code) or not supervises(
            actor, site, [c.id or 0 for c in cams]
        ):
            continue
        sites.append(site)
        cameras[site.id or 0] = [c for c in cams if camera_in_reach(actor, site, c)]
    sites.sort(key=lambda s: (units[s.unit_id].name, s.name, s.id or 0))
    kept = {s.unit_id for s in sites}
    return Snapshot(now, area, {k: u for k, u in units.items() if k in kept}, sites, cameras)


def in_service(camera: Camera) -> bool:
    return camera.state in (
        LifecycleState.IN_SERVICE,
        LifecycleState.CHANGED,
        LifecycleState.RELOCATED,
    )


def not_removed(camera: Camera) -> bool:
    return camera.state is not LifecycleState.REMOVED
