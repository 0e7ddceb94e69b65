"""A recorded change, relocation or removal filing covers the camera steps from its trigger date
to the day it was filed (or today, while not yet filed), whatever their kind (review 2.1)."""

from __future__ import annotations

from datetime import date

from custos.domain.calendar import FixedCalendar
from custos.domain.kinds import LifecycleState
from custos.domain.rules import CameraFacts, FilingFacts, FilingKind, Finding, RuleBook, Transition
from tests.unit.rules.test_rules_compliance import SHAANXI, camera, codes, run, site

MONDAY, WEDNESDAY, FRIDAY = date(2026, 1, 5), date(2026, 1, 7), date(2026, 1, 9)


def _changed(camera_id: int, *days: date) -> CameraFacts:
    steps = tuple(Transition(LifecycleState.CHANGED, d) for d in days)
    return camera(camera_id=camera_id, state=LifecycleState.CHANGED, history=steps)


def _filing_codes(findings: list[Finding]) -> list[str]:
    return [c for c in codes(findings) if c.startswith("filing.")]


def test_one_task_covers_two_cameras_changed_on_different_days(
    book: RuleBook, calendar: FixedCalendar
) -> None:
    """Camera 1 changed Monday (the task's row: Monday, no single camera), camera 2 Wednesday
    (the task's diff followed): accepting the task clears both steps."""
    cameras = [_changed(1, MONDAY), _changed(2, WEDNESDAY)]
    open_task = [FilingFacts(FilingKind.CHANGE, MONDAY, None)]
    found = _filing_codes(run(book, calendar, site(SHAANXI), cameras, open_task, today=FRIDAY))
    assert found == ["filing.change.pending"], found  # the task alone, not also Wednesday's
    filed = [FilingFacts(FilingKind.CHANGE, MONDAY, FRIDAY)]
    assert _filing_codes(run(book, calendar, site(SHAANXI), cameras, filed, today=FRIDAY)) == []


def test_a_step_after_the_filing_was_made_is_owed_again(
    book: RuleBook, calendar: FixedCalendar
) -> None:
    cameras = [_changed(1, MONDAY, FRIDAY)]
    filed = [FilingFacts(FilingKind.CHANGE, MONDAY, WEDNESDAY)]
    found = _filing_codes(run(book, calendar, site(SHAANXI), cameras, filed, today=FRIDAY))
    assert found == ["filing.change.pending"], found


def test_a_filing_naming_a_camera_covers_only_that_camera(
    book: RuleBook, calendar: FixedCalendar
) -> None:
    cameras = [_changed(1, MONDAY), _changed(2, WEDNESDAY)]
    filed = [FilingFacts(FilingKind.CHANGE, MONDAY, FRIDAY, camera_id=1)]
    findings = run(book, calendar, site(SHAANXI), cameras, filed, today=FRIDAY)
    owed = [f for f in findings if f.code.startswith("filing.")]
    assert [(f.code, f.subject) for f in owed] == [("filing.change.pending", "camera:2")]


def test_a_task_switched_from_change_to_removal_covers_the_earlier_change(
    book: RuleBook, calendar: FixedCalendar
) -> None:
    """Camera changed Monday, removed Wednesday: the task's row became a removal (trigger kept
    on Monday); filed Friday, it covers the changed step as well as the removed one."""
    steps = (
        Transition(LifecycleState.CHANGED, MONDAY),
        Transition(LifecycleState.REMOVED, WEDNESDAY),
    )
    cameras = [camera(camera_id=1, state=LifecycleState.REMOVED, history=steps)]
    removal = [FilingFacts(FilingKind.REMOVAL, MONDAY, FRIDAY)]
    assert _filing_codes(run(book, calendar, site(SHAANXI), cameras, removal, today=FRIDAY)) == []
    pending = [FilingFacts(FilingKind.REMOVAL, MONDAY, None)]
    found = _filing_codes(run(book, calendar, site(SHAANXI), cameras, pending, today=FRIDAY))
    assert found == ["filing.removal.pending"], found
