"""The chain-of-custody sheet: a real PDF laid out by WeasyPrint, read back with pypdf."""

from __future__ import annotations

import hashlib
import io
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from pypdf import PdfReader

from custos.adapters.export import custody_sheet
from custos.adapters.export.custody_sheet import manifest_sha256, render_custody_sheet
from custos.domain.evidence import (
    CameraEntry,
    Gap,
    ManifestParts,
    PackageKind,
    PackedFile,
    RequestDetails,
    SourceSegment,
    SystemInfo,
    TimeRange,
    UnitInfo,
    build_manifest,
    canonical_manifest,
)

EXPORT_FP = hashlib.sha256(b"export key").hexdigest()
LOG_FP = hashlib.sha256(b"log key").hexdigest()
T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
T1 = datetime(2026, 3, 1, 2, 10, tzinfo=UTC)


def sample_manifest(kind: PackageKind = PackageKind.RETRIEVAL) -> dict[str, Any]:
    cams = [
        CameraEntry("1", "34020000001320000001", "东门入口", "滨江派出所 东门", TimeRange(T0, T1)),
        CameraEntry("2", "34020000001320000002", "停车场", "滨江派出所 后院", None),
    ]
    files = [
        PackedFile(cams[0].file, hashlib.sha256(b"video one").hexdigest(), 12_345_678),
        PackedFile("verify.html", hashlib.sha256(b"verifier").hexdigest(), 40_000),
    ]
    sources = [
        SourceSegment(
            "1", f"1/run/{i:06d}.mp4", hashlib.sha256(bytes([i])).hexdigest(), T0, T1, None, None
        )
        for i in range(3)
    ]
    request = (
        RequestDetails(
            "杭州市公安局滨江区分局",
            "《中华人民共和国刑事诉讼法》第五十四条",
            ["张三", "李四"],
            "王五",
            hashlib.sha256(b"approval").hexdigest(),
        )
        if kind is not PackageKind.EXPORT
        else None
    )
    return build_manifest(
        ManifestParts(
            system=SystemInfo("Custos", "0.1.0", "34020000002000000001"),
            unit=UnitInfo("滨江区视频图像信息管理中心", "11330108MB1234567X"),
            exported_at=T1,
            kind=kind,
            range_asked=TimeRange(T0, T1),
            cameras=cams,
            sources=sources,
            gaps=[Gap("1", T0, T0.replace(minute=1), "录像机重启（recorder restart）")],
            files=files,
            export_key=EXPORT_FP,
            log_key=LOG_FP,
            register_entry_id="R-2026-000042",
            request=request,
            purpose="核查东门事件" if kind is PackageKind.EXPORT else None,
        )
    )


def _text_and_fonts(pdf: bytes) -> tuple[str, set[str]]:
    reader = PdfReader(io.BytesIO(pdf))
    text = "\n".join(p.extract_text() or "" for p in reader.pages)
    fonts: set[str] = set()
    for page in reader.pages:
        res = page.get("/Resources") or {}
        for f in (res.get("/Font") or {}).values():
            font = f.get_object()
            fonts.add(str(font.get("/BaseFont")))
            for d in font.get("/DescendantFonts") or []:
                desc = d.get_object().get("/FontDescriptor")
                if desc is not None and any(
                    k in desc.get_object() for k in ("/FontFile", "/FontFile2", "/FontFile3")
                ):
                    # "/ABCDEF+Noto-Sans-CJK-SC": the subset tag, then the name
                    name = str(font.get("/BaseFont")).split("+", 1)[-1].replace("-", " ")
                    fonts.add("embedded:" + name)
    return text, fonts


@pytest.mark.parametrize("language", ["zh", "en"])
def test_sheet_states_title_fingerprint_and_hashes_in_an_embedded_cjk_font(language: str) -> None:
    manifest = sample_manifest()
    started = time.perf_counter()
    pdf = render_custody_sheet(manifest, language)
    elapsed = time.perf_counter() - started
    print(f"custody sheet ({language}): {elapsed * 1000:.0f} ms, {len(pdf)} bytes")
    assert pdf.startswith(b"%PDF-")
    text, fonts = _text_and_fonts(pdf)
    flat = "".join(text.split())
    assert "视频图像信息调取/复制证据保管链记录" in flat
    # the fingerprint in groups of four, every group on the sheet
    for i in range(0, 64, 4):
        assert EXPORT_FP[i : i + 4] in text
    assert "".join(manifest_sha256(manifest)[i : i + 4] for i in range(0, 64, 4)) in flat
    assert manifest_sha256(manifest) == hashlib.sha256(canonical_manifest(manifest)).hexdigest()
    for f in manifest["files"]:
        assert f["sha256"] in flat
    for s in manifest["sources"]:
        assert s["sha256"] in flat
    for words in (
        "东门入口",
        "34020000001320000001",
        "杭州市公安局滨江区分局",
        "王五",
        "录像机重启",
    ):
        assert words in flat
    embedded = {f for f in fonts if f.startswith("embedded:")}
    assert {"embedded:Noto Sans CJK SC", "embedded:Noto Serif CJK SC"} <= embedded, fonts
    if language == "en":
        assert "Chain-of-custody" in text or "chain-of-custody" in text
        assert "Handed over by" in text
    else:
        assert "Handed over by" not in text
    assert "移交人" in flat and "接收人" in flat and "见证人" in flat


def test_a_staff_export_sheet_states_its_purpose_not_a_request() -> None:
    pdf = render_custody_sheet(sample_manifest(PackageKind.EXPORT), "zh")
    flat = "".join(_text_and_fonts(pdf)[0].split())
    assert "核查东门事件" in flat
    assert "调取机关" not in flat


def test_an_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="language"):
        render_custody_sheet(sample_manifest(), "fr")


def test_a_long_source_list_is_cut_short_on_paper_saying_how_many_more(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(custody_sheet, "MAX_SHEET_SOURCES", 20)
    manifest = sample_manifest()
    first = manifest["sources"][0]
    manifest["sources"] = [dict(first, path=f"1/run/{i:06d}.mp4") for i in range(30)]
    text = _text_and_fonts(render_custody_sheet(manifest, "zh"))[0]
    assert "1/run/000019.mp4" in text and "1/run/000020.mp4" not in text
    assert "+10 (manifest.json)" in text
