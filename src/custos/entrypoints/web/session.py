"""The browser session: the API token in an HttpOnly, SameSite=Strict cookie.

``CookieBearer`` copies the cookie into an ``Authorization: Bearer`` header for requests that
carry none, so the API's own ``RequirePermission`` authenticates pages, ``fetch`` calls, media
reads and the live WebSocket alike. It does so only for:

- safe methods (GET, HEAD), and any method when the ``X-Custos-UI`` header is present (a
  cross-site form cannot set a header, and SameSite=Strict keeps the cookie off cross-site
  requests anyway);
- WebSocket handshakes whose ``Origin`` is this server (a cross-site page may open a WebSocket).

For UI paths an authentication failure becomes a redirect to the sign-in page and a permission
refusal a rendered page; API paths keep their JSON answers.
"""

from __future__ import annotations

from http.cookies import SimpleCookie
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from custos.domain.errors import AuthenticationFailed, PermissionDenied
from custos.entrypoints.api import errors
from custos.entrypoints.web.origin import header, same_origin
from custos.entrypoints.web.pages import forbidden_page
from custos.entrypoints.web.paths import SESSION_COOKIE, UI_HEADER, UI_PREFIX

_SAFE = {"GET", "HEAD"}


def _cookie(headers: list[tuple[bytes, bytes]], name: str) -> str | None:
    for key, value in headers:
        if key == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # noqa: S112 - a malformed cookie header is simply ignored
                continue
            if name in jar:
                return jar[name].value
    return None


class CookieBearer:
    """ASGI middleware: the session cookie as a bearer token (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            headers: list[tuple[bytes, bytes]] = list(scope["headers"])
            if header(headers, b"authorization") is None:
                token = _cookie(headers, SESSION_COOKIE)
                if token and self._may_use_cookie(scope, headers):
                    headers.append((b"authorization", f"Bearer {token}".encode("latin-1")))
                    scope = dict(scope)
                    scope["headers"] = headers
        await self.app(scope, receive, send)

    @staticmethod
    def _may_use_cookie(scope: Scope, headers: list[tuple[bytes, bytes]]) -> bool:
        if scope["type"] == "websocket":
            return same_origin(headers)
        if scope["method"] in _SAFE:
            return True
        return header(headers, UI_HEADER.encode()) is not None and same_origin(headers)


def is_ui(request: Request) -> bool:
    return request.url.path == "/" or request.url.path.startswith(UI_PREFIX + "/")


def login_redirect(request: Request, expired: bool) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    url = f"{UI_PREFIX}/login?next={quote(target, safe='')}"
    if expired:
        url += "&expired=1"
    response = RedirectResponse(url, status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def install(app: FastAPI) -> None:
    app.add_middleware(CookieBearer)

    @app.exception_handler(AuthenticationFailed)
    async def ui_auth_failed(request: Request, exc: AuthenticationFailed) -> Response:
        if is_ui(request):
            had_cookie = request.cookies.get(SESSION_COOKIE) is not None
            return login_redirect(request, expired=had_cookie)
        return errors.to_response(exc)

    @app.exception_handler(PermissionDenied)
    async def ui_denied(request: Request, exc: PermissionDenied) -> Response:
        if is_ui(request):
            return forbidden_page(request)
        return errors.to_response(exc)
