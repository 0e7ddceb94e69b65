"""The filing package as a printable Chinese A4 PDF (公共安全视频图像信息系统备案表).

docs/design/filing.md D2: the package's canonical JSON is its identity; this PDF is what a
person reads and signs, and its SHA-256 is recorded beside the package's. Laid out by
WeasyPrint from a Jinja2 template, Chinese set in Noto CJK, as the custody sheet is.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import jinja2
from weasyprint import HTML  # type: ignore[import-untyped]

KINDS = {
    "initial": "首次备案",
    "change": "备案变更",
    "relocation": "迁移报告",
    "removal": "拆除报告",
}
NETWORKS = {
    "isolated": "独立网络（不联网）",
    "private": "专用网络",
    "police_video_network": "公安视频专网",
    "internet": "互联网",
}
PARTS = {
    "system_profile": "系统基本情况",
    "units": "相关单位",
    "responsible_persons": "责任人",
    "cameras": "图像采集设备",
    "storage": "存储",
    "network": "网络",
    "design_scheme": "设计技术方案",
    "acceptance_report": "验收材料",
}


class FilingPdf:
    """The ``PackagePdf`` port of ``services/filing.py``."""

    def render(self, package: dict[str, Any], receipt: dict[str, Any]) -> bytes:
        return render_filing_pdf(package, receipt)


def render_filing_pdf(package: dict[str, Any], receipt: dict[str, Any]) -> bytes:
    html = _template().render(
        p=package,
        r=receipt,
        kind=KINDS.get(str(receipt.get("kind", "")), str(receipt.get("kind", ""))),
        network=NETWORKS.get(str((package.get("network") or {}).get("kind", "")), "（未填写）"),
        parts=PARTS,
    )
    pdf: bytes = HTML(string=html).write_pdf()
    return pdf


@cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("custos.adapters.export", "templates"),
        autoescape=True,
        undefined=jinja2.ChainableUndefined,
    )
    return env.get_template("filing_package.html")
