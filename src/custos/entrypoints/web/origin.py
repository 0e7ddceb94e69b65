"""Where a browser request comes from: its headers as ASGI gives them, and whether its
``Origin`` is this server (what the cookie session and the sign-in form both check)."""

from __future__ import annotations

from urllib.parse import urlsplit


def header(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    """The first value of the header ``name`` (lower case), or None."""
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return None


def same_origin(headers: list[tuple[bytes, bytes]]) -> bool:
    """True when the Origin header is absent or names the host this request was sent to."""
    origin = header(headers, b"origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc == header(headers, b"host")
