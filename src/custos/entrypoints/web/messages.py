"""Messages with a key and parameters, rendered in the user's language.

Refusals (:class:`~custos.domain.errors.FieldError`), compliance findings and placement
violations carry ``key`` and ``params``; this module turns them into a sentence from the one
catalogue (``msg.<key>``), with parameters that are themselves codes (category keys, unit
kinds, filing kinds, credentials) rendered as labels. The API uses it for ``Accept-Language``
(default zh-CN) and the pages through the API. The article id is never translated.

A message without a key falls back, in any language, to a sentence that names the field and,
for a rule refusal, says it does not meet the cited article: never the English ``reason`` in a
Chinese answer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from custos.domain.rules.categories import CATEGORY_KEYS
from custos.entrypoints.web.i18n import DEFAULT_LANGUAGE, LANGUAGES, Translator

# parameter name → catalogue prefix of the codes it holds
_CODED = {
    "unit_kind": "enum.unit_kind",
    "kind": "enum.filing_kind",
    "credential": "enum.credential",
    "credentials": "enum.credential",
    "role": "enum.role",
    "action": "enum.action",
    "requester_kind": "enum.requester_kind",
    "training_contents": "enum.training_content",
    "fault_kind": "enum.fault_kind",
    "fault_reason": "enum.reason",
    "part": "filing.part",  # a filing package part (docs/design/filing.md D2)
}


def language_of(accept_language: str | None) -> str:
    """The catalogue for an ``Accept-Language`` header: the first language we have, else zh-CN."""
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh_CN"
        if tag.startswith("en"):
            return "en"
    return DEFAULT_LANGUAGE


def _category(t: Translator, key: str) -> str:
    info = CATEGORY_KEYS.get(key)
    if info is None:
        return key
    return info.label_zh if t.lang == "zh_CN" else info.label_en


def _value(t: Translator, name: str, value: Any) -> str:
    sep = "、" if t.lang == "zh_CN" else ", "
    if isinstance(value, list | tuple):
        return sep.join(_value(t, name, v) for v in value)
    if name in ("categories", "category"):
        return _category(t, str(value))
    if name in _CODED:
        return t(f"{_CODED[name]}.{value}")
    if name == "field":
        return field_label(t, str(value))
    if name == "duty":
        return t(f"duty.name.{value}")
    return str(value)


def field_label(t: Translator, field: str) -> str:
    """``handlers[0].credentials[1].number`` → the label of ``handlers.credentials.number``."""
    plain = re.sub(r"\[\d+\]", "", field)
    for candidate in (plain, plain.split(".")[-1]):
        key = f"field.{candidate}"
        if key in t.messages:
            return t(key)
    return field


def render(
    t: Translator,
    key: str | None,
    params: Mapping[str, Any],
    field: str = "",
    rule_id: str | None = None,
) -> str:
    """The sentence for ``key`` with ``params``; the fallback sentence when there is none."""
    if key and f"msg.{key}" in t.messages:
        values = {name: _value(t, name, v) for name, v in params.items()}
        return t(f"msg.{key}", **values)
    label = field_label(t, field) if field else ""
    return t("msg.rule_not_met" if rule_id else "msg.not_accepted", field=label)


def localize_errors(errors: list[dict[str, Any]], lang: str) -> list[dict[str, Any]]:
    """Add ``text`` (the sentence) and ``field_label`` in ``lang`` to each error dict."""
    t = Translator(lang if lang in LANGUAGES else DEFAULT_LANGUAGE)
    return [
        {
            **e,
            "text": render(
                t, e.get("key"), e.get("params") or {}, e.get("field") or "", e.get("rule_id")
            ),
            "field_label": field_label(t, e.get("field") or ""),
        }
        for e in errors
    ]


def localize_finding(finding: dict[str, Any], lang: str) -> dict[str, Any]:
    """A finding's (or violation's) dict with ``text`` in ``lang``."""
    t = Translator(lang if lang in LANGUAGES else DEFAULT_LANGUAGE)
    text = render(
        t,
        finding.get("key"),
        finding.get("params") or {},
        finding.get("field") or "",
        (finding.get("rule_ids") or [None])[0],
    )
    return {**finding, "text": text}


def localize_duties(node: Any, lang: str) -> Any:
    """A duties dict with ``text`` in ``lang`` on every duty that carries a ``key``."""
    t = Translator(lang if lang in LANGUAGES else DEFAULT_LANGUAGE)
    if isinstance(node, dict) and "key" in node and "rule_ids" in node:
        return {**node, "text": render(t, node["key"], node.get("params") or {})}
    if isinstance(node, dict):
        return {k: localize_duties(v, lang) for k, v in node.items()}
    return node
