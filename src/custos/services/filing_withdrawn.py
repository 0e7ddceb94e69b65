"""What a withdrawn re-filing task means to the deadline rules: nothing was owed.

docs/design/filing.md D4. A change undone before it was filed withdraws its draft task and
deletes its ``Filing`` row; the camera's own lifecycle still says it changed that day, which
``domain/rules/filings.py`` would otherwise count as a change filing nobody recorded. The
compliance report adds these facts, dated and "filed" on the trigger date, so they are judged
met and cover the camera's history step of that day.
"""

from __future__ import annotations

from typing import Any

from custos.domain.filing_case import CaseState
from custos.domain.rules.facts import FilingFacts, FilingKind

#: An undone edit leaves a ``changed`` or ``relocated`` step in the camera's history.
_UNDONE = (FilingKind.CHANGE, FilingKind.RELOCATION)


def withdrawn_facts(uow: Any, site_id: int) -> list[FilingFacts]:
    """One met filing per kind an undone change may have left in the history, per withdrawn
    task of the site (none when this unit of work has no filing cases)."""
    cases = getattr(uow, "filing_cases", None)
    if cases is None:
        return []
    return [
        FilingFacts(kind, case.trigger_date, case.trigger_date)
        for case in cases.find([site_id], [CaseState.WITHDRAWN])
        for kind in dict.fromkeys([case.kind, *_UNDONE])
    ]
