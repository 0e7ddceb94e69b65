"""Compliance findings for a site and its cameras: each kind, each jurisdiction's numbers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import pytest

from custos.domain.calendar import FixedCalendar
from custos.domain.kinds import LifecycleState, PublicPlaceArticle, Severity, UnitKind
from custos.domain.rules import (
    CameraFacts,
    FilingFacts,
    FilingKind,
    Finding,
    FineRange,
    RuleBook,
    SiteFacts,
    Transition,
    evaluate_compliance,
)

BEIJING, LIAONING, SHAANXI, XIAN, CHONGQING, SHANGHAI = (
    "110105", "210102", "610502", "610113", "500103", "310101",
)  # fmt: skip


def site(division: str, **overrides: Any) -> SiteFacts:
    fields: dict[str, Any] = {
        "site_id": 3,
        "division_code": division,
        "unit_kind": UnitKind.ENTERPRISE,
        "categories": frozenset(),
        "public_place_article": PublicPlaceArticle.ART7_P2,
    }
    fields.update(overrides)
    return SiteFacts(**fields)


def camera(**overrides: Any) -> CameraFacts:
    fields: dict[str, Any] = {
        "camera_id": 7,
        "categories": frozenset({"shopping_mall"}),
        "covers_public_area": True,
        "signage_installed": True,
        "retention_days": 30,
        "state": LifecycleState.IN_SERVICE,
    }
    fields.update(overrides)
    return CameraFacts(**fields)


def run(
    book: RuleBook,
    calendar: FixedCalendar,
    the_site: SiteFacts,
    cameras: Sequence[CameraFacts] = (),
    filings: Sequence[FilingFacts] = (),
    today: date = date(2026, 1, 20),
) -> list[Finding]:
    return evaluate_compliance(book, the_site, cameras, filings, today=today, calendar=calendar)


def only(findings: list[Finding], code: str) -> Finding:
    matching = [f for f in findings if f.code == code]
    assert len(matching) == 1, [f.code for f in findings]
    return matching[0]


def codes(findings: list[Finding]) -> list[str]:
    return [f.code for f in findings]


# --- mandatory categories ----------------------------------------------------------------------


def test_a_chongqing_hotel_without_an_operating_camera_is_a_violation(
    book: RuleBook, calendar: FixedCalendar
) -> None:
    planned = camera(categories=frozenset({"hotel"}), state=LifecycleState.PLANNED)
    finding = only(
        run(book, calendar, site(CHONGQING, categories={"hotel"}), [planned]),
        "mandatory_category.uncovered",
    )
    assert finding.subject == "site:3"
    assert finding.severity is Severity.VIOLATION
    assert finding.rule_ids == ["chongqing-2016:art9.i3"]
    assert finding.penalty_rule_id == "chongqing-2016:art30.i1"
    assert finding.fine == FineRange(1000, 1000, None, 500, 500, 1000)


def test_an_operating_camera_covers_the_mandatory_category(
    book: RuleBook, calendar: FixedCalendar
) -> None:
    covering = camera(categories=frozenset({"hotel"}), state=LifecycleState.CHANGED)
    findings = run(book, calendar, site(CHONGQING, categories={"hotel"}), [covering])
    assert "mandatory_category.uncovered" not in codes(findings)


def test_a_xian_school_cites_both_shaanxi_and_xian_and_carries_no_fine(
    book: RuleBook, calendar: FixedCalendar
) -> None:
    finding = only(
        run(book, calendar, site(XIAN, categories={"school"})), "mandatory_category.uncovered"
    )
    assert finding.rule_ids == ["shaanxi-2011:art7.i3", "xian-2020:art9.i9"]
    assert finding.fine is None


def test_a_category_mandatory_in_no_applicable_pack_raises_nothing(
    book: RuleBook, calendar: FixedCalendar
) -> None:
    assert run(book, calendar, site(CHONGQING, categories={"school"})) == []
    assert run(book, calendar, site(SHANGHAI, categories={"hotel"})) == []


# --- signage -----------------------------------------------------------------------------------


def test_a_public_area_camera_without_signage_is_fined_under_shaanxi(
    book: RuleBook, calendar: FixedCalendar
) -> None:
    finding = only(
        run(book, calendar, site(SHAANXI), [camera(signage_installed=False)]), "signage.missing"
    )
    assert finding.subject == "camera:7"
    assert finding.rule_ids == ["national-2025:art13", "shaanxi-2011:art11"]
    assert finding.penalty_rule_id == "shaanxi-2011:art23"
    assert finding.fine == FineRange(500, 1000, None, None, 500, 1000)


def test_xian_signage_fine_comes_from_shaanxi_through_art33(
    book: RuleBook, calendar: FixedCalendar
) -> None:
    finding = only(
        run(book, calendar, site(XIAN), [camera(signage_installed=False)]), "signage.missing"
    )
    assert finding.rule_ids == ["national-2025:art13", "shaanxi-2011:art11", "xian-2020:art13"]
    assert finding.penalty_rule_id == "shaanxi-2011:art23"


def test_liaoning_signage_rule_binds_only_government_invested_systems(
    book: RuleBook, calendar: FixedCalendar
) -> None:
    unsigned = [camera(signage_installed=False)]
    enterprise = only(run(book, calendar, site(LIAONING), unsigned), "signage.missing")
    assert enterprise.rule_ids == ["national-2025:art13"]
    # the fact is the investment (政府投资建设): a government organ's own system, or any system
    # flagged government-invested (e.g. an enterprise running a system the government paid for)
    organ = site(LIAONING, unit_kind=UnitKind.GOVERNMENT_ORGAN)
    assert (
        "liaoning-2008:art13.p1"
        in only(run(book, calendar, organ, unsigned), "signage.missing").rule_ids
    )
    invested = site(LIAONING, government_invested=True)
    assert only(run(book, calendar, invested, unsigned), "signage.missing").rule_ids == [
        "national-2025:art13",
        "liaoning-2008:art13.p1",
    ]


def test_signed_or_private_area_cameras_need_no_finding(
    book: RuleBook, calendar: FixedCalendar
) -> None:
    cameras = [camera(), camera(camera_id=8, covers_public_area=False, signage_installed=False)]
    assert run(book, calendar, site(SHAANXI), cameras) == []


# --- retention ---------------------------------------------------------------------------------


def test_20_days_in_liaoning_breaks_only_the_national_floor(
    book: RuleBook, calendar: FixedCalendar
) -> None:
    finding = only(
        run(book, calendar, site(LIAONING), [camera(retention_days=20)]), "retention.below_floor"
    )
    assert finding.rule_ids == ["national-2025:art17"]
    assert finding.fine is None
    assert "30 days" in finding.message


def test_10_days_in_liaoning_breaks_both_floors_and_carries_liaoning_fine(
    book: RuleBook, calendar: FixedCalendar
) -> None:
    finding = only(
        run(book, calendar, site(LIAONING), [camera(retention_days=10)]), "retention.below_floor"
    )
    assert finding.rule_ids == ["national-2025:art17", "liaoning-2008:art14.i7"]
    assert finding.penalty_rule_id == "liaoning-2008:art23"


def test_20_days_in_xian_cites_all_three_packs_with_the_shaanxi_fine(
    book: RuleBook, calendar: FixedCalendar
) -> None:
    finding = only(
        run(book, calendar, site(XIAN), [camera(retention_days=20)]), "retention.below_floor"
    )
    assert finding.rule_ids == [
        "national-2025:art17",
        "shaanxi-2011:art16.i7",
        "xian-2020:art25.p2",
    ]
    assert finding.penalty_rule_id == "shaanxi-2011:art25"


def test_retention_at_the_floor_or_unset_is_compliant(
    book: RuleBook, calendar: FixedCalendar
) -> None:
    cameras = [camera(retention_days=30), camera(camera_id=8, retention_days=None)]
    assert run(book, calendar, site(XIAN), cameras) == []


# --- initial filing ----------------------------------------------------------------------------


def test_decree_filing_is_due_30_days_after_put_in_use(
    book: RuleBook, calendar: FixedCalendar
) -> None:
    the_site = site(SHANGHAI, in_use_date=date(2025, 5, 10))
    finding = only(run(book, calendar, the_site, today=date(2025, 6, 10)), "filing.initial.overdue")
    assert finding.due == date(2025, 6, 9)
    assert finding.rule_ids == ["national-2025:art14.p1"]
    assert finding.penalty_rule_id == "national-2025:art29"
    pending = only(run(book, calendar, the_site, today=date(2025, 6, 9)), "filing.initial.pending")
    assert pending.severity is Severity.INFO and pending.due == date(2025, 6, 9)


def test_beijing_filing_runs_from_acceptance_and_binds_before_the_decree(
    book: RuleBook, calendar: FixedCalendar
) -> None:
    the_site = site(BEIJING, acceptance_date=date(2025, 5, 1), in_use_date=date(2025, 5, 20))
    finding = only(run(book, calendar, the_site, today=date(2025, 6, 5)), "filing.initial.overdue")
    assert finding.due == date(2025, 5, 31)
    assert finding.rule_ids == ["beijing-2007:art11.p1", "national-2025:art14.p1"]
    assert finding.penalty_rule_id == "beijing-2007:art22"


def test_a_late_chongqing_filing_is_a_warning(book: RuleBook, calendar: FixedCalendar) -> None:
    the_site = site(CHONGQING, acceptance_date=date(2025, 5, 1), in_use_date=date(2025, 5, 2))
    filed = [FilingFacts(FilingKind.INITIAL, date(2025, 5, 1), date(2025, 6, 3))]
    finding = only(run(book, calendar, the_site, filings=filed), "filing.initial.late")
    assert finding.severity is Severity.WARNING
    assert finding.rule_ids == ["chongqing-2016:art16.p1", "national-2025:art14.p1"]
    on_time = [FilingFacts(FilingKind.INITIAL, date(2025, 5, 1), date(2025, 5, 31))]
    assert run(book, calendar, the_site, filings=on_time) == []


def test_liaoning_filing_counts_from_put_in_use(book: RuleBook, calendar: FixedCalendar) -> None:
    the_site = site(LIAONING, acceptance_date=date(2025, 4, 1), in_use_date=date(2025, 5, 1))
    finding = only(run(book, calendar, the_site, today=date(2025, 5, 15)), "filing.initial.pending")
    assert finding.due == date(2025, 5, 31)
    assert finding.rule_ids == ["national-2025:art14.p1", "liaoning-2008:art12.p1"]


def test_a_preexisting_beijing_system_has_been_overdue_since_2007(
    book: RuleBook, calendar: FixedCalendar
) -> None:
    the_site = site(BEIJING, acceptance_date=date(2005, 3, 1), in_use_date=date(2005, 3, 2))
    finding = only(run(book, calendar, the_site), "filing.initial.overdue")
    assert finding.due == date(2007, 5, 1)
    assert finding.rule_ids == ["beijing-2007:art11.p2", "national-2025:art14.p1"]


def test_a_system_in_use_before_the_decree_had_until_2025_06_30(
    book: RuleBook, calendar: FixedCalendar
) -> None:
    the_site = site(SHANGHAI, in_use_date=date(2024, 1, 1))
    finding = only(run(book, calendar, the_site, today=date(2025, 7, 1)), "filing.initial.overdue")
    assert finding.due == date(2025, 6, 30)


def test_an_art9_place_owes_no_decree_filing(book: RuleBook, calendar: FixedCalendar) -> None:
    the_site = site(
        SHANGHAI, in_use_date=date(2025, 5, 10), public_place_article=PublicPlaceArticle.ART9
    )
    assert run(book, calendar, the_site) == []


# --- change, relocation and removal filings ------------------------------------------------------


def test_liaoning_change_is_due_on_the_third_working_day_across_golden_week(
    book: RuleBook, calendar: FixedCalendar
) -> None:
    change = [FilingFacts(FilingKind.CHANGE, date(2026, 9, 30), None)]
    pending = only(
        run(book, calendar, site(LIAONING), filings=change, today=date(2026, 10, 9)),
        "filing.change.pending",
    )
    assert pending.due == date(2026, 10, 10)  # 10-08, 10-09, then Saturday 10-10 (调休)
    overdue = only(
        run(book, calendar, site(LIAONING), filings=change, today=date(2026, 10, 11)),
        "filing.change.overdue",
    )
    assert overdue.rule_ids == ["liaoning-2008:art12.p1", "national-2025:art14.p1"]
    assert overdue.penalty_rule_id == "liaoning-2008:art22"


def test_shaanxi_change_report_is_due_in_30_calendar_days(
    book: RuleBook, calendar: FixedCalendar
) -> None:
    change = [FilingFacts(FilingKind.CHANGE, date(2026, 1, 10), None)]
    finding = only(
        run(book, calendar, site(SHAANXI), filings=change, today=date(2026, 2, 10)),
        "filing.change.overdue",
    )
    assert finding.due == date(2026, 2, 9)
    assert finding.rule_ids[0] == "shaanxi-2011:art15"
    assert finding.penalty_rule_id == "shaanxi-2011:art24"


def test_a_relocated_camera_in_xian_owes_a_report_within_30_days(
    book: RuleBook, calendar: FixedCalendar
) -> None:
    moved = camera(
        state=LifecycleState.RELOCATED,
        history=(Transition(LifecycleState.RELOCATED, date(2025, 12, 1)),),
    )
    finding = only(run(book, calendar, site(XIAN), [moved]), "filing.relocation.overdue")
    assert finding.subject == "camera:7"
    assert finding.due == date(2025, 12, 31)
    assert finding.rule_ids == [
        "shaanxi-2011:art15",
        "xian-2020:art19.p2",
        "national-2025:art14.p1",
    ]
    filed = [FilingFacts(FilingKind.RELOCATION, date(2025, 12, 1), date(2025, 12, 20), camera_id=7)]
    assert run(book, calendar, site(XIAN), [moved], filed) == []


def test_chongqing_removal_report_is_due_in_30_days(
    book: RuleBook, calendar: FixedCalendar
) -> None:
    removal = [FilingFacts(FilingKind.REMOVAL, date(2025, 11, 1), date(2025, 12, 5))]
    finding = only(run(book, calendar, site(CHONGQING), filings=removal), "filing.removal.late")
    assert finding.due == date(2025, 12, 1)
    assert finding.rule_ids == ["chongqing-2016:art16.p3", "national-2025:art14.p1"]
    assert finding.penalty_rule_id == "chongqing-2016:art31"


def test_a_beijing_change_is_owed_promptly_without_a_date(
    book: RuleBook, calendar: FixedCalendar
) -> None:
    change = [FilingFacts(FilingKind.CHANGE, date(2025, 11, 1), None)]
    finding = only(run(book, calendar, site(BEIJING), filings=change), "filing.change.pending")
    assert finding.due is None
    assert finding.rule_ids == ["national-2025:art14.p1"]
    assert "及时" in finding.message


def test_a_working_day_deadline_outside_the_calendar_fails_closed(
    book: RuleBook, calendar: FixedCalendar
) -> None:
    change = [FilingFacts(FilingKind.CHANGE, date(2030, 3, 2), None)]
    finding = only(run(book, calendar, site(LIAONING), filings=change), "calendar.not_covered")
    assert finding.severity is Severity.CRITICAL
    assert finding.rule_ids == ["liaoning-2008:art12.p1"]


# --- acceptance before use, placement ------------------------------------------------------------


@pytest.mark.parametrize(
    ("division", "rule_ids", "penalty"),
    [
        (CHONGQING, ["chongqing-2016:art14"], "chongqing-2016:art30.i3"),
        (XIAN, ["xian-2020:art14.p2"], None),
    ],
)
def test_use_before_acceptance_is_a_violation_in_chongqing_and_xian(
    book: RuleBook, calendar: FixedCalendar, division: str, rule_ids: list[str], penalty: str | None
) -> None:
    early = site(division, in_use_date=date(2025, 5, 1), acceptance_date=date(2025, 5, 10))
    finding = only(
        run(book, calendar, early, today=date(2025, 5, 20)), "acceptance.in_use_before_acceptance"
    )
    assert finding.rule_ids == rule_ids
    assert finding.penalty_rule_id == penalty
    never = site(division, in_use_date=date(2025, 5, 1))
    assert "acceptance.in_use_before_acceptance" in codes(
        run(book, calendar, never, today=date(2025, 5, 20))
    )


def test_use_before_acceptance_is_not_a_finding_in_beijing(
    book: RuleBook, calendar: FixedCalendar
) -> None:
    early = site(BEIJING, in_use_date=date(2025, 5, 1), acceptance_date=date(2025, 5, 10))
    assert "acceptance.in_use_before_acceptance" not in codes(
        run(book, calendar, early, today=date(2025, 5, 20))
    )


def test_a_registered_camera_in_a_prohibited_place_is_reported(
    book: RuleBook, calendar: FixedCalendar
) -> None:
    findings = run(book, calendar, site(CHONGQING), [camera(categories=frozenset({"toilet"}))])
    refused = [f for f in findings if f.code == "placement.refused"]
    assert [f.rule_ids[0] for f in refused] == ["national-2025:art8.i3", "chongqing-2016:art10.i3"]
    assert all(f.subject == "camera:7" for f in refused)


def test_findings_serialise_for_the_api(book: RuleBook, calendar: FixedCalendar) -> None:
    finding = only(
        run(book, calendar, site(SHAANXI), [camera(signage_installed=False)]), "signage.missing"
    )
    document = finding.as_dict()
    assert document["rule_ids"] == ["national-2025:art13", "shaanxi-2011:art11"]
    assert document["articles"] == ["Decree 799 art. 13", "Shaanxi Measures art. 11"]
    assert document["fine"]["unit_max"] == 1000
    assert document["severity"] == "violation"
