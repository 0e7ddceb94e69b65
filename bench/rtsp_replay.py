"""A minimal RTSP server that replays one pre-encoded H.264 clip as a live broadcast, cheaply.

The load generator of ``bench/ingest.py``; stand-alone (standard library only)::

    .venv/bin/python bench/rtsp_replay.py --clip clip.h264 --port 8554
    ffmpeg -rtsp_transport tcp -i rtsp://127.0.0.1:8554/cam1 -c copy -t 5 out.mp4

Design (for 400 streams on two cores):

- The clip (Annex B, an access-unit delimiter before every frame, no B-frames, a keyframe every
  GOP) is parsed once into access units, and each is packetized once into RTP (RFC 6184: single
  NAL unit packets and FU-A fragments; payload type 96, 90 kHz clock) inside RTSP interleaved
  frames, with blank sequence numbers and timestamps.
- One global pacing loop runs at the clip's frame rate. For each frame it patches the sequence
  numbers and the timestamp into the template ONCE (one global sequence, timestamp and SSRC: every
  client sees the same broadcast) and writes the same bytes to every playing client. The clip
  loops forever; timestamps keep rising, so the stream is live and never ends.
- A client that PLAYs starts at the next keyframe; ``RTP-Info`` in the PLAY reply carries that
  keyframe's sequence number and timestamp, computed ahead from the packet counts.
- Every path whose last component is ``cam<digits>`` serves the same broadcast (``/cam1``,
  ``/custos/cam7``, ...); anything else is 404. Only RTP/AVP/TCP interleaved transport (461 for UDP).
- When the loop is behind (a busy machine) it catches up, skipping no frame, and reports its
  lateness; it yields between frames so requests are still served. ``--nice -10`` helps it
  keep its pace against hundreds of recorder processes.
- A client whose socket buffer is over ``--max-buffer`` bytes misses frames (counted as dropped)
  and resumes at the next keyframe, like a camera with a slow viewer.

Per session it counts the frames sent from the first keyframe on, and the frames dropped. With
``--control``, commands on standard input, one a line, answered ``ok`` on standard output:
``stats PATH`` (write a JSON snapshot to PATH), ``freeze PREFIX`` (stop sending to the playing
sessions whose path starts with PREFIX, so their counts are final, and refuse new ones there),
``close PREFIX`` (close those sessions' connections: their clients see the stream end), ``mark``
(lateness of the pacing loop counts from now). The first line printed is ``ready PORT``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import itertools
import json
import os
import re
import secrets
import struct
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CLOCK_HZ = 90_000
PAYLOAD_TYPE = 96
NAL_AUD, NAL_SPS, NAL_PPS, NAL_IDR = 9, 7, 8, 5
_START = re.compile(rb"\x00\x00\x01")
_MOUNT = re.compile(r"^(?:/[A-Za-z0-9_.-]+)*/cam\d+$")
_RTP = struct.Struct("!BBHII")  # V/P/X/CC, M/PT, sequence, timestamp, SSRC
RTP_HEADER = _RTP.size


# ---- the clip ---------------------------------------------------------------------------------
def nal_units(annexb: bytes) -> list[bytes]:
    """The NAL units of an Annex B stream, without start codes (trailing zeros stripped)."""
    starts = [m.end() for m in _START.finditer(annexb)]
    units = []
    for a, b in zip(starts, [*starts[1:], len(annexb) + 3], strict=True):
        nal = annexb[a : b - 3].rstrip(b"\x00")
        if nal:
            units.append(nal)
    return units


@dataclass(frozen=True)
class AccessUnit:
    nals: tuple[bytes, ...]
    keyframe: bool


def access_units(annexb: bytes) -> tuple[list[AccessUnit], bytes, bytes]:
    """Split at access-unit delimiters (which are dropped); return the units, SPS and PPS.

    A keyframe without SPS/PPS in front gets them, so every client can start at any keyframe."""
    groups: list[list[bytes]] = []
    sps = pps = b""
    for nal in nal_units(annexb):
        kind = nal[0] & 0x1F
        if kind == NAL_AUD or not groups:
            groups.append([])
        if kind == NAL_SPS and not sps:
            sps = nal
        if kind == NAL_PPS and not pps:
            pps = nal
        if kind != NAL_AUD:
            groups[-1].append(nal)
    if not sps or not pps:
        raise SystemExit("the clip has no SPS/PPS")
    units = []
    for g in groups:
        if not g:
            continue
        kinds = {n[0] & 0x1F for n in g}
        key = NAL_IDR in kinds
        if key and NAL_SPS not in kinds:
            g = [sps, pps, *g]
        units.append(AccessUnit(tuple(g), key))
    if not units or not units[0].keyframe:
        raise SystemExit("the clip must start with a keyframe")
    return units, sps, pps


def rtp_payloads(au: AccessUnit, max_payload: int) -> list[bytes]:
    """RFC 6184 payloads of one access unit: single NAL unit packets, FU-A for larger ones."""
    out: list[bytes] = []
    for nal in au.nals:
        if len(nal) <= max_payload:
            out.append(nal)
            continue
        indicator = (nal[0] & 0xE0) | 28
        kind = nal[0] & 0x1F
        body = nal[1:]
        step = max_payload - 2
        for off in range(0, len(body), step):
            start = 0x80 if off == 0 else 0
            end = 0x40 if off + step >= len(body) else 0
            out.append(bytes((indicator, start | end | kind)) + body[off : off + step])
    return out


@dataclass
class FrameTemplate:
    """One access unit as interleaved RTP packets with blank channel, sequence and timestamp."""

    data: bytearray
    offsets: list[int]  # of each packet's RTSP interleaved header ('$')
    keyframe: bool

    @property
    def packets(self) -> int:
        return len(self.offsets)


def frame_template(au: AccessUnit, ssrc: int, max_payload: int) -> FrameTemplate:
    data = bytearray()
    offsets = []
    payloads = rtp_payloads(au, max_payload)
    for i, p in enumerate(payloads):
        offsets.append(len(data))
        marker = 0x80 if i == len(payloads) - 1 else 0
        data += struct.pack("!BBH", 0x24, 0, RTP_HEADER + len(p))
        data += _RTP.pack(0x80, marker | PAYLOAD_TYPE, 0, 0, ssrc)
        data += p
    return FrameTemplate(data, offsets, au.keyframe)


# ---- sessions -------------------------------------------------------------------------------
@dataclass
class Session:
    id: str
    path: str
    peer: str
    channel: int = 0
    created: float = field(default_factory=time.time)
    playing: bool = False
    frozen: bool = False
    closed_at: float | None = None
    play_at: float | None = None
    first_frame_at: float | None = None
    last_frame_at: float | None = None
    first_seq: int | None = None
    first_ts: int | None = None
    waiting_key: bool = True
    frames_sent: int = 0
    frames_dropped: int = 0
    bytes_sent: int = 0
    transport: asyncio.Transport | None = None

    def snapshot(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("transport", "waiting_key")}


class Broadcast:
    """The one live stream every session gets: the pacing loop and its global counters."""

    def __init__(self, frames: list[FrameTemplate], fps: int, max_buffer: int) -> None:
        self.frames = frames
        self.fps = fps
        self.max_buffer = max_buffer
        self.tick = CLOCK_HZ // fps
        self.counter = 0  # frames built so far
        self.seq = secrets.randbelow(1 << 16)
        self.ts0 = secrets.randbelow(1 << 32)
        self.sessions: dict[str, Session] = {}
        self.playing: list[Session] = []
        self.refused: list[str] = []  # path prefixes
        self.started = time.monotonic()
        self.late_max_s = 0.0
        self.bursts = 0
        self._cache: dict[int, bytes] = {}

    def timestamp(self, counter: int) -> int:
        return (self.ts0 + counter * self.tick) & 0xFFFFFFFF

    def next_key(self) -> tuple[int, int, int]:
        """(counter, seq, timestamp) of the next keyframe this loop will send."""
        c, seq = self.counter, self.seq
        while not self.frames[c % len(self.frames)].keyframe:
            seq += self.frames[c % len(self.frames)].packets
            c += 1
        return c, seq & 0xFFFF, self.timestamp(c)

    def _build(self, tpl: FrameTemplate, channel: int) -> bytes:
        buf = bytearray(tpl.data)
        ts = self.timestamp(self.counter)
        for i, off in enumerate(tpl.offsets):
            buf[off + 1] = channel
            struct.pack_into("!HI", buf, off + 6, (self.seq + i) & 0xFFFF, ts)
        return bytes(buf)

    def send_one(self) -> None:
        tpl = self.frames[self.counter % len(self.frames)]
        now = time.time()
        self._cache.clear()
        for s in self.playing:
            t = s.transport
            if t is None or s.frozen or t.is_closing():
                continue
            if s.waiting_key and not tpl.keyframe:
                if s.first_frame_at is not None:
                    s.frames_dropped += 1
                continue
            if t.get_write_buffer_size() > self.max_buffer:
                s.frames_dropped += 1
                s.waiting_key = True
                continue
            data = self._cache.get(s.channel)
            if data is None:
                data = self._cache[s.channel] = self._build(tpl, s.channel)
            t.write(data)
            if s.first_frame_at is None:
                s.first_frame_at = now
                s.first_seq = self.seq & 0xFFFF
                s.first_ts = self.timestamp(self.counter)
            s.waiting_key = False
            s.frames_sent += 1
            s.bytes_sent += len(data)
            s.last_frame_at = now
        self.seq = (self.seq + tpl.packets) & 0xFFFF
        self.counter += 1

    async def run(self) -> None:
        period = 1.0 / self.fps
        while True:
            due = self.started + self.counter * period
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            else:  # behind: catch up (no frame is skipped), but let requests in between frames
                self.late_max_s = max(self.late_max_s, -delay)
                if -delay > period:
                    self.bursts += 1
                await asyncio.sleep(0)
            self.send_one()

    def snapshot(self) -> dict[str, Any]:
        return {
            "time": time.time(),
            "frames_built": self.counter,
            "fps": self.fps,
            "late_max_s": self.late_max_s,
            "late_bursts": self.bursts,
            "sessions": [s.snapshot() for s in self.sessions.values()],
        }

    def freeze(self, prefix: str) -> int:
        """Stop sending to the sessions under ``prefix`` (their counts are final), and refuse
        new sessions there."""
        self.refused.append(prefix)
        n = 0
        for s in self.sessions.values():
            if s.playing and not s.frozen and s.path.startswith(prefix):
                s.frozen = True
                n += 1
        return n

    def close(self, prefix: str) -> int:
        """Close the connections of the sessions under ``prefix``: their clients see the end."""
        n = 0
        for s in self.sessions.values():
            if s.transport is not None and s.path.startswith(prefix):
                s.transport.close()
                n += 1
        return n


# ---- RTSP -----------------------------------------------------------------------------------
class RtspConnection(asyncio.Protocol):
    def __init__(self, server: RtspServer) -> None:
        self.server = server
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None
        self.session: Session | None = None
        self.peer = ""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if peer else ""

    def connection_lost(self, exc: Exception | None) -> None:
        s = self.session
        if s is not None:
            self.server.end(s)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while self.buf:
            if self.buf[0] == 0x24:  # interleaved data from the client (RTCP): skip it
                if len(self.buf) < 4:
                    return
                size = 4 + int.from_bytes(self.buf[2:4], "big")
                if len(self.buf) < size:
                    return
                del self.buf[:size]
                continue
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > 65536:
                    self._close()
                return
            head = bytes(self.buf[:end]).decode("utf-8", "replace")
            headers = _headers(head)
            body_len = int(headers.get("content-length", "0") or 0)
            if len(self.buf) < end + 4 + body_len:
                return
            del self.buf[: end + 4 + body_len]
            self._request(head.split("\r\n", 1)[0], headers)

    def _close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def _reply(
        self, code: int, cseq: str, extra: dict[str, str] | None = None, body: bytes = b""
    ) -> None:
        reason = _REASONS.get(code, "Error")
        lines = [f"RTSP/1.0 {code} {reason}", f"CSeq: {cseq}", "Server: custos-bench-replay"]
        if self.session is not None:
            lines.append(f"Session: {self.session.id};timeout=60")
        for k, v in (extra or {}).items():
            lines.append(f"{k}: {v}")
        if body:
            lines.append(f"Content-Length: {len(body)}")
        msg = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
        if self.transport is not None:
            self.transport.write(msg)

    def _request(self, request_line: str, h: dict[str, str]) -> None:
        parts = request_line.split()
        cseq = h.get("cseq", "0")
        if len(parts) != 3 or not parts[2].startswith("RTSP/"):
            self._reply(400, cseq)
            self._close()
            return
        method, url = parts[0], parts[1]
        path = _path_of(url)
        if method == "OPTIONS":
            methods = "OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER"
            self._reply(200, cseq, {"Public": methods})
        elif method == "GET_PARAMETER":
            self._reply(200, cseq)
        elif method == "DESCRIBE":
            if not self.server.serves(path):
                self._reply(404, cseq)
                return
            base = url.rstrip("/") + "/"
            sdp = self.server.sdp.encode()
            self._reply(200, cseq, {"Content-Base": base, "Content-Type": "application/sdp"}, sdp)
        elif method == "SETUP":
            self._setup(url, path, cseq, h)
        elif method == "PLAY":
            self._play(url, cseq, h)
        elif method == "TEARDOWN":
            self._reply(200, cseq)
            self._close()
        else:
            self._reply(405, cseq, {"Allow": "OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN"})

    def _setup(self, url: str, path: str, cseq: str, h: dict[str, str]) -> None:
        mount = path.rsplit("/", 1)[0] if path.rsplit("/", 1)[-1].startswith("trackID") else path
        if not self.server.serves(mount):
            self._reply(404, cseq)
            return
        transport = h.get("transport", "")
        if "RTP/AVP/TCP" not in transport.upper():
            self._reply(461, cseq)
            return
        if self.session is not None:
            self._reply(459, cseq)  # one track, one session per connection
            return
        m = re.search(r"interleaved=(\d+)(?:-(\d+))?", transport)
        rtp = int(m.group(1)) if m else 0
        rtcp = int(m.group(2)) if m and m.group(2) else rtp + 1
        self.session = self.server.open(mount, self.peer, rtp)
        self.session.transport = self.transport
        ssrc = f"{self.server.ssrc:08X}"
        self._reply(
            200,
            cseq,
            {"Transport": f"RTP/AVP/TCP;unicast;interleaved={rtp}-{rtcp};ssrc={ssrc}"},
        )

    def _play(self, url: str, cseq: str, h: dict[str, str]) -> None:
        s = self.session
        if s is None or s.id != h.get("session", "").split(";")[0].strip():
            self._reply(454, cseq)
            return
        _, seq, ts = self.server.broadcast.next_key()
        track = url.rstrip("/") + "/trackID=0" if "trackID" not in url else url
        self._reply(
            200, cseq, {"Range": "npt=now-", "RTP-Info": f"url={track};seq={seq};rtptime={ts}"}
        )
        if not s.playing:
            s.playing, s.play_at = True, time.time()
            self.server.broadcast.playing.append(s)


_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    454: "Session Not Found",
    459: "Aggregate Operation Not Allowed",
    461: "Unsupported Transport",
}


def _headers(head: str) -> dict[str, str]:
    out = {}
    for line in head.split("\r\n")[1:]:
        k, _, v = line.partition(":")
        out[k.strip().lower()] = v.strip()
    return out


def _path_of(url: str) -> str:
    if "://" in url:
        rest = url.split("://", 1)[1]
        path = "/" + rest.split("/", 1)[1] if "/" in rest else "/"
    else:
        path = url
    return path.split("?", 1)[0].rstrip("/") or "/"


class RtspServer:
    def __init__(self, clip: Path, fps: int, max_payload: int, max_buffer: int) -> None:
        units, sps, pps = access_units(clip.read_bytes())
        self.ssrc = secrets.randbits(32)
        frames = [frame_template(au, self.ssrc, max_payload) for au in units]
        self.broadcast = Broadcast(frames, fps, max_buffer)
        sprop = ",".join(base64.b64encode(x).decode() for x in (sps, pps))
        self.sdp = "\r\n".join(
            [
                "v=0",
                f"o=- {secrets.randbits(31)} 1 IN IP4 127.0.0.1",
                "s=Custos bench replay",
                "c=IN IP4 0.0.0.0",
                "t=0 0",
                "a=range:npt=now-",
                f"m=video 0 RTP/AVP {PAYLOAD_TYPE}",
                f"a=rtpmap:{PAYLOAD_TYPE} H264/{CLOCK_HZ}",
                f"a=fmtp:{PAYLOAD_TYPE} packetization-mode=1;profile-level-id={sps[1:4].hex()};"
                f"sprop-parameter-sets={sprop}",
                f"a=framerate:{fps}",
                "a=control:trackID=0",
                "",
            ]
        )
        self._ids = itertools.count(1)

    def serves(self, path: str) -> bool:
        refused = any(path.startswith(p) for p in self.broadcast.refused)
        return bool(_MOUNT.match(path)) and not refused

    def open(self, path: str, peer: str, channel: int) -> Session:
        s = Session(f"{next(self._ids):08d}{secrets.token_hex(4)}", path, peer, channel)
        self.broadcast.sessions[s.id] = s
        return s

    def end(self, s: Session) -> None:
        s.closed_at = time.time()
        s.transport = None
        with contextlib.suppress(ValueError):
            self.broadcast.playing.remove(s)


async def control(server: RtspServer) -> None:
    """Commands on standard input (``stats PATH``, ``freeze PREFIX``); ``ok`` on stdout."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        cmd, _, arg = line.decode().strip().partition(" ")
        if cmd == "stats":
            tmp = Path(arg + ".part")
            tmp.write_text(json.dumps(server.broadcast.snapshot()))
            tmp.replace(arg)
            print("ok", flush=True)
        elif cmd == "freeze":
            print(f"ok {server.broadcast.freeze(arg)}", flush=True)
        elif cmd == "mark":  # a new measuring window: lateness counts from now
            server.broadcast.late_max_s, server.broadcast.bursts = 0.0, 0
            print("ok", flush=True)
        elif cmd == "close":
            print(f"ok {server.broadcast.close(arg)}", flush=True)
        elif cmd:
            print(f"error unknown command {cmd}", flush=True)
    os._exit(0)  # standard input closed: the parent is gone


async def serve(args: argparse.Namespace) -> None:
    if args.nice:
        os.setpriority(os.PRIO_PROCESS, 0, args.nice)  # negative: needs root
    server = RtspServer(args.clip, args.fps, args.max_payload, args.max_buffer)
    loop = asyncio.get_running_loop()
    listener = await loop.create_server(
        lambda: RtspConnection(server), args.host, args.port, backlog=2048
    )
    port = listener.sockets[0].getsockname()[1]
    print(f"ready {port}", flush=True)
    tasks = [asyncio.create_task(server.broadcast.run())]
    if args.control:
        tasks.append(asyncio.create_task(control(server)))
    await asyncio.gather(*tasks)


def main(argv: list[str]) -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--clip", type=Path, required=True, help="Annex B H.264 with AUDs, no B-frames")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0: any free port (printed)")
    p.add_argument("--fps", type=int, default=25)
    p.add_argument("--max-payload", type=int, default=1400, help="largest RTP payload (bytes)")
    p.add_argument("--max-buffer", type=int, default=4 << 20, help="per-client backlog (bytes)")
    p.add_argument("--nice", type=int, default=0, help="scheduling priority (-20..19)")
    p.add_argument("--control", action="store_true", help="take commands on standard input")
    asyncio.run(serve(p.parse_args(argv)))


if __name__ == "__main__":
    main(sys.argv[1:])
