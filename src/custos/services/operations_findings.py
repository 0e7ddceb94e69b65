"""The compliance findings on a unit's operating records for one site: untrained or
unarchived staff on duty, overdue inspections, unrepaired faults, missing entrustment
agreements, overdue assessments, no emergency plan or no drill.

The judgement is :mod:`custos.domain.operations_findings`; this module reads the records. Who
was on duty comes from the duty records (sign-ons in the site's monitoring rooms within the
report's month). Each finding carries the penalty article of its first cited duty that has one.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Protocol

from custos.domain.calendar import shanghai_date
from custos.domain.operations_findings import (
    REPORT_WINDOW_DAYS,
    OnDuty,
    OperatingRecords,
    operations_judgement,
    staff_findings,
)
from custos.domain.registry import Site
from custos.domain.rules import Finding, RuleBook
from custos.domain.rules.facts import OPERATING_STATES
from custos.services.emergency import EmergencyUnitOfWork
from custos.services.maintenance import MaintenanceUnitOfWork
from custos.services.monitoring_room import DutyUnitOfWork


class OperationsUnitOfWork(MaintenanceUnitOfWork, EmergencyUnitOfWork, DutyUnitOfWork, Protocol):
    """What the operating findings read."""


def operations_findings(
    uow: OperationsUnitOfWork, rules: RuleBook, site: Site, now: datetime
) -> list[Finding]:
    """Every finding on the operating records, as the site's packs judge them. The duties bind
    the unit using a system: a site with no camera in operation yet is not judged."""
    if not _in_operation(uow, site):
        return []
    duties = rules.effective(site.division_code, site.public_place_article).operating
    records = _records(uow, site, now)
    found = operations_judgement(duties, site.id or 0, records, now, shanghai_date(now))
    return [_with_penalty(rules, f) for f in found]


def training_findings(
    uow: OperationsUnitOfWork, rules: RuleBook, site: Site, now: datetime
) -> list[Finding]:
    """Only the staff findings: someone on duty without an archive entry or untrained."""
    if not _in_operation(uow, site):
        return []
    duties = rules.effective(site.division_code, site.public_place_article).operating
    records = _records(uow, site, now)
    found = staff_findings(duties, f"site:{site.id}", records, shanghai_date(now))
    return [_with_penalty(rules, f) for f in found]


def _in_operation(uow: OperationsUnitOfWork, site: Site) -> bool:
    return any(c.state in OPERATING_STATES for c in uow.cameras.find([site.id or 0]))


def _records(uow: OperationsUnitOfWork, site: Site, now: datetime) -> OperatingRecords:
    unit = [site.unit_id]
    schedules = uow.maintenance.schedules([site.id or 0])
    contractors = uow.contractors.find(unit)
    return OperatingRecords(
        staff=uow.staff.find(unit),
        trainings=uow.staff.trainings(unit),
        on_duty=_on_duty(uow, site, now),
        schedules=schedules,
        inspections=uow.maintenance.inspections([s.id or 0 for s in schedules]),
        work_orders=uow.maintenance.orders([site.id or 0]),
        contractors=contractors,
        agreements=uow.contractors.agreements([c.id or 0 for c in contractors]),
        assessments=uow.maintenance.assessments(unit),
        plans=uow.emergency.plans(unit),
        drills=uow.emergency.drills(unit),
    )


def _on_duty(uow: OperationsUnitOfWork, site: Site, now: datetime) -> list[OnDuty]:
    rooms = [r.id for r in uow.monitoring_rooms.find([site.unit_id]) if r.site_id == site.id]
    if not rooms:
        return []
    since = now - timedelta(days=REPORT_WINDOW_DAYS)
    sessions = uow.duty.sessions([r for r in rooms if r is not None], since=since)
    return [OnDuty(s.user_id, s.username, shanghai_date(s.signed_on_at)) for s in sessions]


def _with_penalty(rules: RuleBook, finding: Finding) -> Finding:
    for citation in finding.citations:
        penalty = rules.penalty_for(citation)
        if penalty is not None:
            return dataclasses.replace(
                finding, fine=penalty.fine, penalty_rule_id=penalty.citation.rule_id
            )
    return finding
