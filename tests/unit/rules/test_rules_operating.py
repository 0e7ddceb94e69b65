"""The operating unit's duties (``operating:`` in the packs), layered with their articles."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from custos.adapters.rulepack_loader import RulePackInvalid, parse_rulepack
from custos.domain.kinds import PublicPlaceArticle
from custos.domain.rules import Citation, RuleBook
from custos.domain.rules.terms import TrainingContent

BEIJING, LIAONING, SHAANXI, XIAN, CHONGQING, SHANGHAI = (
    "110105", "210102", "610502", "610113", "500103", "310101",
)  # fmt: skip


def test_a_xian_site_reports_immediately_citing_xian_first_then_shaanxi(book: RuleBook) -> None:
    report = book.effective(XIAN).operating.report_deadline_minutes
    assert report.value == 15
    assert report.rule_ids == ["xian-2020:art22.i9", "shaanxi-2011:art16.i4"]
    assert report.product_default and report.note is not None and "立即" in report.note


def test_promptly_elsewhere_is_a_flagged_product_default(book: RuleBook) -> None:
    for division, rule_id in [
        (BEIJING, "beijing-2007:art13.i1"),
        (LIAONING, "liaoning-2008:art14.i3"),
        (SHAANXI, "shaanxi-2011:art16.i4"),
        (CHONGQING, "chongqing-2016:art20.i9"),
    ]:
        report = book.effective(division).operating.report_deadline_minutes
        assert (report.value, report.rule_ids, report.product_default) == (60, [rule_id], True)
    assert book.effective(SHANGHAI).operating.report_deadline_minutes.value is None


def test_a_xian_site_gets_the_xian_and_shaanxi_duties_with_both_citations(
    book: RuleBook,
) -> None:
    op = book.effective(XIAN).operating
    assert op.duty_monitoring.value is True
    assert op.duty_monitoring.rule_ids == ["shaanxi-2011:art16.i1", "xian-2020:art22.i1"]
    assert op.training_required.rule_ids == ["shaanxi-2011:art16.i2", "xian-2020:art22.i2"]
    assert op.keep_location_and_function.rule_ids == [
        "shaanxi-2011:art16.i3",
        "xian-2020:art22.i7",
    ]
    assert op.inspection_interval_days.rule_ids == [
        "national-2025:art15.p1",
        "shaanxi-2011:art16.i1",
        "xian-2020:art22.i5",
    ]
    # Xi'an alone: archive, assessment, outright room ban, emergency plan.
    assert op.staff_archive_required.rule_ids == ["xian-2020:art22.i3"]
    assert op.assessment_interval_days.rule_ids == ["xian-2020:art22.i4"]
    assert op.room_access_outright_ban.rule_ids == ["xian-2020:art22.i8"]
    assert op.emergency_plan_required.rule_ids == ["xian-2020:art22.i1"]
    assert op.entrustment_agreement_required.rule_ids == [
        "national-2025:art15.p2",
        "xian-2020:art22.p2",
    ]
    # Shaanxi's 思想品德 joins the contents a training must cover.
    assert op.training_contents.value == {
        TrainingContent.ETHICS,
        TrainingContent.SKILLS,
        TrainingContent.CONFIDENTIALITY,
    }


def test_shaanxi_outside_xian_has_no_archive_assessment_or_plan(book: RuleBook) -> None:
    op = book.effective(SHAANXI).operating
    assert not op.staff_archive_required.value and op.staff_archive_required.rule_ids == []
    assert op.assessment_interval_days.value is None
    assert not op.emergency_plan_required.value and op.drill_interval_days.value is None
    assert not op.room_access_restricted.value
    assert op.repair_deadline_hours.rule_ids == ["national-2025:art15.p1"]


def test_beijing_bars_only_unauthorised_entry_chongqing_bans_outright(book: RuleBook) -> None:
    beijing = book.effective(BEIJING).operating
    assert beijing.room_access_restricted.value is True
    assert beijing.room_access_restricted.rule_ids == ["beijing-2007:art14.p2"]
    assert beijing.room_access_outright_ban.value is False
    assert "不得擅自进入" in (beijing.room_access_restricted.note or "")
    chongqing = book.effective(CHONGQING).operating
    assert chongqing.room_access_outright_ban.rule_ids == ["chongqing-2016:art20.i8"]
    assert "禁止" in (chongqing.room_access_restricted.note or "")


def test_intervals_are_product_defaults_cited_by_the_duty_articles(book: RuleBook) -> None:
    op = book.effective(CHONGQING).operating
    assert (op.training_interval_days.value, op.training_interval_days.product_default) == (
        365,
        True,
    )
    assert op.training_interval_days.rule_ids == ["chongqing-2016:art20.i2"]
    assert op.inspection_interval_days.value == 30
    assert op.repair_deadline_hours.value == 24
    assert op.repair_deadline_hours.rule_ids == [
        "national-2025:art15.p1",
        "chongqing-2016:art20.i6",
    ]
    assert op.assessment_interval_days.value == 365
    assert op.drill_interval_days.value == 365 and op.drill_interval_days.product_default
    assert op.drill_interval_days.rule_ids == ["chongqing-2016:art20.i1"]
    assert op.duty_monitoring.product_default is False


def test_liaoning_training_covers_the_law(book: RuleBook) -> None:
    op = book.effective(LIAONING).operating
    assert TrainingContent.LAW in op.training_contents.value
    assert op.entrustment_agreement_required.rule_ids == [
        "national-2025:art15.p2",
        "liaoning-2008:art14.p2",
    ]
    assert op.staff_archive_required.value is False


def test_decree_799_art15_is_lifted_on_art9_sites(book: RuleBook) -> None:
    op = book.effective(SHANGHAI, PublicPlaceArticle.ART9).operating
    assert op.inspection_interval_days.value is None
    assert op.entrustment_agreement_required.value is False
    assert book.effective(SHANGHAI).operating.inspection_interval_days.value == 30


def test_the_operating_duties_are_in_the_rules_output(book: RuleBook) -> None:
    out = book.effective(XIAN).as_dict()["operating"]
    assert out["report_deadline_minutes"]["value"] == 15
    assert out["report_deadline_minutes"]["key"] == "duty.operating.report_deadline_minutes"
    assert out["report_deadline_minutes"]["params"] == {"value": 15}
    assert out["training_contents"]["value"] == ["confidentiality", "ethics", "skills"]
    assert out["staff_archive_required"]["articles"] == ["Xi'an Measures art. 22(3)"]


@pytest.mark.parametrize(
    ("obligation", "penalty"),
    [
        ("xian-2020:art22.i2", "shaanxi-2011:art25"),  # training: Shaanxi art. 16(2)
        ("xian-2020:art22.i9", "shaanxi-2011:art25"),  # reporting: Shaanxi art. 16(4)
        ("xian-2020:art22.i3", None),  # staff archive: no Shaanxi counterpart (errata 1)
        ("xian-2020:art22.i4", None),  # assessment
        ("xian-2020:art22.i8", None),  # monitoring room
        ("xian-2020:art22.p2", None),  # entrustment
        ("chongqing-2016:art20.i3", "chongqing-2016:art32"),
        ("liaoning-2008:art14.i1", None),  # art. 23 fines items 3 to 7 only
        ("beijing-2007:art12.i1", "beijing-2007:art23"),
    ],
)
def test_operating_duties_keep_the_penalty_articles_consistent(
    book: RuleBook, obligation: str, penalty: str | None
) -> None:
    found = book.penalty_for(Citation.parse(obligation))
    assert (found.citation.rule_id if found else None) == penalty


def _xian_document() -> dict[str, Any]:
    from importlib import resources

    text = resources.files("custos.rulepacks").joinpath("xian-2020.yaml").read_text("utf-8")
    document: dict[str, Any] = yaml.safe_load(text)
    return document


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        (lambda op: op.update(drills_yearly=True), "operating.drills_yearly"),
        (lambda op: op.pop("staff_archive"), "operating.staff_archive"),
        (lambda op: op["report_suspicious"].update(urgency="soon"), "urgency"),
        (lambda op: op["training"].update(contents=["skills", "cooking"]), "contents"),
        (lambda op: op["training"].update(contents=[]), "contents"),
        (lambda op: op.update(assessment="chongqing-2016:art20.i4"), "operating.assessment"),
    ],
)
def test_the_operating_section_is_read_strictly(edit: Any, where: str) -> None:
    document = copy.deepcopy(_xian_document())
    edit(document["operating"])
    with pytest.raises(RulePackInvalid) as caught:
        parse_rulepack(document, "xian-2020.yaml")
    assert where in caught.value.key
