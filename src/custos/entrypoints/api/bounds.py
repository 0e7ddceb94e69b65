"""Bounds on every integer a client can send, so that a number out of range is a 422 naming
the field and never reaches the database (PostgreSQL's ``integer`` is 32 bits: a larger id
would be a 500). A test walks the OpenAPI document and fails on an integer without both bounds.

Dates and instants of the operating records (duty, rooms, staff, maintenance, emergency) are
bounded the same way, to the years 2000–2099 as interruption accounting is: a date near 0001 or
9999 would overflow the date arithmetic behind them (a schedule's next due day, a day before).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from annotated_types import Ge, Le, Lt
from pydantic import AwareDatetime

#: The largest row id: PostgreSQL ``integer`` (and SQLite's, which is wider, agrees).
ID_MAX = 2**31 - 1

#: A row id (unit, site, camera, user, request, session, segment, hold …).
Id = Annotated[int, Ge(1), Le(ID_MAX)]
#: A position in the operation log or its tree: 0 means "from the start".
Seq = Annotated[int, Ge(0), Le(ID_MAX)]
#: A camera's configured retention in days (the registry checks 1–3650 and names the rule).
RetentionDays = Annotated[int, Ge(0), Le(36500)]

#: The first and last day a client may name (as ``interruption_accounting`` accepts).
EARLIEST_DAY, LATEST_DAY = date(2000, 1, 1), date(2099, 12, 31)
#: A calendar date in 2000–2099.
Day = Annotated[date, Ge(EARLIEST_DAY), Le(LATEST_DAY)]
#: An instant with its UTC offset, in 2000–2099 (UTC).
Instant = Annotated[
    AwareDatetime, Ge(datetime(2000, 1, 1, tzinfo=UTC)), Lt(datetime(2100, 1, 1, tzinfo=UTC))
]
