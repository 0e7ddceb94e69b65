"""Regulation dates are Asia/Shanghai dates: nothing but the calendar may take `.date()` of a time.

Between 16:00 and 24:00 UTC the UTC date is a day behind Shanghai's, so `moment.date()` on a UTC
datetime is a bug for a third of every day (it made the suite fail each evening). The one place
that turns a moment into a date is `custos.domain.calendar.shanghai_date`. This test reads every
module of the code and of the tests and fails on any other `.date()`, `date.today()` or naive
`datetime.now()` / `datetime.utcnow()`.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ALLOWED = {ROOT / "src/custos/domain/calendar.py"}


def _offences(source: str, where: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source, where)):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        name, owner = node.func.attr, node.func.value
        owner_name = owner.id if isinstance(owner, ast.Name) else ""
        if name == "date" and not node.args and not node.keywords:
            found.append(f"{where}:{node.lineno}: .date() (use shanghai_date)")
        elif name == "today" and owner_name in {"date", "datetime"}:
            found.append(f"{where}:{node.lineno}: {owner_name}.today()")
        elif name == "utcnow" or (name == "now" and owner_name == "datetime" and not node.args):
            found.append(f"{where}:{node.lineno}: naive {owner_name}.{name}()")
    return found


def test_no_date_is_taken_of_a_moment_outside_the_calendar() -> None:
    files = [p for d in ("src", "tests", "bench") for p in sorted((ROOT / d).rglob("*.py"))]
    assert len(files) > 100
    offences = [
        offence
        for p in files
        if p not in ALLOWED
        for offence in _offences(p.read_text(encoding="utf-8"), str(p.relative_to(ROOT)))
    ]
    assert offences == []


def test_the_scan_finds_each_kind_of_offence() -> None:
    source = (
        "from datetime import UTC, date, datetime\n"
        "day = datetime.now(UTC).date()\n"
        "also = date.today()\n"
        "naive = datetime.now()\n"
        "fine = shanghai_date(datetime.now(UTC))\n"
    )
    assert _offences(source, "probe.py") == [
        "probe.py:2: .date() (use shanghai_date)",
        "probe.py:3: date.today()",
        "probe.py:4: naive datetime.now()",
    ]
