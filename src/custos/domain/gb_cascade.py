"""GB/T 28181 cascade: Custos as a lower platform of an upper (public-security) platform.

An :class:`UpperPlatform` is configured by the unit; its 20-digit SIP ID carries the network it
sits on (digit 14, :class:`~custos.domain.codes.NetworkKind`). A :class:`Share` puts one camera in
the upper platform's catalogue. A camera at a classified site is never shared over a network that
is not private (:func:`share_refusal`). The cascade's :class:`LinkState` is what the client last
saw: registering, registered, failed (with the error and since when) or disabled.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from custos.domain.codes import NetworkKind
from custos.domain.errors import FieldError

SIP_ID_DIGITS = 20
PRIVATE_NETWORKS = frozenset({NetworkKind.MONITORING_PRIVATE, NetworkKind.PUBLIC_SECURITY})
"""Networks a classified site's camera may be shared over: the monitoring private network
(digits 0-4) and the public-security network (5). Government extranet, Internet, social
resources and reserved digits are not private."""

MIN_EXPIRY_S, MAX_EXPIRY_S = 60, 86_400
_HOST = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")
MIN_KEEPALIVE_S, MAX_KEEPALIVE_S = 5, 3_600


class Transport(enum.StrEnum):
    UDP = "UDP"
    TCP = "TCP"


class LinkState(enum.StrEnum):
    DISABLED = "disabled"
    REGISTERING = "registering"
    REGISTERED = "registered"
    FAILED = "failed"


@dataclass(frozen=True)
class UpperPlatform:
    """An upper platform. ``password`` is clear only in memory; it is sealed at rest and never
    appears in :meth:`as_dict`, reprs or the operation log."""

    id: int | None
    sip_id: str
    domain: str
    host: str
    port: int
    transport: Transport
    password: str
    register_expiry_s: int
    keepalive_interval_s: int
    enabled: bool
    name: str
    created_at: datetime

    def __repr__(self) -> str:
        return f"UpperPlatform(id={self.id}, sip_id={self.sip_id!r}, host={self.host!r})"

    @property
    def network(self) -> NetworkKind:
        return NetworkKind.from_digit(int(self.sip_id[13]))

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "sip_id": self.sip_id,
            "domain": self.domain,
            "host": self.host,
            "port": self.port,
            "transport": self.transport.value,
            "register_expiry_s": self.register_expiry_s,
            "keepalive_interval_s": self.keepalive_interval_s,
            "enabled": self.enabled,
            "network": self.network.value,
            "password_set": bool(self.password),
            "created_at": self.created_at.isoformat(),
        }

    def audit_dict(self) -> dict[str, Any]:
        """What the operation log keeps: everything but the password."""
        d = self.as_dict()
        d.pop("created_at")
        return d


@dataclass(frozen=True)
class PlatformState:
    platform_id: int
    state: LinkState
    since: datetime
    last_error: str = ""
    registered_until: datetime | None = None
    attempts: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": self.state.value,
            "since": self.since.isoformat(),
            "last_error": self.last_error,
            "registered_until": (
                self.registered_until.isoformat() if self.registered_until else None
            ),
            "attempts": self.attempts,
        }


@dataclass(frozen=True)
class Share:
    id: int | None
    platform_id: int
    camera_id: int
    shared_by: str
    shared_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "platform_id": self.platform_id,
            "camera_id": self.camera_id,
            "shared_by": self.shared_by,
            "shared_at": self.shared_at.isoformat(),
        }


def check_platform(p: UpperPlatform) -> list[FieldError]:
    """Every reason the configuration is refused (the bounds are also the API's)."""
    errors: list[FieldError] = []
    if len(p.sip_id) != SIP_ID_DIGITS or not p.sip_id.isdigit():
        errors.append(FieldError("sip_id", "must be exactly 20 digits (GB/T 28181 code)"))
    if not p.domain or len(p.domain) > 64 or not p.domain.isascii() or not p.domain.isalnum():
        errors.append(FieldError("domain", "must be 1-64 letters or digits (GB/T 28181 domain)"))
    if not _HOST.fullmatch(p.host):
        errors.append(
            FieldError("host", "must be a host name or IPv4 address (letters, digits, . -)")
        )
    if not 1 <= p.port <= 65_535:
        errors.append(FieldError("port", "must be 1-65535"))
    if not MIN_EXPIRY_S <= p.register_expiry_s <= MAX_EXPIRY_S:
        errors.append(
            FieldError("register_expiry_s", f"must be {MIN_EXPIRY_S}-{MAX_EXPIRY_S} seconds")
        )
    if not MIN_KEEPALIVE_S <= p.keepalive_interval_s <= MAX_KEEPALIVE_S:
        errors.append(
            FieldError(
                "keepalive_interval_s", f"must be {MIN_KEEPALIVE_S}-{MAX_KEEPALIVE_S} seconds"
            )
        )
    if p.keepalive_interval_s >= p.register_expiry_s:
        errors.append(FieldError("keepalive_interval_s", "must be shorter than register_expiry_s"))
    if not p.password:
        errors.append(FieldError("password", "is required for digest authentication"))
    return errors


def share_refusal(
    site_is_classified: bool,
    platform_network: NetworkKind,
    rule_id: str | None,
    article: str | None,
) -> FieldError | None:
    """Why a camera may not be shared with a platform, or None.

    A camera at a classified site (涉及国家秘密、国家安全) stays off every network that is not
    private; ``rule_id``/``article`` are the effective ``classified_no_internet`` duty's first
    citation for the site (the same article a placement refusal cites)."""
    if not site_is_classified or platform_network in PRIVATE_NETWORKS:
        return None
    reason = (
        "a camera at a site involving state secrets or national security is never shared over "
        f"a non-private network (the upper platform is on the {platform_network.value} network)"
    )
    if article:
        reason += f" ({article})"
    return FieldError(
        "camera_id",
        reason,
        rule_id=rule_id,
        article=article,
        key="refusal.cascade_classified_share",
        params={"network": platform_network.value},
    )
