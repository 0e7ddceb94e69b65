"""The operating records' pure rules: ID-card numbers, who counts as trained, work-order steps,
and the findings the duties of a Xi'an, a Beijing and a Shanghai site produce."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from custos.adapters.rulepack_loader import load_rulebook
from custos.domain.emergency import Drill, EmergencyPlan
from custos.domain.maintenance import (
    Contractor,
    EntrustmentAgreement,
    Inspection,
    InspectionResult,
    InspectionSchedule,
    WorkOrder,
    WorkOrderState,
    transition_error,
)
from custos.domain.operations_findings import OnDuty, OperatingRecords, operations_judgement
from custos.domain.rules import RuleBook
from custos.domain.rules.operating import OperatingDuties
from custos.domain.rules.terms import TrainingContent as C
from custos.domain.staff import (
    StaffMember,
    StaffRole,
    Training,
    id_number_error,
    is_trained,
    mask_id_number,
)

NOW = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
TODAY = date(2026, 12, 1)
SHA = "0" * 64


@pytest.fixture(scope="module")
def book() -> RuleBook:
    return load_rulebook()


def duties(book: RuleBook, division: str) -> OperatingDuties:
    return book.effective(division).operating


def member(
    staff_id: int, role: StaffRole = StaffRole.MONITORING, user: int | None = None
) -> StaffMember:
    return StaffMember(
        staff_id, 1, f"p{staff_id}", role, "110105********002X", date(2025, 1, 1), None, None,
        user, "boss", NOW,
    )  # fmt: skip


def training(on: date, contents: set[C], *who: int) -> Training:
    return Training(None, 1, on, frozenset(contents), "trainer", 4, who, "boss", NOW)


def test_id_numbers_are_checked_and_masked() -> None:
    assert id_number_error("11010519491231002X") is None
    assert id_number_error("11010519491231002x") is None
    assert id_number_error("110105194912310021").field == "id_number"  # type: ignore[union-attr]
    assert id_number_error("1101051949123100") is not None
    assert mask_id_number("11010519491231002X") == "110105********002X"


def test_trained_needs_every_required_content_within_the_interval() -> None:
    need = frozenset({C.SKILLS, C.CONFIDENTIALITY, C.ETHICS})
    done = [training(date(2026, 3, 1), {C.SKILLS, C.CONFIDENTIALITY}, 7),
            training(date(2026, 6, 1), {C.ETHICS}, 7, 8)]  # fmt: skip
    verdict = is_trained(done, 7, TODAY, 365, need)
    assert verdict.trained and verdict.last_training == date(2026, 6, 1)
    missing = is_trained(done, 8, TODAY, 365, need)
    assert not missing.trained and missing.missing == {C.SKILLS, C.CONFIDENTIALITY}
    # a year later the March training no longer counts
    stale = is_trained(done, 7, date(2027, 3, 1), 365, need)
    assert not stale.trained and stale.missing == {C.SKILLS, C.CONFIDENTIALITY}
    assert not is_trained(done, 9, TODAY, 365, need).trained  # never trained
    assert not is_trained(done, 7, date(2026, 2, 1), 365, need).trained  # not yet


def test_a_work_order_moves_step_by_step_and_is_verified_by_another_person() -> None:
    order = WorkOrder(1, 1, 1, None, None, "blur", NOW, "op")
    assert transition_error(order, WorkOrderState.REPAIRED, "op") is not None
    assert transition_error(order, WorkOrderState.ASSIGNED, "boss") is None
    repaired = WorkOrder(1, 1, 1, None, None, "blur", NOW, "op", WorkOrderState.REPAIRED,
                         repaired_by="fixer")  # fmt: skip
    refused = transition_error(repaired, WorkOrderState.VERIFIED, "fixer")
    assert refused is not None and refused.key == "refusal.work_order_four_eyes"
    assert transition_error(repaired, WorkOrderState.VERIFIED, "boss") is None


def _records(**over: object) -> OperatingRecords:
    base: dict[str, object] = {
        "staff": [member(1, user=11)],
        "trainings": [training(date(2026, 11, 1), {C.SKILLS, C.CONFIDENTIALITY, C.ETHICS}, 1)],
        "on_duty": [OnDuty(11, "op", date(2026, 11, 20))],
        "schedules": [InspectionSchedule(5, 1, 3, None, 30, date(2026, 11, 1), "boss", NOW)],
        "inspections": [
            Inspection(1, 5, date(2026, 11, 25), 1, InspectionResult.OK, "", "op", NOW)
        ],
        "assessments": [],
        "plans": [EmergencyPlan(1, 1, "plan", "1", date(2026, 6, 1), "boss", SHA, "boss", NOW)],
        "drills": [Drill(1, 1, date(2026, 7, 1), "fire", (1,), "", "boss", NOW)],
    }
    base.update(over)
    return OperatingRecords(**base)  # type: ignore[arg-type]


def _codes(book: RuleBook, division: str, records: OperatingRecords) -> list[str]:
    return [f.code for f in operations_judgement(duties(book, division), 3, records, NOW, TODAY)]


def test_well_kept_records_in_xian_leave_only_the_missing_assessment(book: RuleBook) -> None:
    assert _codes(book, "610113", _records()) == ["maintenance.assessment.overdue"]


def test_beijing_and_shanghai_judge_only_what_their_packs_impose(book: RuleBook) -> None:
    bare = _records(schedules=[], plans=[], drills=[], staff=[], trainings=[])
    # Beijing: no archive duty, no assessment; a plan (art. 12(2)); Decree 799 inspection
    assert _codes(book, "110105", bare) == [
        "maintenance.inspection.unscheduled",
        "emergency.plan.missing",
    ]
    # Shanghai: Decree 799 alone (art. 15): inspection only
    assert _codes(book, "310101", bare) == ["maintenance.inspection.unscheduled"]


def test_a_person_on_duty_without_an_archive_entry_or_training_is_a_finding(
    book: RuleBook,
) -> None:
    records = _records(
        staff=[member(1, user=11), member(2, user=12)],
        on_duty=[OnDuty(11, "op", date(2026, 11, 20)), OnDuty(12, "op2", date(2026, 11, 21)),
                 OnDuty(13, "stranger", date(2026, 11, 22)),
                 OnDuty(13, "stranger", date(2026, 11, 23))],
    )  # fmt: skip
    found = operations_judgement(duties(book, "500103"), 3, records, NOW, TODAY)
    staff = [(f.code, f.params["person"], f.rule_ids) for f in found if f.code.startswith("staff")]
    assert staff == [
        ("staff.training.missing", "p2", ["chongqing-2016:art20.i2"]),
        ("staff.archive.missing", "stranger", ["chongqing-2016:art20.i3"]),
    ]


def test_inspection_repair_entrustment_and_drill_deadlines(book: RuleBook) -> None:
    late_order = WorkOrder(1, 1, 3, 9, None, "offline", NOW - timedelta(hours=30), "op")
    fresh_order = WorkOrder(
        2, 1, 3, 9, None, "blur", NOW - timedelta(hours=2), "op", WorkOrderState.ASSIGNED,
        assignee_contractor_id=2, assigned_at=NOW - timedelta(hours=1),
    )  # fmt: skip
    records = _records(
        inspections=[],  # the schedule started 2026-11-01: due 12-01 is not yet past
        work_orders=[late_order, fresh_order],
        contractors=[Contractor(1, 1, "维保公司", True, "boss", NOW),
                     Contractor(2, 1, "已停用公司", False, "boss", NOW)],
        agreements=[EntrustmentAgreement(1, 1, date(2025, 1, 1), date(2025, 1, 1),
                                         date(2025, 12, 31), "维护", SHA, "boss", NOW)],
        drills=[Drill(1, 1, date(2025, 11, 1), "fire", (1,), "", "boss", NOW)],
    )  # fmt: skip
    found = operations_judgement(duties(book, "610113"), 3, records, NOW, TODAY)
    by_code = {f.code: f for f in found}
    assert set(by_code) == {
        "maintenance.repair.overdue",
        "maintenance.entrustment.missing",  # the 2025 agreement has expired
        "maintenance.assessment.overdue",
        "emergency.drill.overdue",
    }
    entrusted = [f.params["contractor"] for f in found if f.code.startswith("maintenance.ent")]
    assert entrusted == ["维保公司", "已停用公司"]  # the second was assigned a work order
    assert by_code["maintenance.repair.overdue"].subject == "camera:9"
    assert by_code["maintenance.repair.overdue"].params["work_order_id"] == 1
    assert by_code["emergency.drill.overdue"].due == date(2026, 11, 1)
    later = operations_judgement(
        duties(book, "610113"), 3, records, NOW + timedelta(days=1), TODAY + timedelta(days=1)
    )
    overdue = [f for f in later if f.code == "maintenance.inspection.overdue"]
    assert [f.due for f in overdue] == [date(2026, 12, 1)]
