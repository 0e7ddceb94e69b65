"""Where the UI lives: URL prefix and package directories."""

from __future__ import annotations

from pathlib import Path

API_PREFIX = "/api/v1"
UI_PREFIX = "/ui"
HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
TEMPLATES_DIR = HERE / "templates"
CATALOGUE_DIR = HERE / "i18n"
SESSION_COOKIE = "custos_session"
LANG_COOKIE = "custos_lang"
#: Sent by the UI's own ``fetch`` calls; a state-changing API call authenticated by the cookie
#: alone must carry it (a cross-site form cannot set a header).
UI_HEADER = "x-custos-ui"
