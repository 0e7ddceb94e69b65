"""What the filing cases tell the deadline rules beyond their ``Filing`` rows: the camera
history steps they account for.

docs/design/filing.md D4. ``domain/rules/filings.py`` counts a camera's changed, relocated or
removed step as a filing owed unless a ``Filing`` row covers it. A case covers more than its row
says:

- a withdrawn task (the change undone before it was filed; its row deleted) owed nothing for
  any step from its trigger date to the day it was withdrawn;
- a re-filing task follows every filed attribute that moved on any camera of the site while it
  was open, although its row may name the one camera it started with: it covers every camera's
  steps from its trigger date to its decision (or until now, while open);
- an accepted case covers the steps between its accepted submission and the decision: a change
  made meanwhile either was undone or opened the next task on acceptance
  (``FilingChanges.after_acceptance``), which owes its own filing.

The compliance report adds one fact per such step date, dated and "filed" that day (judged met),
so it covers every camera's step of that date.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from custos.domain.calendar import shanghai_date
from custos.domain.filing_case import CaseState, FilingCase
from custos.domain.kinds import LifecycleState
from custos.domain.rules.facts import FilingFacts, FilingKind

_STEPS = (LifecycleState.CHANGED, LifecycleState.RELOCATED, LifecycleState.REMOVED)
_TASKS = (FilingKind.CHANGE, FilingKind.RELOCATION, FilingKind.REMOVAL)


def withdrawn_facts(uow: Any, site_id: int) -> list[FilingFacts]:
    """One met filing per camera-step date a case of the site accounts for (none when this
    unit of work has no filing cases)."""
    cases = getattr(uow, "filing_cases", None)
    if cases is None:
        return []
    days = sorted(
        {e.on for c in uow.cameras.find([site_id]) for e in c.lifecycle if e.state in _STEPS}
    )
    covered: dict[date, FilingKind] = {}
    for case in cases.find([site_id]):
        kind = case.kind if case.kind in _TASKS else FilingKind.CHANGE
        for start, end in _spans(case):
            for day in days:
                if start <= day <= end:
                    covered.setdefault(day, kind)
        if case.state is CaseState.WITHDRAWN:
            covered.setdefault(case.trigger_date, kind)
    return [FilingFacts(kind, day, day) for day, kind in sorted(covered.items())]


def _spans(case: FilingCase) -> list[tuple[date, date]]:
    """The dates whose camera steps the case accounts for."""
    task = case.kind in _TASKS
    if case.state is CaseState.WITHDRAWN:
        return [(case.trigger_date, _last(case, "withdraw") or case.trigger_date)]
    if case.state is CaseState.ACCEPTED:
        decided = case.decided_on or _last(case, "accept") or case.trigger_date
        spans = [(case.trigger_date, decided)] if task else []
        if case.latest is not None:
            spans.append((case.latest.submitted_on, decided))
        return spans
    return [(case.trigger_date, date.max)] if task else []


def _last(case: FilingCase, action: str) -> date | None:
    dates = [shanghai_date(e.at) for e in case.history if e.action == action]
    return dates[-1] if dates else None
