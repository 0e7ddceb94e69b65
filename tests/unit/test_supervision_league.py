"""The league table's arithmetic: the score, the order, shared ranks and the CSV."""

from __future__ import annotations

import csv
import io

from custos.services.supervision_league import UnitLine, as_csv, ranked


def test_overdue_items_weigh_three_worst_first_ties_by_name_sharing_the_rank() -> None:
    lines = [
        UnitLine(1, "乙单位", "c1", 1, open_findings=2, overdue_filings=0, overdue_notices=0),
        UnitLine(2, "甲单位", "c2", 2, open_findings=0, overdue_filings=1, overdue_notices=1),
        UnitLine(3, "丙单位", "c3", 1, open_findings=6, overdue_filings=0, overdue_notices=0),
        UnitLine(4, "丁单位", "c4", 1, open_findings=0, overdue_filings=0, overdue_notices=0),
    ]
    rows = ranked(lines)
    assert [(r["unit_id"], r["score"], r["rank"]) for r in rows] == [
        (3, 6, 1),  # 丙 < 甲 by code point: the tie goes by name
        (2, 6, 1),
        (1, 2, 3),
        (4, 0, 4),
    ]


def test_the_csv_has_a_bom_headers_in_the_language_and_no_formulas() -> None:
    rows = ranked([UnitLine(1, "=HYPERLINK(1)", "c", 1, 1, 0, 0)])
    zh = as_csv(rows, "zh")
    assert zh.startswith("\ufeff".encode())
    parsed = list(csv.reader(io.StringIO(zh.decode("utf-8-sig"))))
    assert parsed[0][:2] == ["名次", "单位"]
    assert parsed[1][1] == "'=HYPERLINK(1)"
    en = list(csv.reader(io.StringIO(as_csv(rows, "en").decode("utf-8-sig"))))
    assert en[0][-1] == "Score" and en[1][-1] == "1"
