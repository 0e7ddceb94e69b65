"""The six packs load, and everything in them is well formed and cited."""

from __future__ import annotations

import re
from datetime import date

import pytest

from custos.domain.rules import CATEGORY_KEYS, CategoryKind, RuleBook, unknown_categories

RULE_ID = re.compile(r"^[a-z]+-\d{4}:(art|tspr)[1-9]\d*(\.p[1-9]\d*)?(\.i[1-9]\d*)?$")

EXPECTED = {
    "national-2025": (date(2025, 4, 1), None, ("*",)),
    "beijing-2007": (date(2007, 4, 1), None, ("11",)),
    "liaoning-2008": (date(2008, 1, 1), None, ("21",)),
    "shaanxi-2011": (date(2011, 8, 1), None, ("61",)),
    "chongqing-2016": (date(2016, 8, 1), None, ("50",)),
    "xian-2020": (date(2019, 6, 9), "shaanxi-2011", ("6101",)),
}


def test_all_six_packs_load_with_their_dates_parents_and_divisions(book: RuleBook) -> None:
    found = {p.id: (p.effective_date, p.parent, p.applies_to) for p in book.packs}
    assert found == EXPECTED


@pytest.mark.parametrize("pack_id", sorted(EXPECTED))
def test_every_rule_id_is_well_formed_and_cites_its_own_pack(book: RuleBook, pack_id: str) -> None:
    pack = book.pack(pack_id)
    citations = pack.citations()
    assert len(citations) > 5
    for citation in citations:
        assert RULE_ID.match(citation.rule_id), citation.rule_id
        assert citation.pack_id == pack_id


@pytest.mark.parametrize("pack_id", sorted(EXPECTED))
def test_every_pack_has_chinese_and_english_names(book: RuleBook, pack_id: str) -> None:
    pack = book.pack(pack_id)
    assert re.search(r"[\u4e00-\u9fff]", pack.name_zh)
    assert "Public Security" in pack.name_en


def test_category_keys_in_packs_are_in_the_catalogue_with_the_right_kind(book: RuleBook) -> None:
    for pack in book.packs:
        for rule in pack.mandatory_categories:
            assert CATEGORY_KEYS[rule.key].kind is CategoryKind.MANDATORY, (pack.id, rule.key)
        for rule in pack.prohibited_categories:
            assert CATEGORY_KEYS[rule.key].kind is CategoryKind.PROHIBITED, (pack.id, rule.key)


def test_the_catalogue_has_every_prohibited_key_the_regulations_need() -> None:
    needed = {
        "hotel_guest_room", "entertainment_private_room", "dormitory", "public_bath",
        "changing_room", "toilet", "nursing_room", "fitting_room", "financial_client_info_area",
        "voting_area", "other_privacy", "bath_changing_toilet_nursing",
    }  # fmt: skip
    kinds = {k for k, info in CATEGORY_KEYS.items() if info.kind is CategoryKind.PROHIBITED}
    assert needed <= kinds


def test_unknown_category_keys_are_reported_and_known_ones_are_not(book: RuleBook) -> None:
    keys = {"school", "toilet", "bath_changing_toilet_nursing", "toilets", "spaceport"}
    assert unknown_categories(keys) == {"toilets", "spaceport"}
    assert book.unknown_categories(keys) == {"toilets", "spaceport"}


def test_beijing_retention_is_a_flagged_product_default_not_law(book: RuleBook) -> None:
    retention = book.pack("beijing-2007").retention
    assert retention.min_days is None
    assert retention.default_days == 30
    assert retention.citation.rule_id == "beijing-2007:art13.i3"


def test_penalty_numbers_match_the_texts(book: RuleBook) -> None:
    national = {p.citation.rule_id: p.fine for p in book.pack("national-2025").penalties}
    art27 = national["national-2025:art27.p1"]
    assert (art27.unit_min, art27.unit_max) == (10_000, 20_000)
    assert (art27.person_min, art27.person_max) == (5_000, 10_000)
    assert (national["national-2025:art29"].unit_min, national["national-2025:art29"].unit_max) == (
        None,
        10_000,
    )
    chongqing = book.pack("chongqing-2016").penalties
    art29 = [p for p in chongqing if p.citation.rule_id == "chongqing-2016:art29"]
    assert {(p.fine.unit_min, p.fine.unit_max) for p in art29} == {(3_000, 30_000)}
    assert book.pack("xian-2020").penalties == ()


def test_the_reserved_interface_is_a_duty_in_chongqing_and_xian_fined_only_in_chongqing(
    book: RuleBook,
) -> None:
    duties = {p.id: p.network.reserved_interface for p in book.packs}
    assert {k: c.rule_id for k, c in duties.items() if c} == {
        "chongqing-2016": "chongqing-2016:art12.p1", "xian-2020": "xian-2020:art14.p1",
    }  # fmt: skip
    fined = [
        (p.id, pen.citation.rule_id) for p in book.packs for pen in p.penalties
        if pen.violation_key.value == "no_reserved_interface"
    ]  # fmt: skip
    # Xi'an has no fines of its own (art. 33) and Shaanxi no reserved-interface clause
    assert fined == [("chongqing-2016", "chongqing-2016:art30.i2")]
