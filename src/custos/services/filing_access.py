"""What every step of the filing loop starts from: the wiring, and who reaches which site and
case (unit or jurisdiction; deny by default for a supervisor without one, design D5)."""

from __future__ import annotations

from datetime import date

from custos.domain.access import Role
from custos.domain.calendar import WorkdayCalendar, shanghai_date
from custos.domain.clock import Clock
from custos.domain.divisions import DivisionTable, contains
from custos.domain.errors import NotFound, PermissionDenied
from custos.domain.filing_case import FilingCase
from custos.domain.filing_package import FilingProfile
from custos.domain.registry import Site, Unit
from custos.domain.rules import RuleBook
from custos.domain.users import Principal
from custos.domain.visibility import reaches_site
from custos.services.filing_assembly import Assembled, assemble_now
from custos.services.filing_ports import (
    Documents,
    FilingUnitOfWork,
    FilingUnitOfWorkFactory,
    PackagePdf,
    ProfileChanged,
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

    def _reaches(self, actor: Principal, site: Site) -> bool:
        """Unit or jurisdiction; a supervisor without a jurisdiction reaches nothing (D5)."""
        if actor.role is Role.SUPERVISOR and actor.jurisdiction is None:
            return False
        return reaches_site(actor, site.unit_id, site.division_code)

    def _site(self, uow: FilingUnitOfWork, actor: Principal, site_id: int) -> Site:
        site = uow.sites.get(site_id)
        if site is None or not self._reaches(actor, site):
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
        if case is None or site is None or not self._reaches(actor, site):
            raise NotFound("filing case", case_id)
        return case

    def _supervised_case(self, uow: FilingUnitOfWork, actor: Principal, case_id: int) -> FilingCase:
        """The case of a site inside the supervisor's jurisdiction (none: nothing reached)."""
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
