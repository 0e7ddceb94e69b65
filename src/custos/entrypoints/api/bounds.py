"""Bounds on every integer a client can send, so that a number out of range is a 422 naming
the field and never reaches the database (PostgreSQL's ``integer`` is 32 bits: a larger id
would be a 500). A test walks the OpenAPI document and fails on an integer without both bounds.
"""

from __future__ import annotations

from typing import Annotated

from annotated_types import Ge, Le

#: The largest row id: PostgreSQL ``integer`` (and SQLite's, which is wider, agrees).
ID_MAX = 2**31 - 1

#: A row id (unit, site, camera, user, request, session, segment, hold …).
Id = Annotated[int, Ge(1), Le(ID_MAX)]
#: A position in the operation log or its tree: 0 means "from the start".
Seq = Annotated[int, Ge(0), Le(ID_MAX)]
#: A camera's configured retention in days (the registry checks 1–3650 and names the rule).
RetentionDays = Annotated[int, Ge(0), Le(36500)]
