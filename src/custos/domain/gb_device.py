"""GB/T 28181 devices that register with Custos (issue 12 §1; docs/design/gb28181.md).

A device is on the allow-list of a unit (its 20-digit ID and a digest password, sealed at rest);
its registration is what the SIP server last heard from it. `state()` derives online / offline /
unregistered from the registration and the clock. The GB `Date` format and the nonce book
(single-use nonces with an expiry) are here too: pure rules, no SIP.
"""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from custos.domain.calendar import SHANGHAI
from custos.domain.codes import AddressCode
from custos.domain.errors import FieldError, ValidationFailed

#: a device is offline after this many keepalive intervals without a sign of life (§9.6)
MISSED_KEEPALIVES = 3
NAME_MAX = 100
PASSWORD_MAX = 64


class DeviceState(enum.StrEnum):
    UNREGISTERED = "unregistered"
    ONLINE = "online"
    OFFLINE = "offline"


@dataclass(frozen=True)
class GbDevice:
    """An allow-listed device and its last registration (None fields: never heard)."""

    id: int | None
    device_id: str
    unit_id: int
    name: str
    created_at: datetime
    created_by: str
    registered_at: datetime | None = None
    expires_at: datetime | None = None
    last_seen_at: datetime | None = None
    last_keepalive_at: datetime | None = None
    address: str = ""
    transport: str = ""
    clock_drift_s: float | None = None
    offline: bool = False  # marked by the offline check; cleared by the next sign of life

    def state(self, now: datetime, keepalive_interval_s: int) -> DeviceState:
        if self.expires_at is None or self.registered_at is None:
            return DeviceState.UNREGISTERED
        if self.offline:
            return DeviceState.OFFLINE
        seen = self.last_seen_at or self.registered_at
        silent = now - seen > timedelta(seconds=MISSED_KEEPALIVES * keepalive_interval_s)
        if now >= self.expires_at or silent:
            return DeviceState.OFFLINE
        return DeviceState.ONLINE

    def as_dict(self, now: datetime, keepalive_interval_s: int) -> dict[str, Any]:
        def iso(t: datetime | None) -> str | None:
            return t.isoformat() if t is not None else None

        return {
            "id": self.id,
            "device_id": self.device_id,
            "unit_id": self.unit_id,
            "name": self.name,
            "state": self.state(now, keepalive_interval_s).value,
            "registered_at": iso(self.registered_at),
            "expires_at": iso(self.expires_at),
            "last_seen_at": iso(self.last_seen_at),
            "last_keepalive_at": iso(self.last_keepalive_at),
            "address": self.address,
            "transport": self.transport,
            "clock_drift_s": self.clock_drift_s,
        }

    def audit_dict(self) -> dict[str, Any]:
        """What the operation log keeps of the allow-list entry (never the password)."""
        return {"device_id": self.device_id, "unit_id": self.unit_id, "name": self.name}


def device_id_problem(text: str) -> str | None:
    """Why `text` is not a GB/T 28181 device ID (20 digits, a valid address code), or None."""
    try:
        AddressCode.parse(text, "device_id")
    except ValidationFailed as e:
        return "; ".join(err.reason for err in e.errors)
    return None


def check_device(device_id: str, name: str, password: str | None) -> list[FieldError]:
    errors: list[FieldError] = []
    if problem := device_id_problem(device_id):
        errors.append(FieldError("device_id", problem))
    if not name.strip() or len(name) > NAME_MAX:
        errors.append(FieldError("name", f"must be 1-{NAME_MAX} characters"))
    if password is not None and not 1 <= len(password) <= PASSWORD_MAX:
        errors.append(
            FieldError("password", f"must be 1-{PASSWORD_MAX} characters (digest password)")
        )
    return errors


# --- the GB Date header (GB/T 28181-2016 §9.10: local time, milliseconds) -------------------


def gb_date(now: datetime) -> str:
    local = now.astimezone(SHANGHAI)
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}"


def parse_gb_date(text: str) -> datetime | None:
    """A device's `Date` (Beijing time, with or without milliseconds); None if unreadable."""
    text = text.strip()
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=SHANGHAI)
        except ValueError:
            continue
    return None


# --- nonces: issued with an expiry, used once ------------------------------------------------


@dataclass
class NonceBook:
    """Digest nonces the server issued; each is good once, until it expires."""

    ttl_s: float = 300.0
    limit: int = 100_000
    _issued: dict[str, datetime] = field(default_factory=dict)

    def issue(self, now: datetime) -> str:
        if len(self._issued) >= self.limit:
            self.forget_expired(now)
            while len(self._issued) >= self.limit:  # still full: drop the oldest
                self._issued.pop(next(iter(self._issued)))
        nonce = secrets.token_hex(16)
        self._issued[nonce] = now + timedelta(seconds=self.ttl_s)
        return nonce

    def spend(self, nonce: str, now: datetime) -> bool:
        """True once for a nonce we issued and that has not expired; it is gone afterwards."""
        expires = self._issued.pop(nonce, None)
        return expires is not None and now < expires

    def forget_expired(self, now: datetime) -> None:
        for nonce in [n for n, t in self._issued.items() if t <= now]:
            del self._issued[nonce]
