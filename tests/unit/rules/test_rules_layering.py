"""Which packs apply where, and how their duties layer: the strictest wins, every pack cited."""

from __future__ import annotations

import json
from datetime import date

import pytest

from custos.domain.errors import ValidationFailed
from custos.domain.kinds import AccessAction, PublicPlaceArticle
from custos.domain.rules import (
    AccessOperation,
    ApproverRole,
    Credential,
    DeadlineRule,
    RequesterKind,
    RuleBook,
)
from custos.domain.rules.terms import OutsideCaptureStance

BEIJING, LIAONING, SHAANXI, XIAN, CHONGQING, SHANGHAI = (
    "110105", "210102", "610502", "610113", "500103", "310101",
)  # fmt: skip


@pytest.mark.parametrize(
    ("division", "expected"),
    [
        (BEIJING, ["national-2025", "beijing-2007"]),
        (LIAONING, ["national-2025", "liaoning-2008"]),
        (SHAANXI, ["national-2025", "shaanxi-2011"]),
        (XIAN, ["national-2025", "shaanxi-2011", "xian-2020"]),
        (CHONGQING, ["national-2025", "chongqing-2016"]),
        (SHANGHAI, ["national-2025"]),
        ("6101", ["national-2025", "shaanxi-2011", "xian-2020"]),
    ],
)
def test_packs_are_chosen_by_division_national_first_city_last(
    book: RuleBook, division: str, expected: list[str]
) -> None:
    assert [p.id for p in book.packs_for_division(division)] == expected


@pytest.mark.parametrize("bad", ["", "11a105", "1", "１１０１０５"])
def test_a_malformed_division_code_is_refused(book: RuleBook, bad: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        book.packs_for_division(bad)
    assert caught.value.errors[0].field == "division_code"


# --- retention ---------------------------------------------------------------------------------


def test_liaoning_15_day_retention_is_raised_to_the_national_30(book: RuleBook) -> None:
    floor = book.effective(LIAONING).retention_floor_days
    assert floor.value == 30
    assert floor.rule_ids == ["national-2025:art17", "liaoning-2008:art14.i7"]
    assert not floor.product_default


def test_liaoning_keeps_one_year_for_important_footage(book: RuleBook) -> None:
    important = book.effective(LIAONING).important_footage_retention_years
    assert important.value == 1
    assert important.rule_ids == ["liaoning-2008:art14.i7"]
    assert book.effective(CHONGQING).important_footage_retention_years.value is None


def test_beijing_retention_is_law_under_the_decree_and_cites_beijing_art13(book: RuleBook) -> None:
    floor = book.effective(BEIJING).retention_floor_days
    assert (floor.value, floor.product_default) == (30, False)
    assert floor.rule_ids == ["national-2025:art17", "beijing-2007:art13.i3"]


def test_beijing_alone_gets_30_days_flagged_as_a_product_default(book: RuleBook) -> None:
    beijing_only = RuleBook([book.pack("beijing-2007")])
    floor = beijing_only.effective(BEIJING).retention_floor_days
    assert (floor.value, floor.product_default) == (30, True)
    assert floor.note is not None and "D-01" in floor.note


@pytest.mark.parametrize(
    ("division", "local"),
    [
        (SHAANXI, ["shaanxi-2011:art16.i7"]),
        (XIAN, ["shaanxi-2011:art16.i7", "xian-2020:art25.p2"]),
        (CHONGQING, ["chongqing-2016:art23.p2"]),
    ],
)
def test_equal_30_day_floors_cite_the_decree_first_then_each_local_rule(
    book: RuleBook, division: str, local: list[str]
) -> None:
    floor = book.effective(division).retention_floor_days
    assert floor.value == 30
    assert floor.rule_ids == ["national-2025:art17", *local]


def test_an_art9_place_is_exempt_from_decree_retention_so_liaoning_15_days_stands(
    book: RuleBook,
) -> None:
    floor = book.effective(LIAONING, PublicPlaceArticle.ART9).retention_floor_days
    assert floor.value == 15
    assert floor.rule_ids == ["liaoning-2008:art14.i7"]


# --- filing deadlines --------------------------------------------------------------------------


def test_liaoning_change_filing_is_3_working_days_before_the_decree_promptly(
    book: RuleBook,
) -> None:
    change = book.effective(LIAONING).filing_change
    assert change.value == DeadlineRule(3, working_days=True)
    assert change.rule_ids == ["liaoning-2008:art12.p1", "national-2025:art14.p1"]


def test_liaoning_removal_is_a_change_of_the_system(book: RuleBook) -> None:
    removal = book.effective(LIAONING).filing_removal
    assert removal.value == DeadlineRule(3, working_days=True)
    assert removal.rule_ids[0] == "liaoning-2008:art12.p1"


def test_liaoning_initial_filing_is_30_days_after_put_in_use(book: RuleBook) -> None:
    after_use = book.effective(LIAONING).filing_after_in_use
    assert after_use.value == DeadlineRule(30)
    assert after_use.rule_ids == ["national-2025:art14.p1", "liaoning-2008:art12.p1"]
    assert book.effective(LIAONING).filing_after_acceptance.value is None


@pytest.mark.parametrize("division", [SHAANXI, XIAN])
def test_shaanxi_change_and_removal_reports_are_30_calendar_days(
    book: RuleBook, division: str
) -> None:
    effective = book.effective(division)
    assert effective.filing_change.value == DeadlineRule(30)
    assert effective.filing_change.rule_ids[0] == "shaanxi-2011:art15"
    assert effective.filing_removal.value == DeadlineRule(30)
    assert "shaanxi-2011:art15" in effective.filing_removal.rule_ids


def test_xian_removal_cites_its_own_art19_and_shaanxi_art15(book: RuleBook) -> None:
    removal = book.effective(XIAN).filing_removal
    assert removal.rule_ids == [
        "shaanxi-2011:art15",
        "xian-2020:art19.p2",
        "national-2025:art14.p1",
    ]


def test_chongqing_files_30_days_after_acceptance_and_reports_removal_in_30(
    book: RuleBook,
) -> None:
    effective = book.effective(CHONGQING)
    assert effective.filing_after_acceptance.value == DeadlineRule(30)
    assert effective.filing_after_acceptance.rule_ids == ["chongqing-2016:art16.p1"]
    assert effective.filing_removal.value == DeadlineRule(30)
    assert effective.filing_removal.rule_ids == [
        "chongqing-2016:art16.p3",
        "national-2025:art14.p1",
    ]


def test_a_change_with_no_number_anywhere_is_owed_promptly(book: RuleBook) -> None:
    for division in (BEIJING, CHONGQING, SHANGHAI):
        change = book.effective(division).filing_change
        assert change.value is None
        assert change.rule_ids == ["national-2025:art14.p1"]
        assert change.note is not None and "及时" in change.note


def test_preexisting_filing_dates_are_computed_from_each_pack(book: RuleBook) -> None:
    def due(division: str) -> dict[str, date]:
        return {
            c.citation.rule_id: c.value for c in book.effective(division).preexisting_filing_due
        }

    assert due(BEIJING) == {
        "national-2025:art14.p1": date(2025, 6, 30),
        "beijing-2007:art11.p2": date(2007, 5, 1),
    }
    assert due(LIAONING)["liaoning-2008:art12.p2"] == date(2008, 1, 31)
    assert due(CHONGQING)["chongqing-2016:art16.p2"] == date(2016, 9, 30)
    upgrade = book.effective(XIAN).preexisting_upgrade_due
    assert [(c.citation.rule_id, c.value) for c in upgrade] == [
        ("xian-2020:art18.p2", date(2019, 9, 7))
    ]


def test_chongqing_and_xian_forbid_use_before_acceptance(book: RuleBook) -> None:
    assert book.effective(CHONGQING).acceptance_before_use.rule_ids == ["chongqing-2016:art14"]
    assert book.effective(XIAN).acceptance_before_use.rule_ids == ["xian-2020:art14.p2"]
    assert book.effective(BEIJING).acceptance_before_use.value is False


# --- access ------------------------------------------------------------------------------------


def test_xian_gets_shaanxi_approval_document_rule_for_copy_and_retrieve(book: RuleBook) -> None:
    approval = book.effective(XIAN).approval_required
    for action in (AccessAction.COPY, AccessAction.RETRIEVE):
        assert approval[action].value is True
        assert approval[action].rule_ids == ["shaanxi-2011:art18.p2", "xian-2020:art27.p3"]
    assert approval[AccessAction.VIEW].value is False
    assert approval[AccessAction.VIEW].rule_ids == ["shaanxi-2011:art17.p1", "xian-2020:art27.p1"]


def test_liaoning_needs_an_approval_document_even_to_view(book: RuleBook) -> None:
    view = book.effective(LIAONING).approval_required[AccessAction.VIEW]
    assert (view.value, view.rule_ids) == (True, ["liaoning-2008:art18.i2"])


@pytest.mark.parametrize("division", [BEIJING, CHONGQING, SHANGHAI])
def test_where_no_pack_requires_an_approval_document_none_is_required(
    book: RuleBook, division: str
) -> None:
    approval = book.effective(division).approval_required
    assert all(not duty.value for duty in approval.values())


def test_xian_copy_by_state_security_needs_the_head_of_its_own_organ(book: RuleBook) -> None:
    approvers = book.effective(XIAN).approvers_for(
        RequesterKind.STATE_SECURITY, AccessOperation.COPY
    )
    assert approvers.value == {ApproverRole.HEAD_OF_OWN_ORGAN}
    assert approvers.rule_ids == ["shaanxi-2011:art17.p1", "xian-2020:art27.p1"]
    police = book.effective(XIAN).approvers_for(RequesterKind.POLICE, AccessOperation.RETRIEVE)
    assert police.value == {ApproverRole.HEAD_OF_POLICE_COUNTY_PLUS}


def test_xian_inherits_shaanxi_connection_approval(book: RuleBook) -> None:
    connect = book.effective(XIAN).approvers_for(RequesterKind.POLICE, AccessOperation.CONNECT)
    assert connect.value == {ApproverRole.HEAD_OF_COUNTY_STATE_SECURITY_OR_POLICE}
    assert connect.rule_ids == ["shaanxi-2011:art17.p2"]


def test_liaoning_emergency_access_by_departments_is_approved_by_county_police(
    book: RuleBook,
) -> None:
    effective = book.effective(LIAONING)
    approvers = effective.approvers_for(RequesterKind.GOV_DEPT, AccessOperation.COPY)
    assert approvers.value == {ApproverRole.POLICE_COUNTY_PLUS}
    emergency = [e for e in effective.entitlements if e.emergency_only]
    assert [e.citation.rule_id for e in emergency] == ["liaoning-2008:art17.p2"]


def test_min_handlers_and_credentials_union_across_shaanxi_and_xian(book: RuleBook) -> None:
    effective = book.effective(XIAN)
    assert effective.min_handlers.value == 2
    assert effective.min_handlers.rule_ids == ["shaanxi-2011:art18.i1", "xian-2020:art27.p2.i1"]
    # every paper both packs name, each required of every handler (Shaanxi art. 18(2) asks for
    # the law-enforcement ID; Xi'an art. 27 ¶2(2) for the work ID and the unit's document)
    assert effective.credentials.value == {
        Credential.LAW_ENFORCEMENT_ID,
        Credential.WORK_ID,
        Credential.UNIT_CERTIFYING_DOCUMENT,
    }


def test_without_a_local_pack_two_handlers_are_a_flagged_product_default(book: RuleBook) -> None:
    handlers = book.effective(SHANGHAI).min_handlers
    assert (handlers.value, handlers.product_default, handlers.rule_ids) == (2, True, [])


def test_beijing_and_liaoning_require_the_registration_form(book: RuleBook) -> None:
    assert book.effective(BEIJING).registration_form_required.rule_ids == ["beijing-2007:art17.i3"]
    assert book.effective(LIAONING).registration_form_required.rule_ids == [
        "liaoning-2008:art18.i4"
    ]
    assert book.effective(CHONGQING).registration_form_required.value is False


# --- signage, network, public areas ------------------------------------------------------------


def test_signage_is_conspicuous_everywhere_under_the_decree(book: RuleBook) -> None:
    beijing = book.effective(BEIJING)
    assert beijing.signage_required.rule_ids == ["national-2025:art13", "beijing-2007:art15"]
    assert beijing.signage_conspicuous.rule_ids == ["national-2025:art13"]


def test_classified_sites_may_not_use_the_internet_citing_express_local_bans_first(
    book: RuleBook,
) -> None:
    chongqing = book.effective(CHONGQING).classified_no_internet
    assert chongqing.value is True and not chongqing.product_default
    assert chongqing.rule_ids[0] == "chongqing-2016:art15"
    shanghai = book.effective(SHANGHAI).classified_no_internet
    assert shanghai.value is True and shanghai.product_default
    assert shanghai.rule_ids == ["national-2025:art16.p1", "national-2025:art15.p1"]


def test_xian_limits_network_interruptions_to_3_days(book: RuleBook) -> None:
    assert book.effective(XIAN).max_network_interruption_days.value == 3
    assert book.effective(SHAANXI).max_network_interruption_days.value is None


def test_outside_premises_capture_is_prohibited_in_beijing_and_encouraged_in_chongqing(
    book: RuleBook,
) -> None:
    beijing = book.effective(BEIJING).outside_premises_capture
    assert (beijing.value, beijing.rule_ids) == (
        OutsideCaptureStance.PROHIBITED,
        ["beijing-2007:art6"],
    )
    assert (
        book.effective(CHONGQING).outside_premises_capture.value is OutsideCaptureStance.ENCOURAGED
    )
    assert book.effective(XIAN).outside_premises_capture.value is OutsideCaptureStance.ENCOURAGED
    assert book.effective(SHAANXI).outside_premises_capture.value is OutsideCaptureStance.SILENT


def test_mandatory_categories_are_the_union_of_shaanxi_and_xian(book: RuleBook) -> None:
    mandatory = book.effective(XIAN).mandatory_categories
    assert [c.rule_id for c in mandatory["school"]] == ["shaanxi-2011:art7.i3", "xian-2020:art9.i9"]
    assert [c.rule_id for c in mandatory["exam_paper_facility"]] == [
        "shaanxi-2011:art7.i1",
        "shaanxi-2011:tspr14.i4",
    ]
    assert "exam_paper_facility" not in book.effective(CHONGQING).mandatory_categories


def test_the_effective_rules_serialise_to_json(book: RuleBook) -> None:
    for division in (BEIJING, LIAONING, SHAANXI, XIAN, CHONGQING, SHANGHAI):
        document = json.loads(json.dumps(book.effective(division).as_dict()))
        assert document["retention_floor_days"]["value"] == 30
        assert document["packs"][0] == "national-2025"
    xian = book.effective(XIAN).as_dict()
    assert xian["access"]["approval_required"]["copy"]["rule_ids"] == [
        "shaanxi-2011:art18.p2",
        "xian-2020:art27.p3",
    ]
