"""Deliver through Apprise, a kept library of notification services (mailto://, dingtalk://,
wecombot://, feishu:// …). Apprise logs through ``logging``; what it says about a failure is
captured, stripped of the URL's secrets, and becomes the delivery's ``last_error``."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import apprise

from custos.domain.notify import Channel, DeliveryError, Notice, redact


@contextmanager
def _plugins_loading() -> Iterator[None]:
    """Apprise's e-mail plugin imports ``imghdr`` when first loaded, which Python 3.11 marks
    deprecated; that warning is Apprise's, not ours."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "'imghdr' is deprecated", DeprecationWarning)
        yield


def _instantiate(url: str, **kw: Any) -> Any:
    with _plugins_loading():
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

    def send(self, channel: Channel, notice: Notice) -> None:
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
