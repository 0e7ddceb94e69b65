"""The chain-of-custody sheet (证据保管链记录): a printable A4 PDF that goes with every package.

It states, from the manifest alone, what left the system and how to check it: the export key's
fingerprint in groups of four (large, to be read aloud over the telephone), the manifest's
SHA-256, per camera its address code, name, site, delivered range and file hash, the sources'
sealed hashes (small print), the gaps and their reasons, the request or the staff purpose, the
register entry, and lines for the people who hand it over, receive it and witness it. A masked
copy for publication adds its link to the original (the original package's and video's SHA-256),
the masking settings in short, the requester, the reviewer and the approval time.

Laid out by WeasyPrint (Pango) from a Jinja2 template; Chinese is set in Noto CJK (Debian's
``fonts-noto-cjk``), hashes in DejaVu Sans Mono. ``language`` "zh" gives Chinese labels; "en"
gives each label in Chinese with the English below it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from typing import Any

import jinja2
from weasyprint import HTML  # type: ignore[import-untyped]

from custos.domain.evidence import canonical_manifest, grouped

LANGUAGES = ("zh", "en")
_CST = timezone(timedelta(hours=8), "CST")

# label key → (Chinese, English)
LABELS: dict[str, tuple[str, str]] = {
    "title": (
        "视频图像信息调取/复制 证据保管链记录",
        "Video image information retrieval/copy — chain-of-custody record",
    ),
    "title_publication": (
        "视频图像信息公开发布（遮挡处理）证据保管链记录",
        "Video image information for publication (masked) — chain-of-custody record",
    ),
    "publication": ("公开发布：原始包与遮挡处理", "Publication: the original and the masking"),
    "original_sha256": ("原始包 SHA-256", "Original package SHA-256"),
    "original_name": ("原始包文件", "Original package file"),
    "original_video": ("原始视频及其 SHA-256", "Original video and its SHA-256"),
    "masked_video": ("遮挡后视频及其 SHA-256", "Masked video and its SHA-256"),
    "masking": ("遮挡设置", "Masking settings"),
    "mode": ("遮挡方式", "Mode"),
    "detectors": ("检测模型（阈值）", "Detectors (threshold)"),
    "detect_every": ("检测间隔（帧）", "Detector runs every N frames"),
    "tracks": ("提议轨迹 / 删除", "Tracks proposed / removed"),
    "regions_added": ("人工添加区域", "Regions added by the reviewer"),
    "zones": ("固定遮挡区", "Static zones"),
    "confirmed": ("审核人确认的遮挡对象", "Targets confirmed by the reviewer"),
    "required": ("规则要求遮挡", "Required by the rules"),
    "requested_by": ("申请人", "Requested by"),
    "reviewer": ("审核人", "Reviewer"),
    "reviewed_at": ("批准时间", "Approved at"),
    "system": ("系统", "System"),
    "unit": ("管理单位", "Managing unit"),
    "credit_code": ("统一社会信用代码", "Unified social credit code"),
    "platform_id": ("平台编码", "Platform ID"),
    "kind": ("类别", "Kind"),
    "exported_at": ("导出时间", "Exported at"),
    "range_asked": ("调取时段", "Range asked"),
    "register_entry": ("登记编号", "Register entry"),
    "export_key": (
        "导出密钥指纹（SHA-256，请逐组核对）",
        "Export key fingerprint (SHA-256, read group by group)",
    ),
    "key_id": ("密钥标识", "Key ID"),
    "log_key": ("操作日志密钥指纹", "Operation log key fingerprint"),
    "manifest_sha256": ("清单（manifest.json）SHA-256", "Manifest (manifest.json) SHA-256"),
    "cameras": ("摄像机与交付文件", "Cameras and delivered files"),
    "address_code": ("地址编码", "Address code"),
    "camera_name": ("名称", "Name"),
    "site": ("点位", "Site"),
    "range_delivered": ("交付时段", "Range delivered"),
    "file": ("文件", "File"),
    "file_sha256": ("文件 SHA-256", "File SHA-256"),
    "nothing_recorded": ("该时段内无录像", "nothing recorded in the range"),
    "gaps": ("时段内缺失及原因", "Gaps in the range and their reasons"),
    "no_gaps": ("无", "none"),
    "gap_from": ("起", "From"),
    "gap_to": ("止", "To"),
    "reason": ("原因", "Reason"),
    "request": ("调取依据", "The request"),
    "organ": ("调取机关", "Requesting organ"),
    "legal_basis": ("法律依据", "Legal basis"),
    "handlers": ("经办人", "Handlers"),
    "approver": ("批准人", "Approver"),
    "approval_sha256": ("审批文书 SHA-256", "Approval document SHA-256"),
    "purpose": ("用途", "Purpose"),
    "sources": (
        "来源录像分段（入库时封存的 SHA-256）",
        "Source segments (SHA-256 as sealed at ingest)",
    ),
    "cut_whole": ("整段", "whole"),
    "cut_part": ("截取", "cut"),
    "other_files": ("包内其他文件", "Other files in the package"),
    "handed_over_by": ("移交人", "Handed over by"),
    "received_by": ("接收人", "Received by"),
    "witness": ("见证人", "Witness"),
    "signature": ("签名", "Signature"),
    "date": ("日期", "Date"),
    "check": (
        "核验：用离线核验工具（包内 verify.html 或 custos-verify）核对清单签名与各文件哈希；"
        "导出密钥指纹须与本记录及系统公布的指纹一致。",
        "To check: run the offline verifier (verify.html in the package, or custos-verify) on the "
        "package; the export key fingerprint must match this sheet and the one the system publishes.",
    ),
    "page": ("页", "Page"),
}

KINDS: dict[str, tuple[str, str]] = {
    "copy": ("复制", "copy"),
    "retrieval": ("调取", "retrieval"),
    "export": ("内部导出", "staff export"),
    "publication": ("公开发布（遮挡处理）", "publication (masked)"),
}

MAX_SHEET_SOURCES = (
    1000  # about 30 pages; beyond, the sheet says how many more (manifest.json lists all)
)


def manifest_sha256(manifest: Mapping[str, Any]) -> str:
    """SHA-256 of the exact bytes of ``manifest.json`` (the canonical form)."""
    return hashlib.sha256(canonical_manifest(manifest)).hexdigest()


def render_custody_sheet(manifest: dict[str, Any], language: str) -> bytes:
    """The sheet for ``manifest`` as PDF bytes; ``language`` is "zh" or "en" (bilingual)."""
    if language not in LANGUAGES:
        raise ValueError(f"language is one of {LANGUAGES}, not {language!r}")
    html = _template().render(**_context(manifest, language))
    pdf: bytes = HTML(string=html).write_pdf()
    return pdf


@cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("custos.adapters.export", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template("custody_sheet.html")


def _context(m: Mapping[str, Any], language: str) -> dict[str, Any]:
    en = language == "en"
    files = {f["name"]: f for f in m.get("files") or []}
    cameras = []
    for c in m.get("cameras") or []:
        f = files.get(c.get("file") or "")
        cameras.append(
            {
                "address_code": c.get("address_code", ""),
                "name": c.get("name", ""),
                "site": c.get("site", ""),
                "range": _range(c.get("range_delivered")),
                "file": c.get("file"),
                "sha256": None if f is None else f["sha256"],
                "bytes": None if f is None else f["bytes"],
            }
        )
    camera_files = {c["file"] for c in cameras}
    codes = {str(c.get("id")): c.get("address_code", "") for c in m.get("cameras") or []}
    sources = [
        {
            "camera": codes.get(str(s.get("camera_id")), str(s.get("camera_id"))),
            "path": s.get("path", ""),
            "sha256": s.get("sha256", ""),
            "range": _range(s),
            "cut": _cut(s.get("cut") or {}),
        }
        for s in (m.get("sources") or [])[:MAX_SHEET_SOURCES]
    ]
    gaps = [
        {
            "camera": codes.get(str(g.get("camera_id")), str(g.get("camera_id"))),
            "start": _time(g.get("start")),
            "end": _time(g.get("end")),
            "reason": g.get("reason", ""),
        }
        for g in m.get("gaps") or []
    ]
    kind = str(m.get("kind", ""))
    export_key = str(m.get("export_key", ""))
    return {
        "en": en,
        "L": LABELS,
        "title_key": "title_publication" if kind == "publication" else "title",
        "kind": KINDS.get(kind, (kind, kind)),
        "system": m.get("system") or {},
        "unit": m.get("unit") or {},
        "exported_at": _time(m.get("exported_at")),
        "range_asked": _range(m.get("range_asked")),
        "register_entry_id": m.get("register_entry_id"),
        "export_key_groups": grouped(export_key).split(" ") if export_key else [],
        "key_id": export_key[:16],
        "log_key": grouped(str(m.get("log_key", ""))),
        "manifest_sha256": grouped(manifest_sha256(m)),
        "cameras": cameras,
        "sources": sources,
        "sources_left_out": max(0, len(m.get("sources") or []) - MAX_SHEET_SOURCES),
        "gaps": gaps,
        "request": m.get("request"),
        "purpose": m.get("purpose"),
        "other_files": [f for n, f in sorted(files.items()) if n not in camera_files],
        "publication": _publication(m, cameras) if kind == "publication" else None,
    }


def _publication(m: Mapping[str, Any], cameras: list[dict[str, Any]]) -> dict[str, Any]:
    """The masked copy's link to its original and how it was masked, from its manifest."""
    original, masking, required = (_mapping(m.get(k)) for k in ("original", "masking", "required"))
    detectors = [
        f"{d.get('kind', '')}: {d.get('model', '')} ({d.get('threshold', '')})"
        for d in masking.get("detectors") or []
        if isinstance(d, Mapping)
    ]
    return {
        "original_sha256": grouped(str(original.get("package_sha256", ""))),
        "original_name": original.get("package_name", ""),
        "original_video": original.get("video", ""),
        "original_video_sha256": original.get("video_sha256", ""),
        "masked": [(c["file"], c["sha256"]) for c in cameras if c.get("file")],
        "mode": masking.get("mode", ""),
        "detectors": detectors,
        "detect_every": masking.get("detect_every", "—"),
        "tracks": f"{masking.get('tracks_proposed', 0)} / {len(masking.get('tracks_removed') or [])}",
        "regions_added": len(masking.get("regions_added") or []),
        "zones": [
            f"{z.get('label') or '—'} [{z.get('left')}, {z.get('top')}, {z.get('right')}, "
            f"{z.get('bottom')}]"
            for z in masking.get("zones") or []
            if isinstance(z, Mapping)
        ],
        "confirmed": masking.get("confirmed_by_reviewer") or [],
        "required": [f"{t} [{', '.join(map(str, r))}]" for t, r in sorted(required.items())],
        "requested_by": m.get("requested_by", ""),
        "reviewer": masking.get("reviewer", ""),
        "reviewed_at": _time(masking.get("reviewed_at")),
    }


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _time(value: object) -> str:
    """A canonical UTC time as Beijing time, with the UTC it came from."""
    if not isinstance(value, str) or not value:
        return "—"
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return f"{t.astimezone(_CST):%Y-%m-%d %H:%M:%S} (UTC+8)"


def _range(r: object) -> str:
    if not isinstance(r, Mapping):
        return "—"
    return f"{_time(r.get('start'))} — {_time(r.get('end'))}"


def _cut(cut: Mapping[str, Any]) -> tuple[str, str | None]:
    if cut.get("whole", True):
        return ("cut_whole", None)
    start_ms = int(cut.get("from_ms") or 0)
    end_ms = cut.get("to_ms")
    end = "…" if end_ms is None else f"{int(end_ms) / 1000:.3f} s"
    return ("cut_part", f"{start_ms / 1000:.3f} s — {end}")
