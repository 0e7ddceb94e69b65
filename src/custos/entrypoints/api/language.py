"""The language of an answer's sentences: ``Accept-Language`` (zh-CN by default, or en).

Only the ``text`` of refusals, findings and warnings follows it; codes, keys, article ids and
the English ``reason``/``message`` fields do not change.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from custos.entrypoints.web.messages import language_of, localize_finding


def request_language(request: Request) -> str:
    return language_of(request.headers.get("accept-language"))


Lang = Annotated[str, Depends(request_language)]


def sheet_language(lang: str) -> str:
    """A custody sheet's language for an answer's: Chinese ("zh"), or Chinese with English
    ("en") where the asker reads English (issue 13: Chinese with English where the UI is)."""
    return "en" if lang == "en" else "zh"


def with_texts(report: dict[str, Any], lang: str) -> dict[str, Any]:
    """A site or unit compliance report with ``text`` on every finding."""
    if "sites" in report:
        return {**report, "sites": [with_texts(s, lang) for s in report["sites"]]}
    return {**report, "findings": [localize_finding(f, lang) for f in report.get("findings", [])]}
