"""The generic webhook: a JSON POST signed with HMAC-SHA256.

Headers: ``X-Custos-Timestamp`` (Unix seconds) and ``X-Custos-Signature: sha256=<hex>``, the
HMAC of ``timestamp + "." + body`` with the channel's secret (``domain.notify.webhook_signature``),
so a receiver can check both the sender and the message's age."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import httpx

from custos.domain.clock import Clock
from custos.domain.notify import Channel, DeliveryError, Notice, redact, webhook_signature


class WebhookSender:
    def __init__(self, clock: Clock, timeout_s: float = 10.0) -> None:
        self._clock = clock
        self._timeout_s = timeout_s

    @staticmethod
    def url_problem(url: str) -> str | None:
        try:
            parts = urlsplit(url)
        except ValueError:
            return "not a URL"
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return "a webhook URL is http:// or https:// with a host"
        return None

    def send(self, channel: Channel, notice: Notice) -> None:
        body = json.dumps(
            {"title": notice.title, "body": notice.body, "alarm": notice.payload},
            ensure_ascii=False,
        ).encode()
        stamp = str(int(self._clock.now().timestamp()))
        headers = {"Content-Type": "application/json", "X-Custos-Timestamp": stamp}
        if channel.secret:
            headers["X-Custos-Signature"] = webhook_signature(channel.secret, stamp, body)
        try:
            r = httpx.post(channel.url, content=body, headers=headers, timeout=self._timeout_s)
        except httpx.HTTPError as exc:
            why = f"webhook: {type(exc).__name__}: {exc}"
            raise DeliveryError(redact(why, channel.url, channel.secret)) from None
        if r.status_code >= 300:
            raise DeliveryError(f"webhook: HTTP {r.status_code}")
