"""Deliver through Apprise, a kept library of notification services (mailto://, dingtalk://,
wecombot://, feishu:// …). Apprise logs through ``logging``; what it says about a failure is
captured, stripped of the URL's secrets, and becomes the delivery's ``last_error``.

Apprise's own log lines quote channel URLs and tokens (a DingTalk ``access_token`` in a POST
URL, at DEBUG). Its ``apprise`` logger therefore does not propagate to the root handlers: a
handler here drops everything below WARNING and passes the rest on through this module's
logger with the channel's URL and secret, and any other URL, masked."""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import apprise

from custos.domain.notify import Channel, DeliveryError, Notice, redact

log = logging.getLogger(__name__)

#: The secrets of the channel being handled in this thread (URL, secret), masked in Apprise's lines.
_channel_secrets: ContextVar[tuple[str | None, ...]] = ContextVar("apprise_secrets", default=())
_ANY_URL = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]*)://[^\s'\"<>]+")


class _RedactedForward(logging.Handler):
    """On Apprise's logger: WARNING and above, masked, passed on; DEBUG and INFO dropped."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a malformed record: say nothing of it rather than its raw parts
            text = "(unreadable message)"
        masked = _ANY_URL.sub(r"\1://***", redact(text, *_channel_secrets.get()))
        log.log(record.levelno, "apprise: %s", masked)


def contain_apprise_logging() -> None:
    """Keep Apprise's raw lines (URLs, tokens) away from the root handlers; idempotent."""
    apprise_log = logging.getLogger("apprise")
    apprise_log.propagate = False
    if not any(isinstance(h, _RedactedForward) for h in apprise_log.handlers):
        apprise_log.addHandler(_RedactedForward())


@contextmanager
def _secrets_masked(*secrets: str | None) -> Iterator[None]:
    token = _channel_secrets.set(secrets)
    try:
        yield
    finally:
        _channel_secrets.reset(token)


@contextmanager
def _plugins_loading() -> Iterator[None]:
    """Apprise's e-mail plugin imports ``imghdr`` when first loaded, which Python 3.11 marks
    deprecated; that warning is Apprise's, not ours."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "'imghdr' is deprecated", DeprecationWarning)
        yield


def _instantiate(url: str, **kw: Any) -> Any:
    contain_apprise_logging()
    with _plugins_loading(), _secrets_masked(url):
        return apprise.Apprise.instantiate(url, **kw)


def apprise_url_problem(url: str) -> str | None:
    if "://" not in url:
        return "not an Apprise URL (scheme://…, e.g. mailto://, dingtalk://, feishu://)"
    if _instantiate(url) is None:
        return "Apprise does not understand this URL (unknown service or missing parts)"
    return None


class AppriseSender:
    def __init__(self, timeout_s: float = 10.0) -> None:
        self._timeout_s = timeout_s
        contain_apprise_logging()

    def send(self, channel: Channel, notice: Notice) -> None:
        with _secrets_masked(channel.url, channel.secret):
            self._send(channel, notice)

    def _send(self, channel: Channel, notice: Notice) -> None:
        asset = apprise.AppriseAsset(async_mode=False)
        service = _instantiate(channel.url, asset=asset)
        if service is None:
            raise DeliveryError("Apprise does not understand the channel's URL")
        if hasattr(service, "socket_connect_timeout"):
            service.socket_connect_timeout = self._timeout_s
            service.socket_read_timeout = self._timeout_s
        sink = apprise.Apprise(asset=asset)
        sink.add(service)
        capture = apprise.LogCapture(level=apprise.logging.WARNING, fmt="%(message)s")  # type: ignore[no-untyped-call]
        with capture as captured:
            ok = sink.notify(title=notice.title, body=notice.body)
            said = captured.getvalue().strip().splitlines()
        if not ok:
            last = said[-1] if said else "the service refused or could not be reached"
            raise DeliveryError(redact(f"apprise: {last}", channel.url, channel.secret))
