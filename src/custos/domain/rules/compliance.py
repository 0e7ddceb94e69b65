"""Compliance of one site and its cameras against every pack that applies. Pure: the caller
passes ``today`` (an Asia/Shanghai date) and the working-day calendar; nothing reads a clock.

Findings (``Finding.code``):

* ``mandatory_category.uncovered`` — the site is in a mandatory category and no operating
  camera covers it;
* ``signage.missing`` — a camera covering a public area has no sign;
* ``retention.below_floor`` — a camera keeps footage for less than a pack requires;
* ``acceptance.in_use_before_acceptance`` — Chongqing art. 14 / Xi'an art. 14 ¶2 (§8 F-04);
* ``filing.<kind>.overdue|late|pending`` — initial, change, relocation and removal filings;
* ``placement.refused`` — a registered camera that the placement rules now refuse;
* ``calendar.not_covered`` — a working-day deadline the calendar cannot compute (fail closed).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from custos.domain.calendar import WorkdayCalendar
from custos.domain.kinds import Severity, UnitKind
from custos.domain.rules.categories import CATEGORY_KEYS, expand_categories
from custos.domain.rules.citation import Citation
from custos.domain.rules.effective import EffectiveRules
from custos.domain.rules.engine import RuleBook
from custos.domain.rules.facts import CameraFacts, FilingFacts, Finding, SiteFacts
from custos.domain.rules.filings import initial_filing_findings, later_filing_findings
from custos.domain.rules.penalties import penalised
from custos.domain.rules.placement import PlacementFacts
from custos.domain.rules.terms import SignageScope


def evaluate_compliance(
    book: RuleBook,
    site: SiteFacts,
    cameras: Sequence[CameraFacts],
    filings: Sequence[FilingFacts],
    *,
    today: date,
    calendar: WorkdayCalendar,
) -> list[Finding]:
    """Every finding for the site and its cameras, site findings first."""
    effective = book.effective(site.division_code, site.public_place_article)
    findings = _uncovered_categories(book, site, cameras, effective)
    findings += _use_before_acceptance(book, site, effective)
    findings += initial_filing_findings(book, site, filings, today, calendar)
    findings += later_filing_findings(book, site, cameras, filings, today, calendar)
    for camera in cameras:
        if camera.is_installed:
            findings += _placement(book, site, camera)
            findings += _signage(book, site, camera, effective)
            findings += _retention(book, site, camera)
    return findings


def _finding(
    book: RuleBook,
    code: str,
    subject: str,
    message: str,
    citations: Sequence[Citation],
    breached: Sequence[Citation] | None = None,
    params: dict[str, Any] | None = None,
) -> Finding:
    penalty = penalised(book, citations if breached is None else breached)
    return Finding(
        code=code,
        severity=Severity.VIOLATION,
        subject=subject,
        message=message,
        citations=tuple(dict.fromkeys(citations)),
        fine=penalty.fine if penalty and not penalty.fine.is_empty else None,
        penalty_rule_id=penalty.citation.rule_id if penalty else None,
        params=params or {},
    )


def _uncovered_categories(
    book: RuleBook, site: SiteFacts, cameras: Sequence[CameraFacts], effective: EffectiveRules
) -> list[Finding]:
    covered: set[str] = set()
    for camera in cameras:
        if camera.is_operating:
            covered |= expand_categories(camera.categories)
    findings = []
    for key in sorted(site.categories):
        cites = effective.mandatory_categories.get(key, ())
        if cites and key not in covered:
            label = CATEGORY_KEYS[key].label_en if key in CATEGORY_KEYS else key
            message = (
                f"the site is in category {key!r} ({label}), where a system is mandatory, "
                "but no operating camera covers it"
            )
            findings.append(
                _finding(
                    book,
                    "mandatory_category.uncovered",
                    site.subject,
                    message,
                    cites,
                    params={"categories": [key]},
                )
            )
    return findings


def _use_before_acceptance(
    book: RuleBook, site: SiteFacts, effective: EffectiveRules
) -> list[Finding]:
    duty = effective.acceptance_before_use
    if not duty.value or site.in_use_date is None:
        return []
    if site.acceptance_date is not None and site.acceptance_date <= site.in_use_date:
        return []
    accepted = site.acceptance_date or "never"
    message = f"put into use on {site.in_use_date} but accepted {accepted}"
    code = "acceptance.in_use_before_acceptance"
    params = {"in_use": str(site.in_use_date), "accepted": str(site.acceptance_date or "")}
    return [_finding(book, code, site.subject, message, duty.citations, params=params)]


def _placement(book: RuleBook, site: SiteFacts, camera: CameraFacts) -> list[Finding]:
    facts = PlacementFacts(
        division_code=site.division_code,
        location_categories=frozenset(camera.categories),
        site_is_classified=site.is_classified,
        network_digit=-1 if camera.network_digit is None else camera.network_digit,
        unit_kind=site.unit_kind,
        site_article=site.public_place_article,
        site_is_public_road_or_square=site.is_public_road_or_square,
        captures_public_area_outside_premises=camera.captures_public_area_outside_premises,
    )
    return [
        Finding(
            code="placement.refused",
            severity=Severity.VIOLATION,
            subject=camera.subject,
            message=f"{v.field}: {v.reason}",
            citations=(v.citation, *(Citation.parse(c) for c in v.also_cites)),
            fine=v.fine,
            penalty_rule_id=v.penalty_rule_id,
            key=f"refusal.{v.violation_key.value}",
            params={**v.params, "field": v.field},
        )
        for v in book.placement_violations(facts)
    ]


def _signage(
    book: RuleBook, site: SiteFacts, camera: CameraFacts, effective: EffectiveRules
) -> list[Finding]:
    if not camera.covers_public_area or camera.signage_installed:
        return []
    # Liaoning art. 13 binds government-invested systems (政府投资建设): flagged on the site, and
    # taken for granted of a government organ's own system (built from its budget)
    government = site.government_invested or site.unit_kind is UnitKind.GOVERNMENT_ORGAN
    cites = [
        rule.citation
        for rule in effective.signage_rules
        if rule.scope is not SignageScope.GOVERNMENT_INVESTED or government
    ]
    if not cites:
        return []
    message = "the camera covers a public area but no sign (提示标识) is installed"
    return [_finding(book, "signage.missing", camera.subject, message, cites)]


def _retention(book: RuleBook, site: SiteFacts, camera: CameraFacts) -> list[Finding]:
    configured = camera.retention_days
    if configured is None:
        return []
    floors: list[tuple[int, Citation]] = []
    for pack in book.packs_for_division(site.division_code):
        rule = pack.retention
        floor = rule.min_days if rule.min_days is not None else rule.default_days
        if floor is not None and pack.applies_on_site(rule.citation, site.public_place_article):
            floors.append((floor, rule.citation))
    breached = [cite for floor, cite in sorted(floors, key=lambda f: -f[0]) if configured < floor]
    if not breached:
        return []
    highest = max(floor for floor, _ in floors)
    message = f"footage is kept {configured} days; the floor is {highest} days"
    params = {"days": configured, "floor": highest}
    return [
        _finding(book, "retention.below_floor", camera.subject, message, breached, params=params)
    ]
