"""A limit on the size of every request body, checked before the body is read (issue 11 §5).

A pure ASGI middleware. A route sets its own limit with ``openapi_extra=max_body(N)``
(documents, imports), which also publishes it in the OpenAPI document as ``x-max-body-bytes``;
the middleware reads the limits from that document. Every other route gets the small default
for JSON. A ``Content-Length`` over the limit is refused with 413 before one byte is read; a
body sent without a length (chunked) is counted as it streams and refused as soon as it passes
the limit, whatever the application has made of it by then.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: JSON bodies: the largest (a camera with its history, a user with 500 scopes) is a few KiB.
DEFAULT_MAX_BODY_BYTES = 256 * 1024
_KEY = "x-max-body-bytes"


def max_body(limit: int) -> dict[str, Any]:
    """``openapi_extra`` for a route whose bodies may be larger than the default."""
    return {_KEY: limit}


class BodyTooLarge(Exception):  # noqa: N818 (a signal inside the middleware, never raised out)
    """The streamed body passed the limit."""


class BodyLimit:
    def __init__(
        self,
        app: ASGIApp,
        openapi: Callable[[], dict[str, Any]],
        default: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        self.app = app
        self._openapi = openapi
        self._default = default
        self._larger: list[tuple[str, re.Pattern[str], int]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["method"], scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, scope, limit)  # not one byte of the body is read
            return
        await _Guarded(self.app, limit).run(scope, receive, send)

    def limit_for(self, method: str, path: str) -> int:
        if self._larger is None:
            self._larger = _declared_limits(self._openapi())
        for m, pattern, limit in self._larger:
            if m == method and pattern.fullmatch(path):
                return limit
        return self._default


def _declared_limits(doc: dict[str, Any]) -> list[tuple[str, re.Pattern[str], int]]:
    found = []
    for template, item in doc.get("paths", {}).items():
        for method, op in item.items():
            if isinstance(op, dict) and _KEY in op:
                parts = re.split(r"\{[^}/]+\}", template)
                pattern = re.compile("[^/]+".join(re.escape(p) for p in parts))
                found.append((method.upper(), pattern, int(op[_KEY])))
    return found


class _Guarded:
    """One request whose streamed body is counted; past the limit the answer becomes 413."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self._app = app
        self._limit = limit
        self._seen = 0
        self._over = False
        self._started = False

    async def run(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def counted() -> Message:
            if self._over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                self._seen += len(message.get("body", b""))
                if self._seen > self._limit:
                    self._over = True
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            if self._over:
                return  # the application's answer to a cut body is replaced by the 413
            self._started = True
            await send(message)

        try:
            await self._app(scope, counted, guarded_send)
        except BodyTooLarge:
            pass
        except Exception:
            if not self._over:
                raise
        if self._over and not self._started:
            await _refuse(send, scope, self._limit)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() and len(text) <= 18 else None
    return None


async def _refuse(send: Send, scope: Scope, limit: int) -> None:
    where = f"{scope.get('method', '')} {scope.get('path', '')}"
    body = json.dumps(
        {
            "error": "body_too_large",
            "message": f"the request body is larger than the {limit} bytes allowed for {where}",
            "errors": [
                {
                    "field": "body",
                    "reason": f"at most {limit} bytes",
                    "rule_id": None,
                    "article": None,
                }
            ],
        }
    ).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
