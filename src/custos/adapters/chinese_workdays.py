"""The PRC working-day calendar, from the ``chinesecalendar`` package (obligations.md §8 T-02).

The package carries the State Council General Office's annual holiday notices, make-up working
weekends (调休) included. It covers a fixed span of years per release; for any other year it
raises ``NotImplementedError``, which becomes :class:`CalendarNotCovered` here: Custos fails
closed and never guesses. Pin the package and update it each year when the notice is published.
"""

from __future__ import annotations

from datetime import date

import chinese_calendar

from custos.domain.errors import CalendarNotCovered


class ChineseWorkdayCalendar:
    """A :class:`~custos.domain.calendar.WorkdayCalendar` backed by ``chinese_calendar``."""

    def __init__(self) -> None:
        years = [holiday.year for holiday in chinese_calendar.holidays]
        self._covered = range(min(years), max(years) + 1)

    def is_workday(self, day: date) -> bool:
        if day.year not in self._covered:
            raise CalendarNotCovered(day.year)
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            raise CalendarNotCovered(day.year) from None

    def covered_years(self) -> range:
        """The years the installed package has holiday notices for (contiguous)."""
        return self._covered
