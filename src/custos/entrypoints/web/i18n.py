"""The one message catalogue: ``i18n/<lang>.json`` and, per area, ``i18n/<lang>.<area>.json``
(e.g. ``en.duty.json``), merged into one flat dictionary used by templates and JavaScript.

Simplified Chinese is the default; English is the other language. Both languages must hold the
same keys, and no key may be defined in two files (tests check); a missing key shows as the key
itself, never as a crash.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from custos.entrypoints.web.paths import CATALOGUE_DIR

LANGUAGES = ("zh_CN", "en")
DEFAULT_LANGUAGE = "zh_CN"


@cache
def catalogue(lang: str) -> dict[str, str]:
    data: dict[str, str] = {}
    for path in catalogue_files(lang):
        data.update(json.loads(path.read_text("utf-8")))
    return data


def catalogue_files(lang: str) -> list[Path]:
    """The language's main file first, then its area files in name order."""
    return [CATALOGUE_DIR / f"{lang}.json", *sorted(CATALOGUE_DIR.glob(f"{lang}.*.json"))]


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
