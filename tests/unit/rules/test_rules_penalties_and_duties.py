"""Penalty lookup (Xi'an defers to Shaanxi) and the layering primitive itself."""

from __future__ import annotations

import pytest

from custos.domain.errors import ValidationFailed
from custos.domain.rules import Citation, RuleBook
from custos.domain.rules.duty import Candidate, strictest


@pytest.mark.parametrize(
    ("obligation", "penalty"),
    [
        ("xian-2020:art11.i3", "shaanxi-2011:art22"),
        ("xian-2020:art13", "shaanxi-2011:art23"),
        ("xian-2020:art19.p2", "shaanxi-2011:art24"),
        ("xian-2020:art25.p2", "shaanxi-2011:art25"),
        ("xian-2020:art22.i7", "shaanxi-2011:art25"),
    ],
)
def test_xian_obligations_are_fined_under_the_shaanxi_articles_art33_points_to(
    book: RuleBook, obligation: str, penalty: str
) -> None:
    found = book.penalty_for(Citation.parse(obligation))
    assert found is not None and found.citation.rule_id == penalty


def test_a_xian_obligation_without_a_shaanxi_parallel_has_no_fine(book: RuleBook) -> None:
    assert book.penalty_for(Citation.parse("xian-2020:art12.p4")) is None
    assert book.penalty_for(Citation.parse("xian-2020:art20")) is None


def test_penalties_match_paragraphs_and_items_inside_the_cited_article(book: RuleBook) -> None:
    art27 = book.penalty_for(Citation.parse("national-2025:art8.i3"))
    assert art27 is not None and art27.citation.rule_id == "national-2025:art27.p1"
    art23 = book.penalty_for(Citation.parse("liaoning-2008:art14.i7"))
    assert art23 is not None and art23.citation.rule_id == "liaoning-2008:art23"
    assert book.penalty_for(Citation.parse("liaoning-2008:art14.i1")) is None


def test_the_heavier_of_two_penalty_tiers_is_shown(book: RuleBook) -> None:
    art23 = book.penalty_for(Citation.parse("beijing-2007:art12.i2"))
    assert art23 is not None and art23.fine.unit_max == 30_000  # tier 2 (§8 P-07)


def test_citations_parse_and_print_in_both_forms() -> None:
    citation = Citation.parse("chongqing-2016:art25.p2.i1")
    assert (citation.pack_id, citation.article) == ("chongqing-2016", "art25.p2.i1")
    assert citation.rule_id == "chongqing-2016:art25.p2.i1"
    assert citation.human == "Chongqing Measures art. 25 para 2(1)"
    assert Citation.parse("shaanxi-2011:tspr14.i3").human == "Shaanxi Measures TSPR art. 14(3)"


@pytest.mark.parametrize(
    "bad", ["chongqing-2016:art10.1", "chongqing:art10", "chongqing-2016:art0", "art10.i1"]
)
def test_malformed_rule_ids_are_refused(bad: str) -> None:
    with pytest.raises(ValidationFailed):
        Citation.parse(bad)


NATIONAL = Citation("national-2025", "art17")
LOCAL = Citation("liaoning-2008", "art14.i7")
DEFAULT = Citation("beijing-2007", "art13.i3")


def test_the_strictest_value_wins_and_weaker_floors_are_still_cited() -> None:
    duty = strictest([Candidate(15, LOCAL), Candidate(30, NATIONAL)], float, 0, keep_weaker=True)
    assert (duty.value, duty.citations) == (30, (NATIONAL, LOCAL))


def test_a_tie_goes_to_law_over_a_product_default() -> None:
    duty = strictest(
        [Candidate(30, DEFAULT, product_default=True), Candidate(30, NATIONAL)],
        float,
        0,
        keep_weaker=True,
    )
    assert duty.citations == (NATIONAL, DEFAULT) and not duty.product_default


def test_disagreeing_booleans_keep_only_the_winning_citations() -> None:
    duty = strictest(
        [Candidate(False, LOCAL), Candidate(True, NATIONAL)], float, False, keep_weaker=False
    )
    assert (duty.value, duty.citations) == (True, (NATIONAL,))


def test_no_candidate_gives_the_default_with_no_citation() -> None:
    duty = strictest([], float, 0, keep_weaker=True)
    assert (duty.value, duty.citations) == (0, ())
