"""The league table of a supervising bureau's units (监管单位排名表) as a printable A4 PDF.

Laid out by WeasyPrint (Pango) from a Jinja2 template, Chinese set in Noto CJK (Debian's
``fonts-noto-cjk``), like the custody sheet. ``language`` "zh" gives Chinese headings; "en"
gives each heading in Chinese with the English below it. Implements the
:data:`custos.services.supervision_league.LeagueSheet` port.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import jinja2
from weasyprint import HTML  # type: ignore[import-untyped]

from custos.services.supervision_league import COLUMNS, OVERDUE_WEIGHT

LANGUAGES = ("zh", "en")
LABELS: dict[str, tuple[str, str]] = {
    "title": ("视频图像信息系统使用单位监管排名", "Supervised units ranked"),
    "jurisdiction": ("辖区", "Jurisdiction"),
    "as_of": ("统计日期", "As of"),
    "rule": (
        f"得分 = 未整改问题数 + {OVERDUE_WEIGHT} × (逾期备案 + 逾期整改通知)；分高者在前，同分按单位名称。",
        f"Score = open findings + {OVERDUE_WEIGHT} × (overdue filings + overdue notices); "
        "highest first, ties by unit name.",
    ),
    "none": ("辖区内无单位", "No unit in the jurisdiction"),
    "page": ("页", "Page"),
}


def render_league_sheet(
    rows: Sequence[Mapping[str, Any]], meta: Mapping[str, Any], language: str
) -> bytes:
    if language not in LANGUAGES:
        raise ValueError(f"language is one of {LANGUAGES}, not {language!r}")
    jurisdiction = meta.get("jurisdiction") or {}
    html = _template().render(
        en=language == "en",
        L=LABELS,
        columns=COLUMNS,
        rows=rows,
        jurisdiction=" ".join(
            str(v) for v in (jurisdiction.get("full_name"), jurisdiction.get("code")) if v
        ),
        as_of=str(meta.get("as_of", "")),
    )
    pdf: bytes = HTML(string=html).write_pdf()
    return pdf


@cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("custos.adapters.export", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template("league_sheet.html")
