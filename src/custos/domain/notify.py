"""Alarm delivery: channels, the escalation rota, and the outbox rows (issue 14 §1).

A *channel* is an Apprise URL (e-mail, DingTalk, WeCom, Feishu, …) or a generic webhook signed
with HMAC-SHA256. Its URL and secret are secrets: only a masked form (scheme and host) ever leaves
the service. The *rota* of a unit is an ordered list of levels; each entry names a person and/or
the channel that reaches them. A *delivery* is one message for one alarm through one channel,
written in the raising transaction and sent later by the notifier (an outbox).

See docs/design/operations.md, "Escalation and delivery".
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

MAX_ROTA_LEVELS = 10
MAX_ENTRIES_PER_LEVEL = 20
MAX_ERROR_CHARS = 500


class DeliveryError(Exception):
    """A channel did not take the message; the text carries no secret (the sender redacts it)."""


class ChannelKind(enum.StrEnum):
    APPRISE = "apprise"
    WEBHOOK = "webhook"


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for its first try or its next retry
    SENT = "sent"
    FAILED = "failed"  # every try failed


@dataclass
class Channel:
    """A way to reach someone. ``url`` and ``secret`` are the clear values, held only in memory."""

    id: int | None
    unit_id: int | None  # None: system-wide (volumes, channels), for administrators
    name: str
    kind: ChannelKind
    url: str
    secret: str | None
    enabled: bool
    created_at: datetime

    @property
    def masked(self) -> str:
        return mask_url(self.url)

    def __repr__(self) -> str:  # never the URL or the secret
        return f"Channel(id={self.id}, unit_id={self.unit_id}, kind={self.kind}, {self.masked})"

    def as_dict(self) -> dict[str, Any]:
        """What may be shown: no URL, no secret."""
        return {
            "id": self.id,
            "unit_id": self.unit_id,
            "name": self.name,
            "kind": self.kind.value,
            "target": self.masked,
            "has_secret": bool(self.secret),
            "enabled": self.enabled,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True)
class RotaEntry:
    """Level ``level`` of a unit's rota: a person (``user_id``) and/or a channel reaching them."""

    level: int
    user_id: int | None
    channel_id: int | None


@dataclass
class Delivery:
    id: int | None
    alarm_id: int
    channel_id: int
    level: int
    user_id: int | None
    status: DeliveryStatus
    attempts: int
    next_at: datetime
    created_at: datetime
    last_error: str | None = None
    sent_at: datetime | None = None
    last_attempt_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "alarm_id": self.alarm_id,
            "channel_id": self.channel_id,
            "level": self.level,
            "user_id": self.user_id,
            "status": self.status.value,
            "attempts": self.attempts,
            "next_at": self.next_at.isoformat() if self.status is DeliveryStatus.PENDING else None,
            "last_error": self.last_error,
            "sent_at": self.sent_at.isoformat() if self.sent_at else None,
            "last_attempt_at": self.last_attempt_at.isoformat() if self.last_attempt_at else None,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential back-off: the n-th failure waits ``first_s * 2**(n-1)``; ``max_tries`` in all."""

    first_s: float = 10.0
    max_tries: int = 5

    def after_failure(self, attempts: int, now: datetime) -> datetime | None:
        """When to try again after ``attempts`` failed tries; None: give up."""
        if attempts >= self.max_tries:
            return None
        return now + timedelta(seconds=self.first_s * 2 ** (attempts - 1))


@dataclass(frozen=True)
class Notice:
    """The message a channel carries for one alarm."""

    title: str
    body: str
    payload: dict[str, Any]


def mask_url(url: str) -> str:
    """Scheme and host only (``mailto://smtp.example.cn``): never a user, password, path or token."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return "***"
    scheme = parts.scheme or "?"
    # Apprise puts tokens where a host would be (dingtalk://<token>): show only real host names
    looks_like_host = "." in host or host == "localhost"
    return f"{scheme}://{host}" if host and looks_like_host else f"{scheme}://***"


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` of HMAC-SHA256 over ``timestamp + "." + body`` (the timestamp is signed,
    so a replayed message shows its age)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def redact(text: str, *secrets: str | None) -> str:
    """``text`` with every secret (and each URL's password and query) taken out, cut short."""
    out = text
    for s in secrets:
        if not s:
            continue
        out = out.replace(s, "***")
        try:
            parts = urlsplit(s)
        except ValueError:
            continue
        for piece in (parts.password, parts.username, parts.query, parts.path.strip("/")):
            if piece and len(piece) > 2:
                out = out.replace(piece, "***")
    return out[:MAX_ERROR_CHARS]
