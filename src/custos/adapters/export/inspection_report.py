"""The inspection report (监督检查记录): a printable A4 PDF in Chinese, laid out by WeasyPrint
(Pango) from a Jinja2 template, Chinese set in Noto CJK, hashes in DejaVu Sans Mono (as the
custody sheet, :mod:`custos.adapters.export.custody_sheet`).

It lists the checklist items with their articles, results, remarks, photos' hashes and
penalty articles, and the inspectors with the time each signed (Beijing time).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import cache
from typing import Any

import jinja2
from weasyprint import HTML  # type: ignore[import-untyped]

_CST = timezone(timedelta(hours=8), "CST")
RESULTS = {"pass": "合格", "fail": "不合格", "note": "备注"}


def render_inspection_report(inspection: dict[str, Any]) -> bytes:
    """The report of an inspection (``Inspection.as_dict()``) as PDF bytes."""
    html = _template().render(**_context(inspection))
    pdf: bytes = HTML(string=html).write_pdf()
    return pdf


@cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("custos.adapters.export", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template("inspection_report.html")


def _context(i: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": i["id"],
        "unit_id": i["unit_id"],
        "unit_name": i["unit_name"],
        "sites": "、".join(str(s) for s in i["site_ids"]),
        "divisions": "、".join(i["division_codes"]),
        "planned_on": i["planned_on"],
        "planned_by": i["planned_by"],
        "planned_at": _time(i["planned_at"]),
        "items": i["items"],
        "inspectors": [
            {**p, "signed_at": _time(p["signed_at"]) if p["signed_at"] else "—"}
            for p in i["inspectors"]
        ],
        "results": RESULTS,
        "fine": _fine,
    }


def _time(value: str) -> str:
    return f"{datetime.fromisoformat(value).astimezone(_CST):%Y-%m-%d %H:%M:%S}"


def _fine(penalty: dict[str, Any]) -> str:
    if penalty["no_fine"]:
        return "条文未规定罚款数额"
    parts = []
    for subject, label in (("unit", "单位"), ("person", "责任人"), ("individual", "个人")):
        low, high = penalty["fine"][f"{subject}_min"], penalty["fine"][f"{subject}_max"]
        if low is None and high is None:
            continue
        if low is None:
            parts.append(f"{label}{high}元以下")
        elif high is None:
            parts.append(f"{label}{low}元以上")
        elif low == high:
            parts.append(f"{label}{low}元")
        else:
            parts.append(f"{label}{low}–{high}元")
    return "；".join(parts)
