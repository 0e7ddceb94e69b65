"""Compliance reports: the registry judged against the rule packs, per site and per unit."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from custos.domain.access import UNIT_SCOPED_ROLES, Permission
from custos.domain.calendar import WorkdayCalendar, shanghai_date
from custos.domain.clock import Clock
from custos.domain.codes import AddressCode
from custos.domain.errors import NotFound
from custos.domain.filing_recipient import FilingRecipient, filing_recipient
from custos.domain.kinds import LifecycleState, Severity
from custos.domain.registry import Camera, Filing, Site, Unit
from custos.domain.rules import (
    CameraFacts,
    FilingFacts,
    Finding,
    RuleBook,
    SiteFacts,
    Transition,
    evaluate_compliance,
)
from custos.domain.users import Principal
from custos.services.filing_withdrawn import withdrawn_facts
from custos.services.gb_cascade import CascadeUnitOfWork, cascade_findings
from custos.services.interruption_accounting import AccountingUnitOfWork, repair_findings
from custos.services.monitoring_room import DutyUnitOfWork
from custos.services.network_interruptions import InterruptionUnitOfWork, interruption_findings
from custos.services.operations_findings import OperationsUnitOfWork, operations_findings
from custos.services.police_reports import duty_findings

_SEVERITY_ORDER = {s: i for i, s in enumerate(reversed(list(Severity)))}


class ComplianceUnitOfWork(
    InterruptionUnitOfWork,
    AccountingUnitOfWork,
    OperationsUnitOfWork,
    DutyUnitOfWork,
    CascadeUnitOfWork,
    Protocol,
):
    """What the report reads: the registry, the interruptions, the camera faults."""


@dataclass(frozen=True)
class SiteReport:
    site: Site
    rule_packs: list[str]
    findings: list[Finding]

    def recipient(self) -> FilingRecipient:
        return filing_recipient(self.site.division_code, self.site.division_name)

    def as_dict(self) -> dict[str, Any]:
        return {
            "site_id": self.site.id,
            "site_name": self.site.name,
            "division_code": self.site.division_code,
            "filing_recipient": self.recipient().as_dict(),
            "rule_packs": self.rule_packs,
            "findings": [f.as_dict() for f in self.findings],
        }


@dataclass(frozen=True)
class UnitReport:
    unit: Unit
    as_of: date
    sites: list[SiteReport] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        counts = {s.value: 0 for s in Severity}
        for site in self.sites:
            for finding in site.findings:
                counts[finding.severity.value] += 1
        return counts

    def as_dict(self) -> dict[str, Any]:
        return {
            "unit_id": self.unit.id,
            "unit_name": self.unit.name,
            "as_of": self.as_of.isoformat(),
            "counts": self.counts,
            "sites": [s.as_dict() for s in self.sites],
        }

    def as_text(self) -> str:
        lines = [f"Unit {self.unit.id} {self.unit.name} — as of {self.as_of.isoformat()}"]
        for site in self.sites:
            lines.append(f"  Site {site.site.id} {site.site.name} ({', '.join(site.rule_packs)})")
            if not site.findings:
                lines.append("    no findings")
            for f in site.findings:
                cited = ", ".join(f.rule_ids)
                fine = f"; fine {f.fine.as_dict()}" if f.fine else ""
                due = f"; due {f.due.isoformat()}" if f.due else ""
                lines.append(
                    f"    [{f.severity}] {f.subject} {f.code}: {f.message} ({cited}{due}{fine})"
                )
        return "\n".join(lines)


class ComplianceService:
    def __init__(
        self,
        uow: Callable[[], ComplianceUnitOfWork],
        rules: RuleBook,
        clock: Clock,
        calendar: WorkdayCalendar,
    ) -> None:
        self._uow = uow
        self._rules = rules
        self._clock = clock
        self._calendar = calendar

    def site_report(self, actor: Principal, site_id: int) -> SiteReport:
        actor.require(Permission.COMPLIANCE_READ)
        with self._uow() as uow:
            site = uow.sites.get(site_id)
            if site is None or not _in_scope(actor, site.unit_id):
                raise NotFound("site", site_id)
            unit = uow.units.get(site.unit_id)
            assert unit is not None
            return self._judge(uow, unit, site)

    def unit_report(self, actor: Principal, unit_id: int) -> UnitReport:
        actor.require(Permission.COMPLIANCE_READ)
        with self._uow() as uow:
            unit = uow.units.get(unit_id)
            if unit is None or not _in_scope(actor, unit_id):
                raise NotFound("unit", unit_id)
            return self._unit(uow, unit)

    def all_units(self, actor: Principal) -> list[UnitReport]:
        actor.require(Permission.COMPLIANCE_READ)
        with self._uow() as uow:
            units = uow.units.find()
            return [self._unit(uow, u) for u in units if _in_scope(actor, u.id or 0)]

    def _unit(self, uow: ComplianceUnitOfWork, unit: Unit) -> UnitReport:
        sites = uow.sites.find(unit.id)
        reports = [self._judge(uow, unit, s) for s in sites]
        return UnitReport(unit, self._today(), reports)

    def _judge(self, uow: ComplianceUnitOfWork, unit: Unit, site: Site) -> SiteReport:
        assert site.id is not None
        cameras = uow.cameras.find([site.id])
        filings = uow.filings.find([site.id])
        findings = evaluate_compliance(
            self._rules,
            site_facts(unit, site, cameras),
            [camera_facts(c) for c in cameras],
            [filing_facts(f) for f in filings] + withdrawn_facts(uow, site.id),
            today=self._today(),
            calendar=self._calendar,
        )
        findings = [_addressed(f, site) for f in findings]
        findings += interruption_findings(uow, self._rules, site, self._clock.now())
        findings += operations_findings(uow, self._rules, site, self._clock.now())
        findings += duty_findings(uow, self._rules, site, self._clock.now())
        findings += repair_findings(uow, self._rules, site, self._clock.now())
        findings += cascade_findings(uow, self._rules, site)
        findings.sort(key=lambda f: _SEVERITY_ORDER[f.severity])
        packs = [p.id for p in self._rules.packs_for_division(site.division_code)]
        return SiteReport(site, packs, findings)

    def _today(self) -> date:
        return shanghai_date(self._clock.now())


def _addressed(f: Finding, site: Site) -> Finding:
    """A filing finding names who receives the filing, beside its due date."""
    if not f.code.startswith("filing."):
        return f
    to = filing_recipient(site.division_code, site.division_name)
    params = {**f.params, "recipient": to.name_zh, "recipient_division": to.division_code}
    message = f"{f.message}; file with {to.name_zh}"
    return dataclasses.replace(f, params=params, message=message)


def _in_scope(actor: Principal, unit_id: int) -> bool:
    return actor.role not in UNIT_SCOPED_ROLES or actor.unit_id == unit_id


def _earliest(cameras: list[Camera], state: LifecycleState) -> date | None:
    dates = [d for c in cameras if (d := c.date_of(state)) is not None]
    return min(dates, default=None)


def site_facts(unit: Unit, site: Site, cameras: list[Camera]) -> SiteFacts:
    """The site's system: its dates are those of its first camera to reach each step."""
    return SiteFacts(
        site_id=site.id or 0,
        division_code=site.division_code,
        unit_kind=unit.kind,
        categories=frozenset(site.categories),
        public_place_article=site.public_place_article,
        in_use_date=_earliest(cameras, LifecycleState.IN_SERVICE),
        acceptance_date=_earliest(cameras, LifecycleState.ACCEPTED),
        built_date=_earliest(cameras, LifecycleState.BUILT),
        is_classified=site.is_classified,
        is_public_road_or_square=site.is_public_road_or_square,
        government_invested=site.government_invested,
    )


def camera_facts(cam: Camera) -> CameraFacts:
    return CameraFacts(
        camera_id=cam.id or 0,
        categories=frozenset(cam.location_categories),
        covers_public_area=cam.covers_public_area,
        signage_installed=cam.signage.installed,
        retention_days=cam.retention_days,
        state=cam.state,
        history=tuple(Transition(e.state, e.on) for e in cam.lifecycle),
        network_digit=AddressCode.parse(cam.address_code).network_digit,
        captures_public_area_outside_premises=cam.captures_public_area_outside_premises,
    )


def filing_facts(f: Filing) -> FilingFacts:
    return FilingFacts(f.kind, f.trigger_date, f.filed_on, f.camera_id)
