"""ONVIF onboarding: what discovery proposes, a device's link to its camera, clock drift, PTZ.

Discovery yields *proposals*, never cameras: a unit manager accepts one into the registry (the
placement rules apply as for a typed-in camera) or dismisses it. A camera's clock is evidence
(its timestamps are burnt into the footage), so its drift from the server is measured at
onboarding and daily; beyond the limit it is an alarm (docs/design/operations.md, "ONVIF").
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from custos.domain.errors import FieldError
from custos.domain.stream_url import redact_credentials


class ProposalStatus(enum.StrEnum):
    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    DISMISSED = "dismissed"


@dataclass(frozen=True)
class DiscoveredDevice:
    """One answer to a WS-Discovery probe."""

    endpoint: str  # the endpoint reference, e.g. urn:uuid:…
    xaddrs: tuple[str, ...]  # the device service URLs
    scopes: tuple[str, ...] = ()


@dataclass(frozen=True)
class DeviceIdentity:
    manufacturer: str
    model: str
    serial: str
    firmware: str


@dataclass(frozen=True)
class DeviceReport:
    """What the device said about itself (GetDeviceInformation, GetProfiles, GetStreamUri)."""

    identity: DeviceIdentity
    main_stream_uri: str | None
    sub_stream_uri: str | None
    profile_token: str | None  # the main profile: PTZ commands name it
    has_ptz: bool


@dataclass(frozen=True)
class Credentials:
    """The ONVIF user of a device. Never in a repr, a log or the operation log."""

    username: str
    password: str = field(repr=False)

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, password=***)"


@dataclass(frozen=True)
class ClockReading:
    """One reading of a camera's clock: sent and received by the server's clock."""

    sent_at: datetime
    camera_utc: datetime
    received_at: datetime

    @property
    def drift_s(self) -> float:
        """Camera UTC − server UTC at the moment the camera answered, taken as the middle of
        the round trip. The camera gives whole seconds, cut down, so its clock is on average
        half a second past what it says: the reading adds 0.5 s and keeps a grain of ±0.5 s."""
        middle = self.sent_at + (self.received_at - self.sent_at) / 2
        return round((self.camera_utc - middle).total_seconds() + 0.5, 3)

    @property
    def round_trip_s(self) -> float:
        return round((self.received_at - self.sent_at).total_seconds(), 3)


def drift_exceeds(drift_s: float, limit_s: float) -> bool:
    return abs(drift_s) > limit_s


@dataclass
class Proposal:
    id: int | None
    unit_id: int
    endpoint: str
    xaddr: str
    scopes: list[str]
    identity: DeviceIdentity | None
    # as the device gave them, credentials and all: for accept only (never shown, see as_dict)
    main_stream_uri: str | None = field(repr=False)
    sub_stream_uri: str | None = field(repr=False)
    profile_token: str | None
    has_ptz: bool
    clock_drift_s: float | None
    probe_error: str  # "" when the device answered
    discovered_at: datetime
    discovered_by: str
    status: ProposalStatus = ProposalStatus.PROPOSED
    decided_by: str | None = None
    decided_at: datetime | None = None
    camera_id: int | None = None
    credentials: Credentials | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, Any]:
        """For the API and the operation log: never the credentials, nor any the device put
        in its stream URIs (user:password@, ?password=…), which are masked."""
        ident = self.identity
        return {
            "id": self.id,
            "unit_id": self.unit_id,
            "endpoint": self.endpoint,
            "xaddr": self.xaddr,
            "scopes": list(self.scopes),
            "manufacturer": ident.manufacturer if ident else None,
            "model": ident.model if ident else None,
            "serial": ident.serial if ident else None,
            "firmware": ident.firmware if ident else None,
            "main_stream_uri": _masked(self.main_stream_uri),
            "sub_stream_uri": _masked(self.sub_stream_uri),
            "has_ptz": self.has_ptz,
            "clock_drift_s": self.clock_drift_s,
            "probe_error": redact_credentials(self.probe_error),
            "discovered_at": self.discovered_at.isoformat(),
            "discovered_by": self.discovered_by,
            "status": self.status.value,
            "decided_by": self.decided_by,
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "camera_id": self.camera_id,
            "has_credentials": self.credentials is not None,
        }


@dataclass
class OnvifLink:
    """A camera that came in through ONVIF: where its device service is, and how to sign in."""

    camera_id: int
    xaddr: str
    endpoint: str
    credentials: Credentials | None = field(repr=False)
    profile_token: str | None
    has_ptz: bool
    clock_drift_s: float | None = None
    clock_checked_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "camera_id": self.camera_id,
            "xaddr": self.xaddr,
            "endpoint": self.endpoint,
            "has_ptz": self.has_ptz,
            "clock_drift_s": self.clock_drift_s,
            "clock_checked_at": self.clock_checked_at.isoformat()
            if self.clock_checked_at
            else None,
        }


class PtzAction(enum.StrEnum):
    MOVE = "move"  # ContinuousMove at the given speeds, for at most ``timeout_s``
    STOP = "stop"
    PRESET = "preset"  # GotoPreset


@dataclass(frozen=True)
class PtzCommand:
    action: PtzAction
    pan: float = 0.0  # speeds, -1..1
    tilt: float = 0.0
    zoom: float = 0.0
    preset: str | None = None
    timeout_s: float = 1.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "action": self.action.value,
            "pan": self.pan,
            "tilt": self.tilt,
            "zoom": self.zoom,
            "preset": self.preset,
            "timeout_s": self.timeout_s,
        }


def check_ptz(cmd: PtzCommand) -> list[FieldError]:
    errors = [
        FieldError(
            name,
            f"a speed is between -1 and 1, not {value:g}",
            key="onvif.speed",
            params={"value": f"{value:g}"},
        )
        for name, value in (("pan", cmd.pan), ("tilt", cmd.tilt), ("zoom", cmd.zoom))
        if not -1.0 <= value <= 1.0
    ]
    if not 0.1 <= cmd.timeout_s <= 60:
        errors.append(
            FieldError(
                "timeout_s", "a move lasts between 0.1 and 60 seconds", key="onvif.move_time"
            )
        )
    if cmd.action is PtzAction.PRESET and not (cmd.preset or "").strip():
        errors.append(
            FieldError(
                "preset", "a preset command names the preset token", key="onvif.preset_needed"
            )
        )
    return errors


def _masked(uri: str | None) -> str | None:
    return None if uri is None else redact_credentials(uri)


def with_credentials(uri: str | None, credentials: Credentials | None) -> str | None:
    """The stream URI with the ONVIF user in it, as the recorder needs it (the registry then
    seals the credentials as it does for a typed-in stream URL)."""
    if uri is None or credentials is None:
        return uri
    parts = urlsplit(uri)
    if parts.username is not None or not parts.hostname:
        return uri
    host = parts.netloc
    user = f"{quote(credentials.username, safe='')}:{quote(credentials.password, safe='')}"
    return urlunsplit((parts.scheme, f"{user}@{host}", parts.path, parts.query, parts.fragment))


#: The checks run once a day (the housekeeper's duty).
DAILY = timedelta(days=1)
