"""What the recorder and the GB/T 28181 SIP server say to each other about one media session.

The recorder records a GB/T 28181 channel (``gb28181://<device-id>/<channel-id>``) by opening a
media port and asking the SIP server — which holds the device's registration — to INVITE the
device to send there. See docs/design/gb28181.md, "Media".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol
from urllib.parse import parse_qs, urlsplit

from custos.domain.gb_sdp import Transport

#: Why an INVITE got no media session; the recorder maps each to an offline reason.
RefusalReason = Literal[
    "device_offline",  # not registered, or registration expired / no keepalive
    "unknown_channel",  # not a channel of that device
    "refused",  # the device answered 4xx/5xx/6xx (the status is in the detail)
    "timeout",  # no final answer in time
    "bad_answer",  # 200 OK whose SDP we cannot use (the field is in the detail)
    "no_signalling",  # no SIP server to ask (GB/T 28181 disabled, or not running)
]

GB_SCHEME = "gb28181"


@dataclass(frozen=True)
class MediaOffer:
    device_id: str
    channel_id: str
    ip: str  # where the device sends (udp, tcp-passive) or where we connect from (tcp-active)
    port: int
    transport: Transport
    playback: tuple[datetime, datetime] | None = None  # history from the device (not built)


@dataclass(frozen=True)
class MediaAnswer:
    call_id: str
    ssrc: str  # the SSRC to accept: the device's y= when it gave one, else ours
    ip: str  # the device's media address (tcp-active: where we connect)
    port: int
    transport: Transport


class MediaRefused(Exception):  # noqa: N818 - a refusal, not a programming error
    def __init__(self, reason: RefusalReason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class MediaSignalling(Protocol):
    def invite(self, offer: MediaOffer, timeout_s: float) -> MediaAnswer:
        """INVITE the device, wait for its 200 OK, ACK it. Raises :class:`MediaRefused`."""

    def bye(self, call_id: str) -> None:
        """End the call (idempotent; an unknown call is ignored)."""


@dataclass(frozen=True)
class GbSource:
    """A GB/T 28181 channel as a camera's stream: ``gb28181://<device>/<channel>[?transport=…]``."""

    device_id: str
    channel_id: str
    transport: Transport = "udp"

    def url(self) -> str:
        query = "" if self.transport == "udp" else f"?transport={self.transport}"
        return f"{GB_SCHEME}://{self.device_id}/{self.channel_id}{query}"

    @classmethod
    def parse(cls, url: str) -> GbSource:
        parts = urlsplit(url)
        if parts.scheme != GB_SCHEME:
            raise ValueError(f"not a {GB_SCHEME} URL")
        device, channel = parts.hostname or "", parts.path.lstrip("/")
        if not (
            device.isdigit() and len(device) == 20 and channel.isdigit() and len(channel) == 20
        ):
            raise ValueError("gb28181://<20-digit device ID>/<20-digit channel ID>")
        transport = parse_qs(parts.query).get("transport", ["udp"])[0]
        if transport not in ("udp", "tcp-passive", "tcp-active"):
            raise ValueError("transport must be udp, tcp-passive or tcp-active")
        return cls(device, channel, transport)  # type: ignore[arg-type]  # checked above
