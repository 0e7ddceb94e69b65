"""Where a camera may not go: the placement refusals of every pack that applies.

A refusal lists every pack and article that forbids the placement, not only the first one
found, so the operator sees the whole legal picture (docs/design/rules.md).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from custos.domain.kinds import PublicPlaceArticle, UnitKind
from custos.domain.rules.categories import CATEGORY_KEYS, expand_categories
from custos.domain.rules.citation import Citation
from custos.domain.rules.model import FineRange, Penalty, RulePack
from custos.domain.rules.terms import OutsideCaptureStance, PlacementScope, ViolationKey

INTERNET_NETWORK_DIGIT = 7
"""Digit 14 of a GB/T 28181 address code; 7 marks a device on the Internet."""

PenaltyLookup = Callable[[Citation], Penalty | None]


@dataclass(frozen=True, slots=True)
class PlacementFacts:
    """What the rule engine needs to know about one camera on one site."""

    division_code: str
    location_categories: frozenset[str]
    site_is_classified: bool
    network_digit: int
    unit_kind: UnitKind
    site_article: PublicPlaceArticle
    site_is_public_road_or_square: bool
    captures_public_area_outside_premises: bool


@dataclass(frozen=True, slots=True)
class RuleViolation:
    """One pack's refusal of a placement.

    ``rule_id`` is the machine form (``chongqing-2016:art10.i1``); ``article`` the human form
    (``Chongqing Measures art. 10(1)``); ``field`` the camera or site field that triggered it.
    ``fine`` and ``penalty_rule_id`` come from the penalty article that punishes the breach
    (for Xi'an, the Shaanxi article its art. 33 defers to); both are None when there is none.
    """

    rule_id: str
    pack_id: str
    article: str
    field: str
    reason: str
    violation_key: ViolationKey
    fine: FineRange | None
    penalty_rule_id: str | None = None
    also_cites: tuple[str, ...] = ()
    product_default: bool = False
    # the message's parameters (``categories``: keys; ``unit_kind``): key = ``violation_key``
    params: dict[str, Any] = dataclasses.field(default_factory=dict, hash=False, compare=False)

    @property
    def citation(self) -> Citation:
        return Citation.parse(self.rule_id)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "pack_id": self.pack_id,
            "article": self.article,
            "field": self.field,
            "reason": self.reason,
            "violation_key": self.violation_key.value,
            "fine": self.fine.as_dict() if self.fine else None,
            "penalty_rule_id": self.penalty_rule_id,
            "also_cites": list(self.also_cites),
            "product_default": self.product_default,
            "key": f"refusal.{self.violation_key.value}",
            "params": self.params,
        }


def find_violations(
    packs: Iterable[RulePack], facts: PlacementFacts, penalty_for: PenaltyLookup
) -> list[RuleViolation]:
    """Every refusal, in pack order within each check; empty when the placement is allowed."""
    applicable = list(packs)
    checks = (_prohibited, _classified_network, _government_only, _outside_capture)
    found: list[RuleViolation] = []
    for check in checks:
        found.extend(check(applicable, facts, penalty_for))
    return found


def _refusal(
    citation: Citation,
    field: str,
    reason: str,
    key: ViolationKey,
    penalty_for: PenaltyLookup,
    also: Iterable[Citation] = (),
    product_default: bool = False,
    params: dict[str, Any] | None = None,
) -> RuleViolation:
    penalty = penalty_for(citation)
    fine = penalty.fine if penalty and not penalty.fine.is_empty else None
    return RuleViolation(
        rule_id=citation.rule_id,
        pack_id=citation.pack_id,
        article=citation.human,
        field=field,
        reason=f"{reason} ({citation.human})",
        violation_key=key,
        fine=fine,
        penalty_rule_id=penalty.citation.rule_id if penalty else None,
        also_cites=tuple(c.rule_id for c in also),
        product_default=product_default,
        params=params or {},
    )


def _prohibited(
    packs: list[RulePack], facts: PlacementFacts, penalty_for: PenaltyLookup
) -> Iterator[RuleViolation]:
    """One refusal per pack article, naming every category of the camera it forbids."""
    forbidden: dict[Citation, list[str]] = {}
    for pack in packs:
        for key in sorted(expand_categories(facts.location_categories)):
            for citation in pack.prohibited_citations(key):
                if pack.applies_on_site(citation, facts.site_article):
                    forbidden.setdefault(citation, []).append(key)
    for citation, keys in forbidden.items():
        places = ", ".join(
            f"{CATEGORY_KEYS[k].label_en} ({CATEGORY_KEYS[k].label_zh}, {k})" for k in keys
        )
        yield _refusal(
            citation,
            "location_categories",
            f"no camera may be installed in {places}",
            ViolationKey.PROHIBITED_LOCATION_INSTALL,
            penalty_for,
            params={"categories": keys},
        )


def _classified_network(
    packs: list[RulePack], facts: PlacementFacts, penalty_for: PenaltyLookup
) -> Iterator[RuleViolation]:
    if not facts.site_is_classified or facts.network_digit != INTERNET_NETWORK_DIGIT:
        return
    for pack in packs:
        rule = pack.network.classified_no_internet
        if rule is None or not pack.applies_on_site(rule.citation, facts.site_article):
            continue
        reason = "a site involving state secrets or national security must not be on the Internet"
        if not rule.express:
            reason += "; enforced in every jurisdiction as a product default (§8 N-01)"
        yield _refusal(
            rule.citation,
            "network_digit",
            reason,
            ViolationKey.CLASSIFIED_NETWORK_VIOLATION,
            penalty_for,
            rule.also_cites,
            product_default=not rule.express,
        )


def _triggered_scopes(facts: PlacementFacts) -> dict[PlacementScope, str]:
    scopes: dict[PlacementScope, str] = {}
    if facts.site_article is PublicPlaceArticle.ART7_P1:
        scopes[PlacementScope.ART7_P1] = "site.public_place_article"
    if facts.site_is_public_road_or_square:
        scopes[PlacementScope.PUBLIC_ROAD_OR_SQUARE] = "site.is_public_road_or_square"
    return scopes


def _government_only(
    packs: list[RulePack], facts: PlacementFacts, penalty_for: PenaltyLookup
) -> Iterator[RuleViolation]:
    if facts.unit_kind is UnitKind.GOVERNMENT_ORGAN:
        return
    scopes = _triggered_scopes(facts)
    for pack in packs:
        rule = pack.public_area.government_only
        hits = [scopes[s] for s in sorted(rule.scope) if s in scopes] if rule else []
        if rule is None or not hits:
            continue
        reason = (
            f"only government may build on this site; a {facts.unit_kind.value} "
            "may not install a camera here"
        )
        yield _refusal(
            rule.citation,
            hits[0],
            reason,
            ViolationKey.UNAUTHORIZED_PUBLIC_AREA_SYSTEM,
            penalty_for,
            rule.also_cites,
            params={"unit_kind": facts.unit_kind.value},
        )


def _outside_capture(
    packs: list[RulePack], facts: PlacementFacts, penalty_for: PenaltyLookup
) -> Iterator[RuleViolation]:
    # The bar (Beijing art. 6) is on units (单位): government organs build public areas, and
    # an individual is not a unit.
    if not facts.captures_public_area_outside_premises or facts.unit_kind in {
        UnitKind.GOVERNMENT_ORGAN,
        UnitKind.INDIVIDUAL,
    }:
        return
    for pack in packs:
        stance = pack.public_area.outside_capture
        if stance is None or stance.value is not OutsideCaptureStance.PROHIBITED:
            continue
        reason = "a unit must not capture public areas outside its own premises"
        yield _refusal(
            stance.citation,
            "captures_public_area_outside_premises",
            reason,
            ViolationKey.CAPTURE_OUTSIDE_PREMISES,
            penalty_for,
        )
