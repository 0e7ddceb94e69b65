"""Fixtures for the rule-engine tests: the real packs, a fake calendar, fact builders."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest

from custos.adapters.rulepack_loader import load_rulebook
from custos.domain.calendar import FixedCalendar
from custos.domain.kinds import PublicPlaceArticle, UnitKind
from custos.domain.rules import PlacementFacts, RuleBook, RuleViolation


@pytest.fixture(scope="session")
def book() -> RuleBook:
    return load_rulebook()


@pytest.fixture(scope="session")
def calendar() -> FixedCalendar:
    """Weekends off; 2026 National Day 10-01..10-07 off with Saturday 10-10 a make-up day."""
    golden_week = [date(2026, 10, 1) + timedelta(days=i) for i in range(7)]
    return FixedCalendar(
        years=range(2005, 2027), holidays=golden_week, makeup_workdays=[date(2026, 10, 10)]
    )


@pytest.fixture
def place(book: RuleBook) -> Callable[..., list[RuleViolation]]:
    """``place(division, categories, **overrides)``: the refusals for an enterprise camera on
    an ordinary art. 7 ¶2 public site, unless overridden."""

    def run(division: str, categories: set[str], **overrides: Any) -> list[RuleViolation]:
        facts: dict[str, Any] = {
            "division_code": division,
            "location_categories": frozenset(categories),
            "site_is_classified": False,
            "network_digit": 1,
            "unit_kind": UnitKind.ENTERPRISE,
            "site_article": PublicPlaceArticle.ART7_P2,
            "site_is_public_road_or_square": False,
            "captures_public_area_outside_premises": False,
        }
        facts.update(overrides)
        return book.placement_violations(PlacementFacts(**facts))

    return run
