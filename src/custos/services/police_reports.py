"""Reports of suspicious information to the police (向公安机关报告), and the duty findings.

A report records when the information was seen, when and how it was reported, to which organ,
the reference the police gave, and what. The deadline is the packs' ``operating.
report_deadline_minutes`` ("promptly", Xi'an "immediately"; Custos's reading of each is a
product default the duty says); a report is never refused for being late — the compliance
report carries the finding, as it does for a suspicious duty-log entry nobody reported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from custos.domain.access import Permission
from custos.domain.audit import AuditEvent
from custos.domain.calendar import shanghai_date
from custos.domain.clock import Clock
from custos.domain.duty import PoliceReport, ReportChannel, check_report
from custos.domain.duty_findings import (
    ReportDeadline,
    coverage_findings,
    report_findings,
    unrelated_person_findings,
)
from custos.domain.errors import FieldError, ValidationFailed
from custos.domain.registry import Site
from custos.domain.rules import Finding, RuleBook
from custos.domain.users import Principal
from custos.services.monitoring_room import DutyUnitOfWork, get_room
from custos.services.refusals import refusals_logged

#: How far back the compliance report looks for gaps in duty coverage.
COVERAGE_LOOKBACK_DAYS = 31


@dataclass(frozen=True)
class ReportInput:
    seen_at: datetime
    reported_at: datetime
    organ: str
    channel: ReportChannel
    what: str
    organ_code: str = ""
    reference: str = ""
    entry_id: int | None = None


@dataclass(frozen=True)
class JudgedReport:
    report: PoliceReport
    deadline: ReportDeadline

    def as_dict(self) -> dict[str, Any]:
        due = self.deadline.due(self.report.seen_at)
        return {
            **self.report.as_dict(),
            "due": due.isoformat() if due else None,
            "deadline_minutes": self.deadline.minutes,
            "late": due is not None and self.report.reported_at > due,
            "rule_ids": [c.rule_id for c in self.deadline.citations],
        }


class PoliceReportService:
    def __init__(self, uow: Callable[[], DutyUnitOfWork], rules: RuleBook, clock: Clock) -> None:
        self._uow = uow
        self._rules = rules
        self._clock = clock

    def record(self, actor: Principal, room_id: int, data: ReportInput) -> JudgedReport:
        actor.require(Permission.DUTY_WRITE)
        now = self._clock.now()
        logged = refusals_logged(
            self._uow, self._clock, actor, "duty.report.record", "monitoring_room", room_id
        )
        with logged, self._uow() as uow:
            _, site = get_room(uow, actor, room_id)
            report = PoliceReport(
                None,
                room_id,
                data.entry_id,
                data.seen_at,
                data.reported_at,
                data.organ.strip(),
                data.organ_code.strip(),
                data.channel,
                data.reference.strip(),
                data.what.strip(),
                actor.username,
                now,
            )
            errors = check_report(report, now)
            if data.entry_id is not None:
                entry = uow.duty.get_entry(data.entry_id)
                if entry is None or entry.room_id != room_id:
                    errors.append(
                        FieldError(
                            "entry_id",
                            "no such entry in this room's log",
                            key="refusal.duty.no_entry",
                        )
                    )
            if errors:
                raise ValidationFailed(errors)
            report = uow.police_reports.add(report)
            judged = JudgedReport(report, report_deadline(self._rules, site))
            uow.audit.append(
                AuditEvent(
                    now,
                    actor.username,
                    "duty.report.record",
                    "police_report",
                    str(report.id),
                    after=judged.as_dict(),
                )
            )
            uow.commit()
        return judged

    def reports(self, actor: Principal, room_id: int) -> list[JudgedReport]:
        actor.require(Permission.DUTY_READ)
        with self._uow() as uow:
            _, site = get_room(uow, actor, room_id)
            deadline = report_deadline(self._rules, site)
            return [JudgedReport(r, deadline) for r in uow.police_reports.find(room_id)]


def report_deadline(rules: RuleBook, site: Site) -> ReportDeadline:
    duty = rules.effective(site.division_code, site.public_place_article).operating
    return ReportDeadline(
        duty.report_deadline_minutes.value, duty.report_deadline_minutes.citations
    )


def duty_findings(uow: DutyUnitOfWork, rules: RuleBook, site: Site, now: datetime) -> list[Finding]:
    """The duty records of the site's monitoring rooms judged against the duties in force:
    gaps in duty coverage (the last month), police reports missing or late, unrelated persons
    in the room."""
    duties = rules.effective(site.division_code, site.public_place_article).operating
    deadline = report_deadline(rules, site)
    today = shanghai_date(now)
    days = [today - timedelta(days=n) for n in range(COVERAGE_LOOKBACK_DAYS, -1, -1)]
    since = now - timedelta(days=COVERAGE_LOOKBACK_DAYS + 1)
    findings: list[Finding] = []
    for room in uow.monitoring_rooms.find([site.unit_id]):
        if room.site_id != site.id or room.id is None:
            continue
        if duties.duty_monitoring.value:
            shifts = uow.duty.shifts(room.id)
            sessions = uow.duty.sessions([room.id], since=since)
            findings += coverage_findings(
                room, shifts, sessions, days, duties.duty_monitoring.citations, now
            )
        if deadline.minutes is not None:
            entries = uow.duty.log(room.id)
            findings += report_findings(
                room, entries, uow.police_reports.find(room.id), deadline, now
            )
        if duties.room_access_restricted.value:
            findings += unrelated_person_findings(
                room, uow.monitoring_rooms.entries(room.id), duties.room_access_restricted.citations
            )
    return findings
