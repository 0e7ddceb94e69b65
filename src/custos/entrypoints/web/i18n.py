"""The one message catalogue: ``i18n/<lang>.json``, flat keys, used by templates and JavaScript.

Simplified Chinese is the default; English is the other language. Both files must hold the same
keys (a test checks); a missing key shows as the key itself, never as a crash.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from custos.entrypoints.web.paths import CATALOGUE_DIR

LANGUAGES = ("zh_CN", "en")
DEFAULT_LANGUAGE = "zh_CN"


@cache
def catalogue(lang: str) -> dict[str, str]:
    data: dict[str, str] = json.loads((CATALOGUE_DIR / f"{lang}.json").read_text("utf-8"))
    return data


def pick_language(cookie: str | None) -> str:
    return cookie if cookie in LANGUAGES else DEFAULT_LANGUAGE


class Translator:
    def __init__(self, lang: str) -> None:
        self.lang = pick_language(lang)
        self.messages = catalogue(self.lang)

    def __call__(self, key: str, **values: Any) -> str:
        text = self.messages.get(key, key)
        if values:
            try:
                return text.format(**values)
            except (KeyError, IndexError, ValueError):
                return text
        return text

    @property
    def html_lang(self) -> str:
        return "zh-CN" if self.lang == "zh_CN" else "en"

    def as_json(self) -> str:
        """The catalogue for the page's scripts, safe inside a <script> element."""
        text = json.dumps(self.messages, ensure_ascii=False, sort_keys=True)
        return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
