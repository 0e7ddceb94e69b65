"""The load generator of ``bench/gb_ingest.py``: N GB/T 28181 devices' media, and a fake SIP side.

    .venv/bin/python bench/gb_replay.py --ps clip.ps --socket DATA/run/gb-media.sock --control

- It serves the recorder's media control socket (``adapters/sip/media_control.py``'s protocol,
  the requests read by its own ``read_offer``) in place of ``custos serve``'s SIP server: an
  ``invite`` starts a session at once — a fresh SSRC and call, answered ``ok`` — that sends the
  program stream over RTP/UDP to the offered address; a ``bye`` stops it. No SIP is spoken: the
  bench measures the recorder, not the signalling. TCP transports are refused.
- Each session sends the clip from its start (a keyframe), paced in real time by the packs' SCR,
  looping with its timestamps moved on (``gb_ps_clip``), packetised by Custos' own
  :class:`~custos.adapters.media.rtp.PsPacketizer` once per loop; per packet only the header
  (sequence, SSRC) is written. One pacing loop serves every session every ``--tick`` seconds.
- A channel ``…131NNNNNNN`` is the path ``<prefix>/camN`` in the statistics, the shape of
  ``rtsp_replay.py``'s, so that ``ingest.py``'s phase and analysis apply as they are.

Commands on standard input, answered ``ok`` on standard output (as ``rtsp_replay.py``):
``stats PATH``, ``freeze PREFIX`` (stop sending under PREFIX, counts final, INVITEs there
refused), ``close PREFIX`` (end those sessions), ``mark`` (lateness counts from now). The first
line printed is ``ready PATH``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import secrets
import socket
import struct
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gb_ps_clip

from custos.adapters.media.rtp import PsPacketizer
from custos.adapters.sip.media_control import BadControlRequestError, read_offer

HEADER = struct.Struct("!BBHII")  # V/P/X/CC, M/PT, sequence, timestamp, SSRC
RTP_V2 = 0x80
LATE_S = 0.04  # a pack sent more than a frame late counts as a burst
PackTemplate = tuple[tuple[int, int, memoryview], ...]  # (M/PT byte, timestamp, payload)


@dataclass
class Session:
    id: str
    path: str
    ssrc: int
    sock: socket.socket = field(repr=False)
    started: float
    created: float = field(default_factory=time.time)
    loop: int = 0
    pack: int = 0
    packet: int = 0  # within the pack: where a blocked send resumes
    sequence: int = field(default_factory=lambda: secrets.randbelow(1 << 16))
    frames_sent: int = 0
    frames_dropped: int = 0  # always 0: a full socket buffer delays, never drops
    packets_sent: int = 0
    bytes_sent: int = 0
    send_blocked: int = 0  # the socket's buffer was full: sent on a later tick
    send_errors: int = 0  # refused (ICMP port unreachable): the recorder's port was closed
    frozen: bool = False
    closed_at: float | None = None

    def snapshot(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "sock"}


class Devices:
    """Every session, the clip's per-loop packet templates, and the pacing loop."""

    def __init__(self, clip: gb_ps_clip.PsClip, prefix: str, tick_s: float) -> None:
        self.clip = clip
        self.prefix = prefix
        self.tick_s = tick_s
        self.sessions: dict[str, Session] = {}
        self.sending: list[Session] = []
        self.refused: list[str] = []
        self.late_max_s = 0.0
        self.bursts = 0
        self._loops: dict[int, list[PackTemplate]] = {}
        self._due = [clip.due_s(i) for i in range(len(clip.pack_starts))]
        self._ssrcs = itertools.count(1)

    def templates(self, k: int) -> list[PackTemplate]:
        if k not in self._loops:
            packetizer = PsPacketizer(0)
            packets = packetizer.feed(self.clip.loop(k)) + packetizer.flush()
            packs: list[PackTemplate] = []
            pack: list[tuple[int, int, memoryview]] = []
            for raw in packets:
                _, mpt, _, ts, _ = HEADER.unpack_from(raw)
                pack.append((mpt, ts, memoryview(raw)[HEADER.size :]))
                if mpt & 0x80:  # the marker: the pack's last packet
                    packs.append(tuple(pack))
                    pack = []
            if pack or len(packs) != len(self.clip.pack_starts):
                raise RuntimeError("the packetizer's packs do not match the clip's")
            self._loops[k] = packs
        return self._loops[k]

    def invite(self, request: dict[str, Any]) -> dict[str, Any]:
        try:
            offer, _ = read_offer(request)
        except BadControlRequestError as e:
            return {"ok": False, "reason": "bad_request", "detail": str(e)}
        if offer.transport != "udp":
            return {"ok": False, "reason": "refused", "detail": "488 only UDP in the bench"}
        path = f"{self.prefix}/cam{int(offer.channel_id[13:])}"
        if any(path.startswith(p) for p in self.refused):
            return {"ok": False, "reason": "device_offline", "detail": "the bench has stopped"}
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setblocking(False)
        sock.connect((offer.ip, offer.port))
        ssrc_text = f"0{offer.channel_id[3:8]}{next(self._ssrcs) % 10_000:04d}"
        call = secrets.token_hex(8)
        s = Session(call, path, int(ssrc_text), sock, time.monotonic())
        self.sessions[call] = s
        self.sending.append(s)
        ip, port = sock.getsockname()
        return {"ok": True, "call": call, "ssrc": ssrc_text, "ip": ip, "port": port,
                "transport": "udp"}  # fmt: skip

    def bye(self, call: str) -> None:
        s = self.sessions.get(call)
        if s is not None and s.closed_at is None:
            self._end(s)

    def _end(self, s: Session) -> None:
        s.closed_at = time.time()
        with contextlib.suppress(ValueError):
            self.sending.remove(s)
        s.sock.close()

    def freeze(self, prefix: str) -> int:
        self.refused.append(prefix)
        frozen = [s for s in self.sending if s.path.startswith(prefix)]
        for s in frozen:
            s.frozen = True
            self.sending.remove(s)
        return len(frozen)

    def close(self, prefix: str) -> int:
        ended = [s for s in self.sessions.values() if s.path.startswith(prefix) and not s.closed_at]
        for s in ended:
            self._end(s)
        return len(ended)

    async def run(self) -> None:
        length = self.clip.seconds
        while True:
            await asyncio.sleep(self.tick_s)
            now = time.monotonic()
            late = 0.0
            for s in list(self.sending):
                while True:
                    due = s.started + s.loop * length + self._due[s.pack]
                    if due > now:
                        break
                    late = max(late, now - due)
                    if not self._send(s, self.templates(s.loop)[s.pack]):
                        break  # the socket's buffer is full: the rest of the pack next tick
                    s.frames_sent += self.clip.frames_in_pack[s.pack]
                    s.pack += 1
                    if s.pack == len(self._due):
                        s.pack, s.loop = 0, s.loop + 1
            self.late_max_s = max(self.late_max_s, late)
            self.bursts += late > LATE_S
            self._forget_loops()

    def _send(self, s: Session, pack: PackTemplate) -> bool:
        """The pack's packets from ``s.packet`` on; False if the socket would block (the load
        generator never drops: what the recorder loses is the recorder's)."""
        while s.packet < len(pack):
            mpt, ts, payload = pack[s.packet]
            try:
                s.sock.sendmsg([HEADER.pack(RTP_V2, mpt, s.sequence, ts, s.ssrc), payload])
            except BlockingIOError:
                s.send_blocked += 1
                return False
            except OSError:  # ICMP: the recorder's port is closed (a run ended, its BYE to come)
                s.send_errors += 1
            else:
                s.packets_sent += 1
                s.bytes_sent += HEADER.size + len(payload)
            s.packet += 1
            s.sequence = (s.sequence + 1) & 0xFFFF
        s.packet = 0
        return True

    def _forget_loops(self) -> None:
        if len(self._loops) > 2:
            oldest = min((s.loop for s in self.sending), default=0)
            for k in [k for k in self._loops if k < oldest]:
                del self._loops[k]

    def snapshot(self) -> dict[str, Any]:
        return {
            "time": time.time(),
            "late_max_s": self.late_max_s,
            "late_bursts": self.bursts,
            "loops_cached": len(self._loops),
            "sessions": [s.snapshot() for s in self.sessions.values()],
        }


async def control_socket(devices: Devices, path: Path) -> asyncio.Server:
    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while line := await reader.readline():
                try:
                    request = json.loads(line)
                except ValueError:
                    request = None
                if not isinstance(request, dict):
                    reply: dict[str, Any] = {"ok": False, "reason": "bad_request", "detail": "?"}
                elif request.get("op") == "bye":
                    devices.bye(str(request.get("call", "")))
                    reply = {"ok": True}
                else:
                    reply = devices.invite(request)
                writer.write(json.dumps(reply).encode() + b"\n")
                await writer.drain()
        writer.close()

    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    server = await asyncio.start_unix_server(client, path=str(path))
    os.chmod(path, 0o600)
    return server


async def control(devices: Devices) -> None:
    """Commands on standard input; ``ok`` on standard output."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        cmd, _, arg = line.decode().strip().partition(" ")
        if cmd == "stats":
            tmp = Path(arg + ".part")
            tmp.write_text(json.dumps(devices.snapshot()))
            tmp.replace(arg)
            print("ok", flush=True)
        elif cmd == "freeze":
            print(f"ok {devices.freeze(arg)}", flush=True)
        elif cmd == "close":
            print(f"ok {devices.close(arg)}", flush=True)
        elif cmd == "mark":
            devices.late_max_s, devices.bursts = 0.0, 0
            print("ok", flush=True)
        elif cmd:
            print(f"error unknown command {cmd}", flush=True)
    os._exit(0)  # standard input closed: the parent is gone


async def serve(args: argparse.Namespace) -> None:
    if args.nice:
        os.setpriority(os.PRIO_PROCESS, 0, args.nice)  # negative: needs root
    devices = Devices(gb_ps_clip.load(args.ps, args.fps), args.prefix, args.tick)
    devices.templates(0)
    server = await control_socket(devices, args.socket)
    print(f"ready {args.socket}", flush=True)
    tasks = [asyncio.create_task(devices.run())]
    if args.control:
        tasks.append(asyncio.create_task(control(devices)))
    async with server:
        await asyncio.gather(*tasks)


def main(argv: list[str]) -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--ps", type=Path, required=True, help="MPEG-1 program stream (ffmpeg -f mpeg)")
    p.add_argument("--socket", type=Path, required=True, help="<data-dir>/run/gb-media.sock")
    p.add_argument("--prefix", default="/gb", help="statistics path prefix")
    p.add_argument("--fps", type=int, default=25)
    p.add_argument("--tick", type=float, default=0.005, help="pacing loop period (s)")
    p.add_argument("--nice", type=int, default=0, help="scheduling priority (-20..19)")
    p.add_argument("--control", action="store_true", help="take commands on standard input")
    asyncio.run(serve(p.parse_args(argv)))


if __name__ == "__main__":
    main(sys.argv[1:])
