"""The registration register as the forms the rules describe: CSV and a printable page.

Columns follow Beijing art. 17(3) and Liaoning art. 18(4) (who, which unit, when, what footage,
why, what left the system) and Decree 799 art. 16 para 2 item 3.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from html import escape

from custos.domain.register import RegisterEntry

COLUMNS = (
    ("id", "序号 No."),
    ("at", "登记时间 Time (UTC+8)"),
    ("kind", "事项 Kind"),
    ("unit", "使用单位 Operating unit"),
    ("organ", "调取/查阅机关 Requesting organ"),
    ("persons", "经办人员及证件 Persons and credentials"),
    ("purpose", "事由 Purpose"),
    ("cameras", "摄像机 Cameras"),
    ("range", "图像时段 Footage range (UTC+8)"),
    ("ended_at", "结束时间 Ended"),
    ("request_id", "申请编号 Request"),
    ("output_sha256", "导出文件SHA-256 Output SHA-256"),
)
KIND_NAMES = {
    "live_view": "值班监看 live view",
    "playback": "回放 playback",
    "view": "查阅 view",
    "copy": "复制 copy",
    "retrieve": "调取 retrieve",
    "export": "导出 export",
    "download": "下载 download",
}


SHANGHAI = timezone(timedelta(hours=8))


def _local(value: object) -> str:
    if isinstance(value, datetime):
        return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
    return "" if value is None else str(value)


def rows(entries: Sequence[RegisterEntry], unit_names: Mapping[int, str]) -> list[dict[str, str]]:
    out = []
    for e in entries:
        out.append(
            {
                "id": str(e.id),
                "at": _local(e.at),
                "kind": KIND_NAMES.get(e.kind.value, e.kind.value),
                "unit": unit_names.get(e.unit_id, "") if e.unit_id is not None else "",
                "organ": e.organ,
                "persons": "; ".join(
                    f"{p.name} ({p.role}{', ' + p.credential if p.credential else ''})"
                    for p in e.persons
                ),
                "purpose": e.purpose,
                "cameras": ", ".join(str(c) for c in e.camera_ids),
                "range": f"{_local(e.start)} – {_local(e.end)}" if e.start else "",
                "ended_at": _local(e.ended_at),
                "request_id": "" if e.request_id is None else str(e.request_id),
                "output_sha256": e.output_sha256 or "",
            }
        )
    return out


def as_csv(entries: Sequence[RegisterEntry], unit_names: Mapping[int, str]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([title for _, title in COLUMNS])
    for row in rows(entries, unit_names):
        writer.writerow([_safe_cell(row[key]) for key, _ in COLUMNS])
    return "\ufeff" + buf.getvalue()  # BOM: spreadsheets then read the Chinese correctly


def _safe_cell(text: str) -> str:
    """No formula injection: a cell that starts like a formula is quoted as text."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def as_html(
    entries: Sequence[RegisterEntry], unit_names: Mapping[int, str], title: str, generated: str
) -> str:
    head = "".join(f"<th>{escape(t)}</th>" for _, t in COLUMNS)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(r[k])}</td>" for k, _ in COLUMNS) + "</tr>"
        for r in rows(entries, unit_names)
    )
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{escape(title)}</title>
<style>
body {{ font-family: "Noto Sans CJK SC", "WenQuanYi Zen Hei", sans-serif; margin: 1.5cm; }}
table {{ border-collapse: collapse; width: 100%; font-size: 9pt; }}
th, td {{ border: 1px solid #333; padding: 3px 5px; vertical-align: top; }}
th {{ background: #eee; }}
td:last-child {{ font-family: monospace; word-break: break-all; }}
.sign {{ margin-top: 2em; display: flex; gap: 6em; }}
@media print {{ @page {{ size: A4 landscape; margin: 1cm; }} }}
</style></head><body>
<h1>{escape(title)}</h1>
<p>生成时间 Generated: {escape(generated)} · 共 {len(entries)} 条 entries</p>
<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>
<div class="sign"><span>登记人签字 Registered by: ________</span>
<span>负责人签字 Person in charge: ________</span></div>
</body></html>
"""
