"""Filing (备案) and report deadlines: when each is due, and whether it was met.

Every applicable rule gives its own due date; the earliest binds (one filing with the county
police meets them all). Dates are Asia/Shanghai calendar dates, the start day excluded
(§8 T-01); working days follow the injected calendar (§8 T-02), which fails closed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from custos.domain.calendar import WorkdayCalendar, add_calendar_days, add_working_days
from custos.domain.errors import CalendarNotCovered
from custos.domain.kinds import LifecycleState, Severity
from custos.domain.rules.citation import Citation
from custos.domain.rules.engine import RuleBook
from custos.domain.rules.facts import (
    CameraFacts,
    FilingFacts,
    FilingKind,
    Finding,
    SiteFacts,
)
from custos.domain.rules.model import FilingRule
from custos.domain.rules.penalties import penalised
from custos.domain.rules.terms import FilingTrigger

_TRIGGER = {
    FilingKind.CHANGE: FilingTrigger.CHANGE,
    FilingKind.RELOCATION: FilingTrigger.RELOCATION,
    FilingKind.REMOVAL: FilingTrigger.REMOVAL,
}
_FROM_STATE = {
    LifecycleState.CHANGED: FilingKind.CHANGE,
    LifecycleState.RELOCATED: FilingKind.RELOCATION,
    LifecycleState.REMOVED: FilingKind.REMOVAL,
}


@dataclass(frozen=True, slots=True)
class DueDate:
    """One rule's due date (None: "promptly", no number)."""

    due: date | None
    citation: Citation


@dataclass(frozen=True, slots=True)
class _Judged:
    book: RuleBook
    today: date
    calendar: WorkdayCalendar


def initial_filing_findings(
    book: RuleBook,
    site: SiteFacts,
    filings: Sequence[FilingFacts],
    today: date,
    calendar: WorkdayCalendar,
) -> list[Finding]:
    """Initial filing: missing, late or pending against every pack's deadline."""
    try:
        dues = initial_dues(book, site, calendar)
    except CalendarNotCovered as exc:
        rules = [r for p in book.packs_for_division(site.division_code) for r in p.filing]
        return [_calendar_gap(site.subject, FilingKind.INITIAL, rules, exc)]
    filed = [f.filed_on for f in filings if f.kind is FilingKind.INITIAL and f.filed_on]
    return _judge(
        _Judged(book, today, calendar),
        FilingKind.INITIAL,
        site.subject,
        dues,
        min(filed, default=None),
    )


def initial_dues(book: RuleBook, site: SiteFacts, calendar: WorkdayCalendar) -> list[DueDate]:
    """The initial-filing due date under each applicable pack (pre-existing rules replace a
    pack's regular rules for a system that pre-dates the pack)."""
    dues: list[DueDate] = []
    for pack in book.packs_for_division(site.division_code):
        rules = [
            r
            for r in pack.filing
            if pack.applies_on_site(r.citation, site.public_place_article) and r.deadline
        ]
        pre = [
            r
            for r in rules
            if r.trigger is FilingTrigger.PREEXISTING
            and r.preexisting_if
            and site.reached_before(r.preexisting_if, pack.effective_date)
        ]
        if pre:
            dues += [DueDate(_due(pack.effective_date, r, calendar), r.citation) for r in pre]
            continue
        starts = {
            FilingTrigger.AFTER_ACCEPTANCE: site.acceptance_date,
            FilingTrigger.AFTER_IN_USE: site.in_use_date,
        }
        dues += [
            DueDate(_due(start, r, calendar), r.citation)
            for r in rules
            if (start := starts.get(r.trigger)) is not None
        ]
    return sorted(dues, key=lambda d: d.due or date.max)


def later_filing_findings(
    book: RuleBook,
    site: SiteFacts,
    cameras: Sequence[CameraFacts],
    filings: Sequence[FilingFacts],
    today: date,
    calendar: WorkdayCalendar,
) -> list[Finding]:
    """Change, relocation and removal filings, including those camera histories call for."""
    judged = _Judged(book, today, calendar)
    findings: list[Finding] = []
    for filing in [*filings, *_owed_by_history(cameras, filings, today)]:
        if filing.kind is FilingKind.INITIAL:
            continue
        if filing.filed_on is not None and filing.filed_on <= filing.trigger_date:
            continue  # filed the day it was owed: never late, whatever the deadline
        subject = f"camera:{filing.camera_id}" if filing.camera_id is not None else site.subject
        rules = book.filing_rules(
            site.division_code, _TRIGGER[filing.kind], site.public_place_article
        )
        try:
            dues = [DueDate(_due(filing.trigger_date, r, calendar), r.citation) for r in rules]
        except CalendarNotCovered as exc:
            findings.append(_calendar_gap(subject, filing.kind, rules, exc))
            continue
        findings += _judge(judged, filing.kind, subject, dues, filing.filed_on)
    return findings


def _owed_by_history(
    cameras: Iterable[CameraFacts], filings: Sequence[FilingFacts], today: date
) -> list[FilingFacts]:
    """Filings a camera's change, relocation or removal calls for that nobody recorded.

    A change, relocation or removal filing covers every such step (whatever its kind: a task's
    kind follows its diff, a change may become a removal) dated from its trigger date up to
    the day it was filed, or up to today while it is not yet filed: a re-filing task follows
    every filed attribute that moved meanwhile (docs/design/filing.md D4). A filing naming a
    camera covers that camera's steps; one naming none covers every camera's."""
    windows = [
        (f.trigger_date, f.filed_on or today, f.camera_id) for f in filings if f.kind in _TRIGGER
    ]
    owed: list[FilingFacts] = []
    for camera in cameras:
        for step in camera.history:
            kind = _FROM_STATE.get(step.state)
            if kind is None:
                continue
            if any(_covers(w, step.on, camera.camera_id) for w in windows):
                continue
            owed.append(FilingFacts(kind, step.on, None, camera.camera_id))
    return owed


def _covers(window: tuple[date, date, int | None], on: date, camera_id: int) -> bool:
    start, end, camera = window
    return (camera is None or camera == camera_id) and start <= on <= max(start, end)


def _due(start: date, rule: FilingRule, calendar: WorkdayCalendar) -> date | None:
    if rule.deadline is None:
        return None
    if rule.deadline.working_days:
        return add_working_days(start, rule.deadline.days, calendar)
    return add_calendar_days(start, rule.deadline.days)


def _judge(
    judged: _Judged,
    kind: FilingKind,
    subject: str,
    dues: Sequence[DueDate],
    filed_on: date | None,
) -> list[Finding]:
    dated = sorted((d for d in dues if d.due is not None), key=lambda d: d.due or date.max)
    prompt = [d.citation for d in dues if d.due is None]
    if not dated and not prompt:
        return []
    label = f"{kind.value} filing"
    if filed_on is not None:
        missed = [d for d in dated if d.due is not None and filed_on > d.due]
        if not missed:
            return []
        message = f"{label} made on {filed_on}, after it was due on {missed[0].due}"
        params = {"kind": kind.value, "filed_on": str(filed_on), "due": str(missed[0].due)}
        return [
            _finding(
                judged,
                kind,
                "late",
                Severity.WARNING,
                subject,
                message,
                missed,
                dated,
                prompt,
                ("finding.filing.late", params),
            )
        ]
    if not dated:
        message = f"{label} owed promptly (及时); the applicable texts set no number of days"
        key = ("finding.filing.pending_promptly", {"kind": kind.value})
        return [
            _finding(judged, kind, "pending", Severity.INFO, subject, message, [], [], prompt, key)
        ]
    earliest = dated[0]
    missed = [d for d in dated if d.due is not None and judged.today > d.due]
    if not missed:
        message = f"{label} due on {earliest.due}"
        key = ("finding.filing.pending", {"kind": kind.value, "due": str(earliest.due)})
        return [
            _finding(
                judged, kind, "pending", Severity.INFO, subject, message, [], dated, prompt, key
            )
        ]
    message = f"{label} not made; overdue since {earliest.due}"
    key = ("finding.filing.overdue", {"kind": kind.value, "due": str(earliest.due)})
    return [
        _finding(
            judged,
            kind,
            "overdue",
            Severity.VIOLATION,
            subject,
            message,
            missed,
            dated,
            prompt,
            key,
        )
    ]


def _finding(
    judged: _Judged,
    kind: FilingKind,
    outcome: str,
    severity: Severity,
    subject: str,
    message: str,
    missed: Sequence[DueDate],
    dated: Sequence[DueDate],
    prompt: Sequence[Citation],
    key: tuple[str, dict[str, Any]],
) -> Finding:
    """Citations: the missed deadlines first (earliest first), then the others that apply."""
    cites = tuple(
        dict.fromkeys([*(d.citation for d in missed), *(d.citation for d in dated), *prompt])
    )
    penalty = penalised(judged.book, [d.citation for d in missed]) if missed else None
    return Finding(
        code=f"filing.{kind.value}.{outcome}",
        severity=severity,
        subject=subject,
        message=message,
        citations=cites,
        fine=penalty.fine if penalty and not penalty.fine.is_empty else None,
        due=dated[0].due if dated else None,
        penalty_rule_id=penalty.citation.rule_id if penalty else None,
        key=key[0],
        params=key[1],
    )


def _calendar_gap(
    subject: str, kind: FilingKind, rules: Sequence[FilingRule], exc: CalendarNotCovered
) -> Finding:
    return Finding(
        code="calendar.not_covered",
        severity=Severity.CRITICAL,
        subject=subject,
        message=f"cannot compute the {kind.value} filing deadline: {exc}",
        params={"kind": kind.value, "year": exc.year},
        citations=tuple(r.citation for r in rules if r.deadline and r.deadline.working_days),
    )
