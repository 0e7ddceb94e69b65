"""The web UI: server-rendered pages (Jinja2), small JavaScript modules, one message catalogue.

Pages call the same REST API as every other client. The browser holds the API token in an
HttpOnly, SameSite=Strict cookie set by the UI's sign-in route; :mod:`custos.entrypoints.web.session` turns
that cookie into the ``Authorization`` header the API already checks, so pages and API calls go
through the same ``needs(Permission.X)`` dependency. See ``docs/design/ui.md``.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from custos.entrypoints.web import events, live, pages, session
from custos.entrypoints.web.paths import STATIC_DIR, UI_PREFIX

#: UI routes reachable without a token (the API's own list lives in ``custos.entrypoints.api.app``).
PUBLIC_UI_ROUTES = frozenset(
    {
        ("GET", "/"),
        ("GET", f"{UI_PREFIX}/login"),
        ("POST", f"{UI_PREFIX}/login"),
    }
)


def install(app: FastAPI) -> None:
    """Add the pages, the static files, the live WebSocket and the cookie session."""
    session.install(app)
    app.include_router(pages.router)
    app.include_router(live.router)
    app.include_router(events.router)  # server push of alarms (Server-Sent Events)
    app.mount(f"{UI_PREFIX}/static", StaticFiles(directory=STATIC_DIR), name="ui-static")
