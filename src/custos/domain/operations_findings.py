"""The compliance judgements on a unit's operating records: staff archive and training,
inspection, repair, entrustment, assessment, emergency plan and drills.

Pure functions of the records and the duties in force (``EffectiveRules.operating``); every
finding cites the articles of the duty it judges. A duty no applicable pack imposes is not
judged. Dates are Asia/Shanghai dates; ``today`` is the report's date.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from custos.domain.calendar import SHANGHAI
from custos.domain.emergency import Drill, EmergencyPlan
from custos.domain.kinds import Severity
from custos.domain.maintenance import (
    Assessment,
    Contractor,
    EntrustmentAgreement,
    Inspection,
    InspectionSchedule,
    WorkOrder,
)
from custos.domain.rules.duty import Duty
from custos.domain.rules.facts import Finding
from custos.domain.rules.operating import OperatingDuties
from custos.domain.staff import TRAINED_ROLES, StaffMember, Training, is_trained

#: How far back the report looks at duty sessions and late repairs: the unit's month.
REPORT_WINDOW_DAYS = 31


@dataclass(frozen=True)
class OnDuty:
    """Someone signed on duty in a monitoring room of the site (from the duty records)."""

    user_id: int
    username: str
    day: date


@dataclass(frozen=True)
class OperatingRecords:
    """What the judgement reads for one site: the unit's staff, trainings, contractors,
    assessments, plans and drills, and the site's schedules, inspections and work orders."""

    staff: Sequence[StaffMember] = ()
    trainings: Sequence[Training] = ()
    on_duty: Sequence[OnDuty] = ()
    schedules: Sequence[InspectionSchedule] = ()
    inspections: Sequence[Inspection] = ()
    work_orders: Sequence[WorkOrder] = ()
    contractors: Sequence[Contractor] = ()
    agreements: Sequence[EntrustmentAgreement] = ()
    assessments: Sequence[Assessment] = ()
    plans: Sequence[EmergencyPlan] = ()
    drills: Sequence[Drill] = ()


def operations_judgement(
    duties: OperatingDuties, site_id: int, records: OperatingRecords, now: datetime, today: date
) -> list[Finding]:
    """Every finding on the site's operating records, in a stable order."""
    subject = f"site:{site_id}"
    return [
        *staff_findings(duties, subject, records, today),
        *inspection_findings(duties, site_id, records, today),
        *repair_findings(duties, subject, records.work_orders, now),
        *entrustment_findings(duties, subject, records, now, today),
        *assessment_findings(duties, subject, records.assessments, today),
        *emergency_findings(duties, subject, records, today),
    ]


def _finding(
    code: str, subject: str, message: str, duty: Duty[Any], due: date | None = None, **params: Any
) -> Finding:
    return Finding(
        code=code,
        severity=Severity.VIOLATION,
        subject=subject,
        message=message,
        citations=duty.citations,
        due=due,
        params=params,
    )


def staff_findings(
    duties: OperatingDuties, subject: str, records: OperatingRecords, today: date
) -> list[Finding]:
    """Someone on duty with no archive entry; an untrained person on duty, or an archived
    monitoring or O&M person not trained as of today (first occasion per person)."""
    findings: list[Finding] = []
    by_user = {m.user_id: m for m in records.staff if m.user_id is not None}
    judged: set[int] = set()
    for duty in sorted(records.on_duty, key=lambda d: (d.day, d.user_id)):
        member = by_user.get(duty.user_id)
        if member is None or not member.employed_on(duty.day):
            if duties.staff_archive_required.value and duty.user_id not in judged:
                findings.append(
                    _finding(
                        "staff.archive.missing", subject,
                        f"{duty.username} was on duty on {duty.day.isoformat()} without an entry "
                        "in the monitoring staff archive",
                        duties.staff_archive_required, duty.day,
                        person=duty.username, day=duty.day.isoformat(),
                    )
                )  # fmt: skip
                judged.add(duty.user_id)
            continue
        if member.id in judged or not duties.training_required.value:
            continue
        if (f := _untrained(duties, subject, records.trainings, member, duty.day)) is not None:
            findings.append(f)
            judged.add(member.id or 0)
    for member in records.staff:
        if member.id in judged or member.role not in TRAINED_ROLES:
            continue
        if not member.employed_on(today) or not duties.training_required.value:
            continue
        if (f := _untrained(duties, subject, records.trainings, member, today)) is not None:
            findings.append(f)
    return findings


def _untrained(
    duties: OperatingDuties,
    subject: str,
    trainings: Sequence[Training],
    member: StaffMember,
    day: date,
) -> Finding | None:
    verdict = is_trained(
        trainings,
        member.id or 0,
        day,
        duties.training_interval_days.value,
        duties.training_contents.value,
    )
    if verdict.trained:
        return None
    missing = sorted(c.value for c in verdict.missing)
    return _finding(
        "staff.training.missing", subject,
        f"{member.name} ({member.role.value}) was not trained as of {day.isoformat()}"
        + (f": missing {', '.join(missing)}" if missing else ""),
        duties.training_required, day,
        person=member.name, day=day.isoformat(), training_contents=missing,
    )  # fmt: skip


def _local(at: datetime) -> str:
    """An instant as a Shanghai wall-clock time, for a sentence."""
    return at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def inspection_findings(
    duties: OperatingDuties, site_id: int, records: OperatingRecords, today: date
) -> list[Finding]:
    """A schedule whose next inspection is past due; a site with no schedule at all."""
    duty = duties.inspection_interval_days
    if duty.value is None:
        return []
    schedules = [s for s in records.schedules if s.site_id == site_id]
    if not schedules:
        return [
            _finding(
                "maintenance.inspection.unscheduled", f"site:{site_id}",
                "The site has no inspection and maintenance schedule", duty,
            )
        ]  # fmt: skip
    findings: list[Finding] = []
    for s in schedules:
        interval = min(s.interval_days, duty.value)
        done = [i.done_on for i in records.inspections if i.schedule_id == s.id]
        last = max(done, default=s.starts_on)
        due = last + timedelta(days=interval)
        if due < today:
            subject = f"camera:{s.camera_id}" if s.camera_id else f"site:{site_id}"
            findings.append(
                _finding(
                    "maintenance.inspection.overdue", subject,
                    f"Inspection every {interval} days was due on {due.isoformat()} "
                    f"(last {last.isoformat()})",
                    duty, due, interval_days=interval, last=last.isoformat(),
                    due_on=due.isoformat(), schedule_id=s.id,
                )
            )  # fmt: skip
    return findings


def repair_findings(
    duties: OperatingDuties, subject: str, orders: Sequence[WorkOrder], now: datetime
) -> list[Finding]:
    """A work order not repaired within the deadline: still open past it (overdue), or
    repaired after it within the report's month (late)."""
    duty = duties.repair_deadline_hours
    if duty.value is None:
        return []
    findings: list[Finding] = []
    window_start = now - timedelta(days=REPORT_WINDOW_DAYS)
    for o in orders:
        deadline = o.opened_at + timedelta(hours=duty.value)
        if o.repaired_at is None and deadline < now:
            what = "overdue"
        elif o.repaired_at is not None and o.repaired_at > deadline >= window_start:
            what = "late"
        else:
            continue
        on = f"camera:{o.camera_id}" if o.camera_id else subject
        findings.append(
            _finding(
                f"maintenance.repair.{what}", on,
                f"Work order {o.id} ({o.description}) was not repaired within {duty.value} h "
                f"(by {deadline.isoformat()})",
                duty, None, work_order_id=o.id, hours=duty.value, deadline=_local(deadline),
            )
        )  # fmt: skip
    return findings


def entrustment_findings(
    duties: OperatingDuties, subject: str, records: OperatingRecords, now: datetime, today: date
) -> list[Finding]:
    """A contractor doing O&M for the unit (marked so, or assigned a work order this month)
    with no agreement in force today."""
    duty = duties.entrustment_agreement_required
    if not duty.value:
        return []
    since = now - timedelta(days=REPORT_WINDOW_DAYS)
    assigned = {
        o.assignee_contractor_id
        for o in records.work_orders
        if o.assigned_at is not None and o.assigned_at >= since
    }
    return [
        _finding(
            "maintenance.entrustment.missing", subject,
            f"{c.name} does operation and maintenance without an agreement in force that sets "
            "out who answers for safe operation",
            duty, None, contractor=c.name, contractor_id=c.id,
        )
        for c in records.contractors
        if (c.maintains or c.id in assigned)
        and not any(a.contractor_id == c.id and a.valid_on(today) for a in records.agreements)
    ]  # fmt: skip


def assessment_findings(
    duties: OperatingDuties, subject: str, assessments: Sequence[Assessment], today: date
) -> list[Finding]:
    duty = duties.assessment_interval_days
    if duty.value is None:
        return []
    last = max((a.done_on for a in assessments if a.done_on <= today), default=None)
    if last is not None and last + timedelta(days=duty.value) >= today:
        return []
    since = f"the last was on {last.isoformat()}" if last else "there has been none"
    return [
        _finding(
            "maintenance.assessment.overdue", subject,
            f"No assessment of effectiveness and security within {duty.value} days; {since}",
            duty, None, interval_days=duty.value, last=last.isoformat() if last else "-",
        )
    ]  # fmt: skip


def emergency_findings(
    duties: OperatingDuties, subject: str, records: OperatingRecords, today: date
) -> list[Finding]:
    """No emergency plan on file; a plan not drilled within the interval."""
    if not duties.emergency_plan_required.value:
        return []
    plans = [p for p in records.plans if p.approved_on <= today]
    if not plans:
        return [
            _finding(
                "emergency.plan.missing", subject, "No emergency plan is on file",
                duties.emergency_plan_required,
            )
        ]  # fmt: skip
    interval = duties.drill_interval_days.value
    if interval is None:
        return []
    first_plan = min(p.approved_on for p in plans)
    last = max((d.held_on for d in records.drills if d.held_on <= today), default=None)
    due = (last or first_plan) + timedelta(days=interval)
    if due >= today:
        return []
    return [
        _finding(
            "emergency.drill.overdue", subject,
            f"The emergency plan has not been drilled within {interval} days (due {due})",
            duties.drill_interval_days, due, interval_days=interval, due_on=due.isoformat(),
        )
    ]  # fmt: skip
