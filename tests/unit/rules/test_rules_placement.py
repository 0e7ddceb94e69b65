"""Placement refusals list every pack and article that forbids the camera."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from custos.domain.kinds import PublicPlaceArticle, UnitKind
from custos.domain.rules import FineRange, RuleViolation, ViolationKey

PlaceFn = Callable[..., list[RuleViolation]]  # the ``place`` fixture (conftest.py)

BEIJING, LIAONING, SHAANXI, XIAN, CHONGQING, SHANGHAI = (
    "110105", "210102", "610502", "610113", "500103", "310101",
)  # fmt: skip


def ids(violations: list[RuleViolation]) -> list[str]:
    return [v.rule_id for v in violations]


def test_an_ordinary_placement_is_allowed_everywhere(place: PlaceFn) -> None:
    for division in (BEIJING, LIAONING, SHAANXI, XIAN, CHONGQING, SHANGHAI):
        assert place(division, {"school", "hospital"}) == []


def test_beijing_has_no_list_but_the_decree_refuses_toilets(place: PlaceFn) -> None:
    refusals = place(BEIJING, {"toilet"})
    assert ids(refusals) == ["national-2025:art8.i3"]
    refusal = refusals[0]
    assert refusal.field == "location_categories"
    assert refusal.violation_key is ViolationKey.PROHIBITED_LOCATION_INSTALL
    assert refusal.penalty_rule_id == "national-2025:art27.p1"
    assert refusal.fine == FineRange(10_000, 20_000, 5_000, 10_000, 5_000, 10_000)
    assert refusal.article == "Decree 799 art. 8(3)"


def test_chongqing_refuses_entertainment_private_rooms_citing_art10_item1(place: PlaceFn) -> None:
    refusals = place(CHONGQING, {"entertainment_private_room"})
    assert ids(refusals) == ["national-2025:art8.i4", "chongqing-2016:art10.i1"]
    chongqing = refusals[1]
    assert chongqing.penalty_rule_id == "chongqing-2016:art29"
    assert chongqing.fine is not None and chongqing.fine.unit_max == 30_000


def test_a_toilet_in_xian_is_refused_by_the_decree_shaanxi_and_xian(place: PlaceFn) -> None:
    refusals = place(XIAN, {"toilet"})
    assert ids(refusals) == ["national-2025:art8.i3", "shaanxi-2011:art8.i3", "xian-2020:art11.i3"]
    xian = refusals[2]
    assert xian.penalty_rule_id == "shaanxi-2011:art22"  # Xi'an art. 33 defers to Shaanxi
    assert xian.fine == FineRange(500, 1000, None, None, None, 200)


def test_the_composite_key_is_refused_once_per_article(place: PlaceFn) -> None:
    refusals = place(LIAONING, {"bath_changing_toilet_nursing"})
    assert ids(refusals) == ["national-2025:art8.i3", "liaoning-2008:art9"]
    assert "nursing" in refusals[0].reason and "toilet" in refusals[1].reason


def test_liaoning_names_no_nursing_room_but_the_decree_does(place: PlaceFn) -> None:
    assert ids(place(LIAONING, {"nursing_room"})) == ["national-2025:art8.i3"]
    assert ids(place(SHAANXI, {"nursing_room"})) == [
        "national-2025:art8.i3",
        "shaanxi-2011:art8.i3",
    ]


def test_fitting_rooms_are_refused_only_by_the_decree(place: PlaceFn) -> None:
    for division in (BEIJING, CHONGQING, SHANGHAI):
        assert ids(place(division, {"fitting_room"})) == ["national-2025:art8.i3"]


def test_voting_areas_are_refused_by_each_pack_that_names_them(place: PlaceFn) -> None:
    assert ids(place(CHONGQING, {"voting_area"})) == [
        "national-2025:art8.i4",
        "chongqing-2016:art10.i5",
    ]
    assert ids(place(BEIJING, {"voting_area"})) == ["national-2025:art8.i4"]


def test_every_category_of_a_camera_is_checked(place: PlaceFn) -> None:
    refusals = place(SHAANXI, {"hotel", "hotel_guest_room", "dormitory"})
    assert ids(refusals) == [
        "national-2025:art8.i2",
        "national-2025:art8.i1",
        "shaanxi-2011:art8.i2",
        "shaanxi-2011:art8.i1",
    ]


def test_a_toilet_at_a_site_that_is_not_public_falls_under_decree_art33(place: PlaceFn) -> None:
    refusals = place(BEIJING, {"toilet"}, site_article=PublicPlaceArticle.NOT_PUBLIC)
    assert ids(refusals) == ["national-2025:art33"]
    assert refusals[0].fine is None


@pytest.mark.parametrize(
    ("division", "expected"),
    [
        (CHONGQING, ["national-2025:art16.p1", "chongqing-2016:art15"]),
        (XIAN, ["national-2025:art16.p1", "xian-2020:art20"]),
        (BEIJING, ["national-2025:art16.p1", "beijing-2007:art9.p2"]),
        (LIAONING, ["national-2025:art16.p1", "liaoning-2008:art8.p2"]),
        (SHAANXI, ["national-2025:art16.p1"]),
    ],
)
def test_a_classified_site_on_the_internet_is_refused_in_every_jurisdiction(
    place: PlaceFn, division: str, expected: list[str]
) -> None:
    refusals = place(division, {"state_secret_site"}, site_is_classified=True, network_digit=7)
    assert ids(refusals) == expected
    assert all(r.field == "network_digit" for r in refusals)
    assert refusals[0].product_default and refusals[0].also_cites == ("national-2025:art15.p1",)


def test_chongqing_fines_a_classified_site_on_the_internet(place: PlaceFn) -> None:
    refusals = place(CHONGQING, set(), site_is_classified=True, network_digit=7)
    chongqing = refusals[1]
    assert not chongqing.product_default
    assert chongqing.penalty_rule_id == "chongqing-2016:art30.i4"
    assert chongqing.fine == FineRange(1000, 1000, None, 500, 500, 1000)


def test_a_classified_site_on_a_private_network_is_allowed(place: PlaceFn) -> None:
    assert place(CHONGQING, set(), site_is_classified=True, network_digit=5) == []
    assert place(CHONGQING, set(), site_is_classified=False, network_digit=7) == []


ROAD = {
    "site_article": PublicPlaceArticle.ART7_P1,
    "site_is_public_road_or_square": True,
}


@pytest.mark.parametrize(
    ("division", "local"),
    [
        (BEIJING, ["beijing-2007:art7"]),
        (LIAONING, ["liaoning-2008:art7.p1"]),
        (SHAANXI, []),
        (XIAN, ["xian-2020:art12.p4"]),
        (CHONGQING, ["chongqing-2016:art11.p4"]),
    ],
)
def test_only_government_may_build_on_public_roads_and_squares(
    place: PlaceFn, division: str, local: list[str]
) -> None:
    refusals = place(division, {"road_key_section_intersection"}, **ROAD)
    assert ids(refusals) == ["national-2025:art7.p3", *local]
    national = refusals[0]
    assert national.field == "site.public_place_article"
    assert national.also_cites == ("national-2025:art7.p1",)
    assert national.penalty_rule_id == "national-2025:art26"
    assert all(r.violation_key is ViolationKey.UNAUTHORIZED_PUBLIC_AREA_SYSTEM for r in refusals)


def test_a_government_organ_may_build_on_a_public_road(place: PlaceFn) -> None:
    for division in (BEIJING, LIAONING, XIAN, CHONGQING):
        assert place(division, {"public_square"}, unit_kind=UnitKind.GOVERNMENT_ORGAN, **ROAD) == []


def test_an_individual_is_barred_from_a_public_square_in_beijing(place: PlaceFn) -> None:
    refusals = place(BEIJING, {"public_square"}, unit_kind=UnitKind.INDIVIDUAL, **ROAD)
    beijing = refusals[1]
    assert beijing.rule_id == "beijing-2007:art7"
    assert beijing.fine is not None
    assert (beijing.fine.individual_min, beijing.fine.individual_max) == (500, 1000)


def test_a_local_road_bar_applies_even_off_decree_art7_places(place: PlaceFn) -> None:
    refusals = place(
        LIAONING,
        {"road_key_section_intersection"},
        site_article=PublicPlaceArticle.ART9,
        site_is_public_road_or_square=True,
    )
    assert ids(refusals) == ["liaoning-2008:art7.p1"]
    assert refusals[0].field == "site.is_public_road_or_square"
    assert refusals[0].fine is None  # no Liaoning penalty article cites art. 7 (§8 P-06)


def test_beijing_units_must_not_capture_public_areas_outside_their_premises(
    place: PlaceFn,
) -> None:
    refusals = place(BEIJING, {"shopping_mall"}, captures_public_area_outside_premises=True)
    assert ids(refusals) == ["beijing-2007:art6"]
    assert refusals[0].field == "captures_public_area_outside_premises"
    assert refusals[0].penalty_rule_id == "beijing-2007:art20"
    for unit in (UnitKind.GOVERNMENT_ORGAN, UnitKind.INDIVIDUAL):
        assert (
            place(
                BEIJING,
                {"shopping_mall"},
                captures_public_area_outside_premises=True,
                unit_kind=unit,
            )
            == []
        )


@pytest.mark.parametrize("division", [CHONGQING, XIAN, LIAONING, SHAANXI, SHANGHAI])
def test_capture_outside_premises_is_allowed_outside_beijing(place: PlaceFn, division: str) -> None:
    assert place(division, {"shopping_mall"}, captures_public_area_outside_premises=True) == []


def test_all_refusals_of_one_camera_come_together(place: PlaceFn) -> None:
    refusals = place(
        BEIJING,
        {"toilet"},
        captures_public_area_outside_premises=True,
        site_is_classified=True,
        network_digit=7,
        **ROAD,
    )
    assert {r.field for r in refusals} == {
        "location_categories",
        "network_digit",
        "site.public_place_article",
        "captures_public_area_outside_premises",
    }
    assert len(refusals) == 6
