"""Deadline arithmetic in Asia/Shanghai dates (obligations.md §8.2 T-01, T-02).

T-01, "within N days" (自…之日起N日内, …后N日内): the start day is not counted, so
``strict_due = trigger + N days``. Custos alerts on ``strict_due``. ``legal_due`` is the same
day rolled forward to the next working day when it falls on a rest day or statutory holiday
(PRC Civil Code arts. 201–203); compliance status is shown on ``legal_due``.

T-02, "within N working days" (Liaoning art. 12): day 1 is the first working day after the
trigger date. Working days come from a :class:`WorkdayCalendar` that knows the State Council's
make-up working weekends (调休). A calendar must raise
:class:`~custos.domain.errors.CalendarNotCovered` for a year it lacks: Custos fails closed and
never guesses a working day.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from custos.domain.errors import CalendarNotCovered

SHANGHAI = ZoneInfo("Asia/Shanghai")

MAX_REST_RUN = 31
"""No real PRC calendar has this many rest days in a row (the longest is 9); a calendar that
does is broken, and the arithmetic stops rather than loop."""


class WorkdayCalendar(Protocol):
    """Whether a date is a working day in mainland China."""

    def is_workday(self, day: date) -> bool:
        """True on a working day, including a make-up working weekend day.

        Raises CalendarNotCovered for a year the calendar has no data for.
        """
        ...


def shanghai_date(moment: datetime) -> date:
    """The Asia/Shanghai calendar date of an aware moment. Naive datetimes are refused."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a naive datetime has no place in time; pass an aware datetime")
    return moment.astimezone(SHANGHAI).date()


def period_end(start: datetime, days: int) -> datetime:
    """The instant a period of ``days`` days that begins at ``start`` runs out, counted as the
    Civil Code counts (art. 201: a period in days starts on the next day; art. 203: it ends at
    24:00 of its last day), on Shanghai dates."""
    last = add_calendar_days(shanghai_date(start), days)
    return datetime.combine(last + timedelta(days=1), time(0), tzinfo=SHANGHAI)


def add_calendar_days(start: date, days: int) -> date:
    """The last day of a period of ``days`` calendar days after ``start`` (start excluded)."""
    if days < 0:
        raise ValueError(f"days must not be negative, got {days}")
    return start + timedelta(days=days)


def next_workday(day: date, calendar: WorkdayCalendar) -> date:
    """The first working day strictly after ``day``."""
    candidate = day
    for _ in range(MAX_REST_RUN):
        candidate += timedelta(days=1)
        if calendar.is_workday(candidate):
            return candidate
    raise ValueError(f"calendar has no working day within {MAX_REST_RUN} days after {day}")


def add_working_days(start: date, days: int, calendar: WorkdayCalendar) -> date:
    """The ``days``-th working day after ``start``; day 1 is the first working day after it."""
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    due = start
    for _ in range(days):
        due = next_workday(due, calendar)
    return due


def roll_to_workday(day: date, calendar: WorkdayCalendar) -> date:
    """``day`` itself if it is a working day, else the next working day (Civil Code art. 203)."""
    if calendar.is_workday(day):
        return day
    return next_workday(day, calendar)


@dataclass(frozen=True)
class Deadline:
    """A due date: alert on ``strict_due``, judge compliance on ``legal_due``.

    Both are Asia/Shanghai dates; a deadline runs to the end of its day (24:00 Shanghai).
    ``citation`` names the article that sets it, e.g. ``"Liaoning art. 12"``.
    """

    strict_due: date
    legal_due: date
    citation: str | None = None

    def __post_init__(self) -> None:
        if self.legal_due < self.strict_due:
            raise ValueError(f"legal_due {self.legal_due} is before strict_due {self.strict_due}")

    @classmethod
    def in_calendar_days(
        cls, trigger: date, days: int, calendar: WorkdayCalendar, citation: str | None = None
    ) -> Deadline:
        """T-01: ``days`` calendar days after ``trigger``; legal_due rolled to a working day."""
        strict = add_calendar_days(trigger, days)
        return cls(strict, roll_to_workday(strict, calendar), citation)

    @classmethod
    def in_working_days(
        cls, trigger: date, days: int, calendar: WorkdayCalendar, citation: str | None = None
    ) -> Deadline:
        """T-02: the ``days``-th working day after ``trigger``; already a working day."""
        due = add_working_days(trigger, days, calendar)
        return cls(due, due, citation)

    def is_overdue(self, today: date) -> bool:
        """True once ``today`` (a Shanghai date) is past ``strict_due``: time to alert."""
        return today > self.strict_due

    def is_legally_overdue(self, today: date) -> bool:
        """True once ``today`` (a Shanghai date) is past ``legal_due``: non-compliant."""
        return today > self.legal_due

    def is_overdue_at(self, moment: datetime) -> bool:
        """:meth:`is_overdue` for an aware moment, judged on its Shanghai date."""
        return self.is_overdue(shanghai_date(moment))


class FixedCalendar:
    """A :class:`WorkdayCalendar` from explicit data: Monday–Friday work, except ``holidays``;
    Saturday and Sunday rest, except ``makeup_workdays`` (调休). Any day outside ``years``
    raises :class:`CalendarNotCovered`. A fake for tests and a documented reference.
    """

    def __init__(
        self,
        *,
        years: Iterable[int],
        holidays: Iterable[date] = (),
        makeup_workdays: Iterable[date] = (),
    ) -> None:
        self.years = frozenset(years)
        self.holidays = frozenset(holidays)
        self.makeup_workdays = frozenset(makeup_workdays)
        both = self.holidays & self.makeup_workdays
        if both:
            raise ValueError(f"days both holiday and make-up workday: {sorted(both)}")
        outside = {d for d in self.holidays | self.makeup_workdays if d.year not in self.years}
        if outside:
            raise ValueError(f"days outside the covered years: {sorted(outside)}")

    def is_workday(self, day: date) -> bool:
        if day.year not in self.years:
            raise CalendarNotCovered(day.year)
        if day in self.makeup_workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def covered_years(self) -> frozenset[int]:
        return self.years
