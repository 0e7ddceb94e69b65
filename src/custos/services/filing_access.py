"""What every step of the filing loop starts from: the wiring, and who reaches which site and
case (unit or jurisdiction, narrowed by explicit scopes; deny by default for a supervisor without
one, design D5)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from custos.domain.access import Permission
from custos.domain.calendar import WorkdayCalendar, shanghai_date
from custos.domain.clock import Clock
from custos.domain.divisions import DivisionTable, contains
from custos.domain.errors import NotFound, PermissionDenied
from custos.domain.filing_case import FilingCase
from custos.domain.filing_package import FilingProfile
from custos.domain.registry import Site, Unit
from custos.domain.rules import RuleBook
from custos.domain.users import Principal, parse_scope
from custos.domain.visibility import reaches_camera, reaches_site
from custos.services.filing_assembly import Assembled, assemble_now
from custos.services.filing_ports import (
    Documents,
    FilingUnitOfWork,
    FilingUnitOfWorkFactory,
    PackagePdf,
    ProfileChanged,
)
from custos.services.supervision_scope import supervises


def camera_scoped(actor: Principal) -> bool:
    """Whether the actor's explicit scopes name a camera (reach then needs the site's cameras)."""
    return any((parse_scope(s) or ("", 0))[0] == "camera" for s in actor.scopes)


def site_cameras(uow: FilingUnitOfWork, site: Site) -> list[int]:
    return [c.id or 0 for c in uow.cameras.find([site.id or 0])]


def filing_reach(actor: Principal, site: Site, camera_ids: Collection[int] = ()) -> bool:
    """Whether ``actor`` reaches ``site``'s filing: a supervisor as the console does
    (:func:`supervises`: jurisdiction, none reaches nothing, then its scopes); anyone else by
    unit or jurisdiction and, where the user has explicit scopes (``unit:``, ``site:``,
    ``camera:``), only when one names the site's unit, the site or one of ``camera_ids`` (the
    site's cameras). System principals reach every site."""
    if actor.is_system:
        return True
    if actor.can(Permission.SUPERVISE):
        return supervises(actor, site, camera_ids)
    if not reaches_site(actor, site.unit_id, site.division_code):
        return False
    if not actor.scopes:
        return True
    site_id = site.id or 0
    named = {("unit", site.unit_id), ("site", site_id)}
    return any(parse_scope(s) in named for s in actor.scopes) or any(
        reaches_camera(actor, site.unit_id, site_id, c) for c in camera_ids
    )


class FilingAccess:
    def __init__(
        self,
        uow: FilingUnitOfWorkFactory,
        rules: RuleBook,
        divisions: DivisionTable,
        calendar: WorkdayCalendar,
        clock: Clock,
        documents: Documents,
        pdf: PackagePdf,
        on_profile_change: ProfileChanged | None = None,
    ) -> None:
        self._uow, self._rules, self._divisions = uow, rules, divisions
        self._calendar, self._clock, self._documents, self._pdf = calendar, clock, documents, pdf
        self.on_profile_change = on_profile_change

    # ---- helpers -----------------------------------------------------------------------------
    def _today(self) -> date:
        return shanghai_date(self._clock.now())

    def _reaches(self, actor: Principal, site: Site, uow: FilingUnitOfWork | None = None) -> bool:
        """:func:`filing_reach`; the site's cameras are read (in ``uow``, else in a fresh one)
        only for an actor with a camera scope."""
        if not camera_scoped(actor):
            return filing_reach(actor, site)
        if uow is not None:
            return filing_reach(actor, site, site_cameras(uow, site))
        with self._uow() as fresh:
            return filing_reach(actor, site, site_cameras(fresh, site))

    def _site(self, uow: FilingUnitOfWork, actor: Principal, site_id: int) -> Site:
        site = uow.sites.get(site_id)
        if site is None or not self._reaches(actor, site, uow):
            raise NotFound("site", site_id)
        return site

    def _unit(self, uow: FilingUnitOfWork, site: Site) -> Unit:
        unit = uow.units.get(site.unit_id)
        if unit is None:
            raise NotFound("unit", site.unit_id)
        return unit

    def _case(self, uow: FilingUnitOfWork, actor: Principal, case_id: int) -> FilingCase:
        case = uow.filing_cases.get(case_id)
        site = uow.sites.get(case.site_id) if case else None
        if case is None or site is None or not self._reaches(actor, site, uow):
            raise NotFound("filing case", case_id)
        return case

    def _supervised_case(self, uow: FilingUnitOfWork, actor: Principal, case_id: int) -> FilingCase:
        """The case of a site the supervisor supervises (its jurisdiction, narrowed by its
        scopes; none: nothing reached)."""
        case = self._case(uow, actor, case_id)
        if actor.is_system:
            return case
        site = uow.sites.get(case.site_id)
        assert site is not None
        if actor.jurisdiction is None or not contains(actor.jurisdiction, site.division_code):
            raise PermissionDenied("the site is outside your jurisdiction")
        return case

    def _assemble(self, uow: FilingUnitOfWork, site: Site) -> tuple[Unit, Assembled]:
        assert site.id is not None
        unit = self._unit(uow, site)
        profile = FilingProfile.from_dict(uow.filing_profiles.get(site.id))
        cameras = uow.cameras.find([site.id])
        return unit, assemble_now(self._rules, self._divisions, unit, site, cameras, profile)
