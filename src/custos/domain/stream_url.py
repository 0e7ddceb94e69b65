"""Camera stream URLs, whose credentials are kept apart and never shown (issue 11 §5).

Cameras carry credentials in more than one place: the user information
(``rtsp://admin:secret@host/ch1``), query parameters (``rtsp://host/ch1?user=admin&password=…``,
common on Chinese cameras: ``pwd``, ``passwd``, ``usr``, ``loginuse``/``loginpas`` …) and
``key=value`` pairs in the path (``rtsp://host/user=admin&password=…&channel=1&stream=0.sdp``).
``StreamUrl.parse`` recognises each of them by name, case-insensitively. ``public`` is the URL
with the userinfo removed and every credential value replaced by ``***``: the only form stored
in clear, returned by the API or written to a log. The values are secrets, sealed at rest.
ONVIF and GB/T 28181 passwords will be kept the same way when those protocols come.

A GB/T 28181 channel is a stream too (``gb28181://<device>/<channel>``, :meth:`StreamUrl.gb`):
set by placing the channel, stored and read back like any other, but never typed
(``parse`` refuses it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from custos.domain.errors import FieldError, ValidationFailed
from custos.domain.gb_media import GB_SCHEME, GbSource

MASK = "***"

#: Parameter names that carry a credential (user names are treated as secrets too).
CREDENTIAL_NAMES = frozenset(
    {
        "user", "username", "usr", "uname", "userid", "user_id", "login", "loginuse",
        "account", "pwd", "password", "passwd", "pass", "pw", "psw", "passwort", "pword",
        "loginpas", "secret", "token", "access_token", "auth", "authkey", "apikey", "api_key",
    }
)  # fmt: skip
_NAMES = "|".join(sorted((re.escape(n) for n in CREDENTIAL_NAMES), key=len, reverse=True))
#: ``name=value`` in a query (values end at ``&``, ``;`` or ``#``) …
_IN_QUERY = re.compile(rf"(?i)(^|[&;])({_NAMES})=([^&;#]*)")
#: … and in the path, where ``/`` and ``?`` end a value too.
_IN_PATH = re.compile(rf"(?i)([/&;])({_NAMES})=([^&;/?#]*)")
#: Anywhere in free text (an engine's error message, a log line): userinfo, then parameters.
_USERINFO_IN_TEXT = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s?#'\"]*@")
_PARAM_IN_TEXT = re.compile(rf"(?i)([/?&;])({_NAMES})=([^&;/?#\s'\"]*)")


def redact_credentials(text: str) -> str:
    """Mask every credential a URL anywhere in ``text`` carries (for logs and error details)."""
    text = _USERINFO_IN_TEXT.sub(rf"\g<1>{MASK}@", text)
    return _PARAM_IN_TEXT.sub(rf"\g<1>\g<2>={MASK}", text)


@dataclass(frozen=True)
class StreamUrl:
    """``public`` is shown; ``username``/``password`` (userinfo) and ``hidden`` (the values of
    credential parameters, in the order they appear in ``public``) are secrets."""

    public: str
    username: str | None = None
    password: str | None = None
    hidden: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str, field_name: str) -> StreamUrl:
        try:
            parts = urlsplit(text.strip())
            port = parts.port
        except ValueError:
            # The parser's own message may quote the authority, and with it a password.
            raise ValidationFailed(
                [FieldError(field_name, "not a valid URL (check the host and port)")]
            ) from None
        if parts.scheme.lower() == GB_SCHEME:
            reason = (
                f"a {GB_SCHEME}:// stream is not typed: it is set by placing the device's "
                "channel (GB/T 28181 channels, place)"
            )
            raise ValidationFailed([FieldError(field_name, reason)])
        if parts.scheme not in {"rtsp", "rtsps", "http", "https"} or not parts.hostname:
            raise ValidationFailed(
                [
                    FieldError(
                        field_name, "must be an rtsp://, rtsps:// or http(s):// URL with a host"
                    )
                ]
            )
        hidden: list[str] = []
        path = _IN_PATH.sub(lambda m: _keep(m, hidden), parts.path)
        query = _IN_QUERY.sub(lambda m: _keep(m, hidden), parts.query)
        name = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        host = name if port is None else f"{name}:{port}"
        public = _join(parts.scheme, host, path, query, "?" in text)
        user = None if parts.username is None else unquote(parts.username)
        password = None if parts.password is None else unquote(parts.password)
        return cls(public, user, password, tuple(hidden))

    @classmethod
    def gb(cls, source: GbSource) -> StreamUrl:
        """A GB/T 28181 channel as a camera's stream (no credentials: the SIP server holds the
        device's registration)."""
        return cls(source.url())

    @property
    def gb_source(self) -> GbSource | None:
        """The GB/T 28181 channel this stream is, if it is one."""
        if not self.public.startswith(f"{GB_SCHEME}://"):
            return None
        return GbSource.parse(self.public)

    @property
    def has_credentials(self) -> bool:
        return self.username is not None or bool(self.hidden)

    def redacted(self) -> str:
        if self.username is None:
            return self.public
        scheme, rest = self.public.split("://", 1)
        return f"{scheme}://{MASK}@{rest}"

    def with_credentials(self) -> str:
        """The full URL, for the recorder's connection only. Never log it."""
        url = self.public
        if self.hidden:
            values = iter(self.hidden)
            parts = urlsplit(url)
            path = _IN_PATH.sub(lambda m: _put(m, values), parts.path)
            query = _IN_QUERY.sub(lambda m: _put(m, values), parts.query)
            url = _join(parts.scheme, parts.netloc, path, query, "?" in url)
        if self.username is None:
            return url
        scheme, rest = url.split("://", 1)
        user = quote(self.username, safe="")
        if self.password is None:
            return f"{scheme}://{user}@{rest}"
        return f"{scheme}://{user}:{quote(self.password, safe='')}@{rest}"

    def masked_only(self) -> bool:
        """Every secret is the mask itself: a URL copied back from what the API showed."""
        secrets = [s for s in (self.username, self.password, *self.hidden) if s is not None]
        return bool(secrets) and all(s == MASK for s in secrets)

    def secret_values(self) -> list[str]:
        """Every secret this URL holds (what must never appear in a response or a log)."""
        return [s for s in (self.username, self.password, *self.hidden) if s]

    @classmethod
    def stored(
        cls, public: str, username: str | None, password: str | None, hidden: tuple[str, ...]
    ) -> StreamUrl:
        """From what the database holds. Rows written before issue 11 kept query credentials
        in ``public``, in clear: they are split off here, and sealed at the next write."""
        if public.startswith(f"{GB_SCHEME}://"):
            return cls.gb(GbSource.parse(public))  # placed from a channel, never typed
        if not hidden:
            reparsed = cls.parse(public, "stream_url")
            if reparsed.hidden and not reparsed.masked_only():
                return cls(reparsed.public, username, password, reparsed.hidden)
        return cls(public, username, password, hidden)

    def __repr__(self) -> str:
        return f"StreamUrl({self.redacted()!r})"

    __str__ = redacted


def _join(scheme: str, netloc: str, path: str, query: str, has_query: bool) -> str:
    """Like ``urlunsplit``, but an empty query keeps its ``?`` (some cameras need it)."""
    return f"{scheme}://{netloc}{path}" + (f"?{query}" if query or has_query else "")


def _keep(m: re.Match[str], hidden: list[str]) -> str:
    hidden.append(m.group(3))
    return f"{m.group(1)}{m.group(2)}={MASK}"


def _put(m: re.Match[str], values: Iterator[str]) -> str:
    return f"{m.group(1)}{m.group(2)}={next(values, MASK)}"
