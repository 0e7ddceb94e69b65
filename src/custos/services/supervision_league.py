"""The league table of the units a bureau supervises (docs/design/filing.md D5).

A unit's score is its open findings (severity warning and above; an ``info`` finding such as a
filing not yet due is not a failing) plus its overdue items, each weighing 3: overdue filings
(``filing.*.overdue``, counted here and not again as findings) and overdue rectification notices.
The worst unit comes first; ties go by name, then id. Exported as CSV (UTF-8 with a BOM, so a
spreadsheet reads the Chinese; headers in the caller's language) and as a PDF through the
:data:`LeagueSheet` port.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from custos.domain.kinds import Severity
from custos.domain.rules import Finding

#: What an overdue filing or an overdue rectification notice weighs against one finding.
OVERDUE_WEIGHT = 3

#: Renders the table as a PDF: (rows, meta, language "zh" | "en") → bytes.
LeagueSheet = Callable[[Sequence[Mapping[str, Any]], Mapping[str, Any], str], bytes]

COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("rank", "名次", "Rank"),
    ("unit_name", "单位", "Unit"),
    ("credit_code", "统一社会信用代码", "Credit code"),
    ("sites", "点位数", "Sites"),
    ("open_findings", "未整改问题", "Open findings"),
    ("overdue_filings", "逾期备案", "Overdue filings"),
    ("overdue_notices", "逾期整改通知", "Overdue notices"),
    ("score", "得分", "Score"),
)


def is_overdue_filing(f: Finding) -> bool:
    return f.code.startswith("filing.") and f.code.endswith(".overdue")


def is_open_finding(f: Finding) -> bool:
    return f.severity is not Severity.INFO and not is_overdue_filing(f)


@dataclass(frozen=True)
class UnitLine:
    unit_id: int
    unit_name: str
    credit_code: str
    sites: int
    open_findings: int
    overdue_filings: int
    overdue_notices: int

    @property
    def score(self) -> int:
        return self.open_findings + OVERDUE_WEIGHT * (self.overdue_filings + self.overdue_notices)


def ranked(lines: Sequence[UnitLine]) -> list[dict[str, Any]]:
    """Worst first, ties by name then id; equal scores share a rank."""
    order = sorted(lines, key=lambda u: (-u.score, u.unit_name, u.unit_id))
    out: list[dict[str, Any]] = []
    for i, u in enumerate(order):
        rank = out[-1]["rank"] if out and out[-1]["score"] == u.score else i + 1
        out.append(
            {
                "rank": rank,
                "unit_id": u.unit_id,
                "unit_name": u.unit_name,
                "credit_code": u.credit_code,
                "sites": u.sites,
                "open_findings": u.open_findings,
                "overdue_filings": u.overdue_filings,
                "overdue_notices": u.overdue_notices,
                "score": u.score,
            }
        )
    return out


def as_csv(rows: Sequence[Mapping[str, Any]], language: str) -> bytes:
    """UTF-8 with a BOM; Chinese headers for ``zh``, English for ``en``."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([en if language == "en" else zh for _, zh, en in COLUMNS])
    for row in rows:
        writer.writerow([_safe_cell(str(row[key])) for key, _, _ in COLUMNS])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def _safe_cell(text: str) -> str:
    """No formula injection: a cell that starts like a formula is quoted as text."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
