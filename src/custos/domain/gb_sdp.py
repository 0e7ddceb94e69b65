"""The SDP of GB/T 28181 media sessions (RFC 4566 plus the standard's ``y=`` and ``f=`` lines).

A GB/T 28181 INVITE offers one video stream of MPEG-PS over RTP (``a=rtpmap:96 PS/90000``), says
whether it wants live video (``s=Play``) or a recording (``s=Playback`` with ``u=<channel>:0``
and ``t=<start> <end>`` in Unix seconds, or ``s=Download``), carries the SSRC it expects as
``y=`` (ten decimal digits: the first 0 for live, 1 for history) and, optionally, the media
description as ``f=v/…``. Over TCP (RFC 4571, one 2-byte length per RTP packet) the offer says
``m=video <port> TCP/RTP/AVP 96`` and ``a=setup:passive`` (the offerer listens) or
``a=setup:active`` (the offerer connects), with ``a=connection:new``.

The 2022 edition adds nothing a parser must refuse: unknown lines are kept in ``extra``.
Everything here is standard library; the SIP layer carries the bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from custos.domain.errors import FieldError, ValidationFailed

SessionName = Literal["Play", "Playback", "Download"]
Transport = Literal["udp", "tcp-passive", "tcp-active"]

MAX_SDP_BYTES = 4096
_SSRC = re.compile(r"^[0-9]{10}$")
_ID20 = re.compile(r"^[0-9]{20}$")
_IPV4 = re.compile(r"^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$")


@dataclass(frozen=True)
class MediaDescription:
    """One GB/T 28181 media offer or answer."""

    session: SessionName
    origin_id: str  # o= username: the sender's 20-digit ID
    ip: str  # c=IN IP4 …
    port: int  # m=video <port>
    transport: Transport  # udp, or TCP with who connects (the *sender's* a=setup)
    ssrc: str | None  # y=, ten digits
    direction: Literal["recvonly", "sendonly", "sendrecv"] = "recvonly"
    channel_id: str | None = None  # u=<channel>:0 (playback)
    start: int = 0  # t= start end, Unix seconds (0 0 for live)
    end: int = 0
    media_format: str | None = None  # f=…
    payload_type: int = 96
    encoding: str = "PS"
    extra: tuple[str, ...] = field(default=())

    def ssrc_value(self) -> int | None:
        """The SSRC as the RTP header carries it (a 32-bit number)."""
        if self.ssrc is None:
            return None
        return int(self.ssrc) & 0xFFFFFFFF


def new_ssrc(domain_id: str, playback: bool, counter: int) -> str:
    """``y=``: 0 (live) or 1 (history), the domain's digits 4–8, then a 4-digit counter."""
    if not re.fullmatch(r"[0-9]{10}", domain_id):
        raise ValueError("domain_id must be 10 digits")
    return f"{1 if playback else 0}{domain_id[3:8]}{counter % 10000:04d}"


def build(d: MediaDescription) -> bytes:
    """The SDP text of ``d`` (CRLF lines, ``y=`` and ``f=`` after the media, as devices expect)."""
    proto = "RTP/AVP" if d.transport == "udp" else "TCP/RTP/AVP"
    lines = [
        "v=0",
        f"o={d.origin_id} 0 0 IN IP4 {d.ip}",
        f"s={d.session}",
    ]
    if d.channel_id is not None and d.session != "Play":
        lines.append(f"u={d.channel_id}:0")
    lines += [
        f"c=IN IP4 {d.ip}",
        f"t={d.start} {d.end}",
        f"m=video {d.port} {proto} {d.payload_type}",
        f"a={d.direction}",
        f"a=rtpmap:{d.payload_type} {d.encoding}/90000",
    ]
    if d.transport != "udp":
        lines.append(f"a=setup:{'passive' if d.transport == 'tcp-passive' else 'active'}")
        lines.append("a=connection:new")
    if d.ssrc is not None:
        lines.append(f"y={d.ssrc}")
    if d.media_format is not None:
        lines.append(f"f={d.media_format}")
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


def parse(raw: bytes) -> MediaDescription:
    """Read a GB/T 28181 offer or answer; a refusal names the line (field ``sdp.<letter>``)."""
    if len(raw) > MAX_SDP_BYTES:
        raise _refuse("sdp", f"longer than {MAX_SDP_BYTES} bytes")
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError as exc:
        raise _refuse("sdp", f"not ASCII (byte {exc.start})") from exc
    values: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        if len(line) < 2 or line[1] != "=":
            raise _refuse("sdp", f"line {line[:20]!r} is not <letter>=<value>")
        values.setdefault(line[0], []).append(line[2:].strip())
    session = _one(values, "s")
    if session not in ("Play", "Playback", "Download"):
        raise _refuse("sdp.s", f"{session!r} is not Play, Playback or Download")
    origin = _one(values, "o").split()
    if len(origin) < 6:
        raise _refuse("sdp.o", "needs six fields")
    conn = _one(values, "c").split()
    if len(conn) != 3 or conn[:2] != ["IN", "IP4"] or not _IPV4.match(conn[2]):
        raise _refuse("sdp.c", "must be IN IP4 <address>")
    media = [m for m in values.get("m", []) if m.startswith("video ")]
    if not media:
        raise _refuse("sdp.m", "no video media line")
    parts = media[0].split()
    if len(parts) < 4 or not parts[1].isdigit() or not 0 < int(parts[1]) < 65536:
        raise _refuse("sdp.m", "must be video <port 1..65535> <proto> <payload>")
    proto = parts[2].upper()
    if proto not in ("RTP/AVP", "TCP/RTP/AVP"):
        raise _refuse("sdp.m", f"transport {parts[2]!r} is not RTP/AVP or TCP/RTP/AVP")
    attrs = values.get("a", [])
    rtpmap = _rtpmap(attrs, parts[3:])
    if rtpmap is None:
        raise _refuse("sdp.a", "no rtpmap for PS/90000 (or MP2P/90000)")
    transport: Transport = "udp"
    if proto == "TCP/RTP/AVP":
        setup = next((a.split(":", 1)[1] for a in attrs if a.startswith("setup:")), "passive")
        if setup not in ("active", "passive"):
            raise _refuse("sdp.a", f"setup:{setup} is not active or passive")
        transport = "tcp-passive" if setup == "passive" else "tcp-active"
    direction = next((a for a in attrs if a in ("recvonly", "sendonly", "sendrecv")), "sendrecv")
    ssrc = values.get("y", [None])[0]
    if ssrc is not None and not _SSRC.match(ssrc):
        raise _refuse("sdp.y", "must be ten decimal digits")
    start, end = _times(values.get("t", ["0 0"])[0])
    channel = None
    if "u" in values:
        channel = values["u"][0].split(":", 1)[0]
        if not _ID20.match(channel):
            raise _refuse("sdp.u", "must be <20-digit channel ID>:<type>")
    if session != "Play" and end and end < start:
        raise _refuse("sdp.t", "ends before it starts")
    known = set("vosctmayfu")
    extra = tuple(f"{k}={v}" for k, vs in values.items() if k not in known for v in vs)
    return MediaDescription(
        session=session,  # type: ignore[arg-type]  # checked above
        origin_id=origin[0],
        ip=conn[2],
        port=int(parts[1]),
        transport=transport,
        ssrc=ssrc,
        direction=direction,  # type: ignore[arg-type]  # one of the three
        channel_id=channel,
        start=start,
        end=end,
        media_format=values.get("f", [None])[0],
        payload_type=rtpmap[0],
        encoding=rtpmap[1],
        extra=extra,
    )


def _rtpmap(attrs: list[str], payloads: list[str]) -> tuple[int, str] | None:
    for a in attrs:
        m = re.fullmatch(r"rtpmap:(\d+)\s+([A-Za-z0-9-]+)/90000", a)
        if m and m.group(1) in payloads and m.group(2).upper() in ("PS", "MP2P"):
            return int(m.group(1)), m.group(2)
    return None


def _times(value: str) -> tuple[int, int]:
    parts = value.split()
    if len(parts) != 2 or not all(p.isdigit() and len(p) <= 12 for p in parts):
        raise _refuse("sdp.t", "must be <start> <end> in seconds")
    return int(parts[0]), int(parts[1])


def _one(values: dict[str, list[str]], letter: str) -> str:
    found = values.get(letter)
    if not found:
        raise _refuse(f"sdp.{letter}", "missing")
    return found[0]


def _refuse(field_name: str, reason: str) -> ValidationFailed:
    return ValidationFailed(FieldError(field_name, reason, key="gb.sdp_invalid"))
