"""Bridge from registry objects to the rule engine's placement check."""

from __future__ import annotations

from custos.domain.codes import AddressCode
from custos.domain.errors import FieldError
from custos.domain.registry import Camera, Site, Unit
from custos.domain.rules import PlacementFacts, RuleBook


def facts(unit: Unit, site: Site, cam: Camera) -> PlacementFacts:
    return PlacementFacts(
        division_code=site.division_code,
        location_categories=frozenset(cam.location_categories),
        site_is_classified=site.is_classified,
        network_digit=AddressCode.parse(cam.address_code).network_digit,
        unit_kind=unit.kind,
        site_article=site.public_place_article,
        site_is_public_road_or_square=site.is_public_road_or_square,
        captures_public_area_outside_premises=cam.captures_public_area_outside_premises,
    )


def violations(
    rules: RuleBook, unit: Unit, site: Site, cam: Camera, prefix: str = ""
) -> list[FieldError]:
    """Every pack's refusal of this placement, as field errors naming rule and article."""
    return [
        FieldError(
            prefix + v.field, v.reason, v.rule_id, v.article, f"refusal.{v.violation_key}", v.params
        )
        for v in rules.placement_violations(facts(unit, site, cam))
    ]
