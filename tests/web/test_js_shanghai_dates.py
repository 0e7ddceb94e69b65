"""The browser counts calendar days in Asia/Shanghai, as the server does: no page takes a date
from the UTC ISO string (``toISOString().slice(0, 10)``), which is yesterday before 08:00."""

from __future__ import annotations

import re
from pathlib import Path

import custos.entrypoints.web

STATIC = Path(custos.entrypoints.web.__file__).parent / "static"
UTC_DAY = re.compile(r"toISOString\(\)\s*\.\s*slice\(\s*0\s*,\s*10\s*\)")


def test_no_page_takes_the_utc_date() -> None:
    offenders = [p.name for p in sorted(STATIC.glob("*.js")) if UTC_DAY.search(p.read_text())]
    assert offenders == []


def test_the_shared_helper_formats_in_shanghai() -> None:
    app = (STATIC / "app.js").read_text()
    assert "export function shanghaiDate" in app
    assert 'timeZone: "Asia/Shanghai"' in app
    for page in ("operations.js", "duty.js"):
        assert "shanghaiDate" in (STATIC / page).read_text(), page
