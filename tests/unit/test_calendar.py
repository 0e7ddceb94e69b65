from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from custos.adapters.chinese_workdays import ChineseWorkdayCalendar
from custos.domain.calendar import (
    SHANGHAI,
    Deadline,
    FixedCalendar,
    add_calendar_days,
    add_working_days,
    period_end,
    roll_to_workday,
    shanghai_date,
)
from custos.domain.errors import CalendarNotCovered

CN = ChineseWorkdayCalendar()
LIAONING_ART12 = "Liaoning art. 12"


# --- T-02: working days on the real PRC calendar ------------------------------------------------


def test_liaoning_three_working_days_skip_the_2026_national_day_golden_week() -> None:
    # Holiday 2026-10-01..07; Saturday 2026-10-10 is a make-up working day (调休).
    assert not CN.is_workday(date(2026, 10, 1))
    assert not CN.is_workday(date(2026, 10, 7))
    assert CN.is_workday(date(2026, 10, 10))
    due = add_working_days(date(2026, 9, 30), 3, CN)
    assert due == date(2026, 10, 10)  # 10-08 Thu, 10-09 Fri, 10-10 Sat (调休)


def test_a_make_up_working_sunday_counts_as_day_one() -> None:
    # 2026-01-01..03 holiday; Sunday 2026-01-04 is a working day.
    assert add_working_days(date(2026, 1, 1), 1, CN) == date(2026, 1, 4)
    assert add_working_days(date(2026, 1, 1), 3, CN) == date(2026, 1, 6)


def test_a_make_up_saturday_before_spring_festival_counts_then_the_holiday_is_skipped() -> None:
    # Friday 2026-02-13 change: Sat 02-14 works (调休), 02-15..23 holiday.
    assert add_working_days(date(2026, 2, 13), 3, CN) == date(2026, 2, 25)


def test_a_plain_weekend_is_skipped() -> None:
    # Thursday 2026-03-05: Fri 03-06, (weekend), Mon 03-09, Tue 03-10.
    assert add_working_days(date(2026, 3, 5), 3, CN) == date(2026, 3, 10)


def test_day_one_is_the_first_working_day_after_the_change_even_on_a_workday() -> None:
    assert add_working_days(date(2026, 3, 2), 1, CN) == date(2026, 3, 3)


def test_a_deadline_running_into_2027_fails_closed() -> None:
    assert 2026 in CN.covered_years()
    assert 2027 not in CN.covered_years()
    with pytest.raises(CalendarNotCovered) as excinfo:
        add_working_days(date(2026, 12, 30), 3, CN)
    assert excinfo.value.year == 2027


def test_an_uncovered_year_is_never_guessed() -> None:
    with pytest.raises(CalendarNotCovered):
        CN.is_workday(date(2027, 1, 4))
    with pytest.raises(CalendarNotCovered):
        CN.is_workday(date(1999, 1, 4))


def test_working_day_deadline_is_due_on_a_working_day_for_both_readings() -> None:
    deadline = Deadline.in_working_days(date(2026, 9, 30), 3, CN, LIAONING_ART12)
    assert deadline == Deadline(date(2026, 10, 10), date(2026, 10, 10), LIAONING_ART12)


# --- T-01: calendar days ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("trigger", "days", "strict_due"),
    [
        (date(2007, 4, 1), 30, date(2007, 5, 1)),
        (date(2008, 1, 1), 30, date(2008, 1, 31)),
        (date(2016, 8, 1), 60, date(2016, 9, 30)),
        (date(2019, 6, 9), 90, date(2019, 9, 7)),
    ],
)
def test_historical_strict_due_dates_exclude_the_start_day(
    trigger: date, days: int, strict_due: date
) -> None:
    assert add_calendar_days(trigger, days) == strict_due


@pytest.mark.parametrize(
    ("trigger", "days", "strict_due", "legal_due"),
    [
        (date(2007, 4, 1), 30, date(2007, 5, 1), date(2007, 5, 8)),  # May Day week 2007
        (date(2019, 6, 9), 90, date(2019, 9, 7), date(2019, 9, 9)),  # Saturday → Monday
        (date(2016, 8, 1), 60, date(2016, 9, 30), date(2016, 9, 30)),  # a working Friday
    ],
)
def test_legal_due_rolls_past_rest_days_and_holidays(
    trigger: date, days: int, strict_due: date, legal_due: date
) -> None:
    deadline = Deadline.in_calendar_days(trigger, days, CN)
    assert (deadline.strict_due, deadline.legal_due) == (strict_due, legal_due)


def test_roll_to_workday_stops_on_a_make_up_working_saturday() -> None:
    assert roll_to_workday(date(2026, 10, 4), CN) == date(2026, 10, 8)
    assert roll_to_workday(date(2026, 10, 10), CN) == date(2026, 10, 10)


def test_negative_or_zero_day_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        add_calendar_days(date(2026, 1, 5), -1)
    with pytest.raises(ValueError, match="at least 1"):
        add_working_days(date(2026, 1, 5), 0, CN)


# --- Deadline --------------------------------------------------------------------------------


def test_overdue_only_after_the_strict_due_day_ends() -> None:
    deadline = Deadline(date(2026, 10, 10), date(2026, 10, 12))
    assert not deadline.is_overdue(date(2026, 10, 10))
    assert deadline.is_overdue(date(2026, 10, 11))
    assert not deadline.is_legally_overdue(date(2026, 10, 12))
    assert deadline.is_legally_overdue(date(2026, 10, 13))


def test_overdue_is_judged_on_the_shanghai_date() -> None:
    deadline = Deadline(date(2026, 10, 10), date(2026, 10, 10))
    assert not deadline.is_overdue_at(datetime(2026, 10, 10, 15, 59, 59, tzinfo=UTC))
    assert deadline.is_overdue_at(datetime(2026, 10, 10, 16, 0, 0, tzinfo=UTC))


def test_legal_due_before_strict_due_is_refused() -> None:
    with pytest.raises(ValueError, match="before strict_due"):
        Deadline(date(2026, 10, 10), date(2026, 10, 9))


# --- Asia/Shanghai dates -----------------------------------------------------------------------


def test_shanghai_date_converts_an_aware_moment() -> None:
    assert shanghai_date(datetime(2026, 9, 30, 16, 30, tzinfo=UTC)) == date(2026, 10, 1)
    new_york = timezone(timedelta(hours=-4))
    assert shanghai_date(datetime(2026, 9, 30, 11, 0, tzinfo=new_york)) == date(2026, 9, 30)
    assert shanghai_date(datetime(2026, 10, 1, 0, 0, tzinfo=SHANGHAI)) == date(2026, 10, 1)


def test_shanghai_date_refuses_a_naive_datetime() -> None:
    with pytest.raises(ValueError, match="naive"):
        shanghai_date(datetime(2026, 9, 30, 16, 30))


# --- FixedCalendar, the documented fake -----------------------------------------------------------


def fixed_2026() -> FixedCalendar:
    return FixedCalendar(
        years=[2026],
        holidays=[date(2026, 9, 25), *(date(2026, 10, d) for d in range(1, 8))],
        makeup_workdays=[date(2026, 9, 20), date(2026, 10, 10)],
    )


def test_fixed_calendar_agrees_with_the_real_one_on_national_day_2026() -> None:
    fixed = fixed_2026()
    for offset in range(45):
        day = date(2026, 9, 15) + timedelta(days=offset)
        assert fixed.is_workday(day) == CN.is_workday(day), day


def test_fixed_calendar_refuses_an_uncovered_year() -> None:
    with pytest.raises(CalendarNotCovered):
        fixed_2026().is_workday(date(2025, 12, 31))


def test_fixed_calendar_refuses_contradictory_data() -> None:
    with pytest.raises(ValueError, match="both holiday and make-up"):
        FixedCalendar(
            years=[2026], holidays=[date(2026, 10, 10)], makeup_workdays=[date(2026, 10, 10)]
        )
    with pytest.raises(ValueError, match="outside the covered years"):
        FixedCalendar(years=[2026], holidays=[date(2027, 1, 1)])


class NeverWorks:
    def is_workday(self, day: date) -> bool:
        return False


def test_a_calendar_without_working_days_raises_instead_of_looping() -> None:
    with pytest.raises(ValueError, match="no working day"):
        add_working_days(date(2026, 1, 5), 1, NeverWorks())


def test_a_period_of_days_runs_from_the_next_day_to_24_00_of_its_last_day() -> None:
    """Civil Code arts. 201 and 203, on Shanghai dates: 3 days from 10:00 on the 20th end at
    the start of the 24th, and a start at 00:30 Shanghai (16:30 UTC the day before) counts
    from the Shanghai date."""
    start = datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI)
    assert period_end(start, 3) == datetime(2026, 11, 24, 0, 0, tzinfo=SHANGHAI)
    just_after_midnight = datetime(2026, 11, 20, 16, 30, tzinfo=UTC)  # 00:30 on the 21st
    assert period_end(just_after_midnight, 3) == datetime(2026, 11, 25, 0, 0, tzinfo=SHANGHAI)
