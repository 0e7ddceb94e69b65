"""A GB/T 28181 device's media side, for tests: real ffmpeg video as an MPEG program stream,
packetised to RTP (:class:`~custos.adapters.media.rtp.PsPacketizer`) and sent over UDP or TCP
(RFC 4571) to the recorder, with knobs to misbehave; and :class:`FakeSignalling`, a
:class:`~custos.domain.gb_media.MediaSignalling` whose INVITE starts such a sender.

Traffic stays on 127.0.0.1. ffmpeg must be installed (the tests fail, never skip, without it).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from custos.adapters.media.rtp import PsPacketizer, RtpPacket, frame
from custos.domain.gb_media import MediaAnswer, MediaOffer, MediaRefused, RefusalReason
from custos.domain.gb_sdp import Transport

SSRC_TEXT = "0200000001"


@dataclass(frozen=True)
class Knobs:
    """How the device sends. ``*_every`` of 0 means never."""

    codec: str = "libx264"  # or libx265
    reorder_every: int = 0  # swap every Nth packet with the next
    drop_every: int = 0  # leave out every Nth packet
    duplicate_every: int = 0  # send every Nth packet twice
    wrong_ssrc_every: int = 0  # after every Nth packet, one of another SSRC (its own stream)
    seconds: float | None = None  # stop after this much video (None: until stopped)
    first_sequence: int = 65000  # so that the numbering wraps within a few seconds


def ffmpeg_ps_command(codec: str, seconds: float | None) -> list[str]:
    if shutil.which("ffmpeg") is None:
        raise RuntimeError("ffmpeg is required for GB/T 28181 media tests: run scripts/setup")
    length = ["-t", f"{seconds:g}"] if seconds is not None else []
    encoder = ["-c:v", codec, "-g", "25", "-bf", "0"]
    encoder += ["-preset", "ultrafast"] + (
        ["-x265-params", "log-level=error"] if codec == "libx265" else ["-tune", "zerolatency"]
    )
    return [
        "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re",
        "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", *length,
        *encoder, "-f", "mpeg", "pipe:1",
    ]  # fmt: skip


class DeviceSender:
    """Sends one call's media; ``target`` is the recorder's address (udp, tcp-passive) and
    ``listen`` makes it wait for the recorder to connect (tcp-active)."""

    def __init__(self, transport: Transport, ssrc: int, knobs: Knobs) -> None:
        self.transport, self.ssrc, self.knobs = transport, ssrc, knobs
        self.sent = 0
        self.wrong_sent = 0
        self.dropped = 0
        self.error: str | None = None
        self._listener: socket.socket | None = None
        self._sock: socket.socket | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()
        if transport == "tcp-active":
            self._listener = socket.create_server(("127.0.0.1", 0))

    @property
    def listen_port(self) -> int:
        assert self._listener is not None
        return int(self._listener.getsockname()[1])

    def start(self, target: tuple[str, int]) -> None:
        self._proc = subprocess.Popen(
            ffmpeg_ps_command(self.knobs.codec, self.knobs.seconds),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
        )
        self._thread = threading.Thread(target=self._send, args=(target,), daemon=True)
        self._thread.start()

    def _connect(self, target: tuple[str, int]) -> socket.socket:
        if self.transport == "udp":
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.connect(target)
            return sock
        if self.transport == "tcp-passive":
            return socket.create_connection(target, timeout=5)
        assert self._listener is not None
        self._listener.settimeout(10)
        conn, _ = self._listener.accept()
        return conn

    def _send(self, target: tuple[str, int]) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        try:
            self._sock = self._connect(target)
            packetizer = PsPacketizer(self.ssrc, first_sequence=self.knobs.first_sequence)
            other = PsPacketizer(self.ssrc ^ 0x5A5A5A5A, first_sequence=0)
            counter = itertools.count(1)
            held: bytes | None = None
            while not self._stopped.is_set():
                chunk = os.read(self._proc.stdout.fileno(), 65536)
                packets = packetizer.feed(chunk) if chunk else packetizer.flush()
                wrong = iter(other.feed(chunk) if chunk else [])
                for packet in packets:
                    held = self._one(next(counter), packet, held, wrong)
                if not chunk:
                    break
            if held is not None:
                self._put(held)
        except OSError as e:
            if not self._stopped.is_set():
                self.error = str(e)

    def _one(
        self, n: int, packet: bytes, held: bytes | None, wrong: Iterator[bytes]
    ) -> bytes | None:
        k = self.knobs
        if k.drop_every and n % k.drop_every == 0:
            self.dropped += 1
            return held
        if k.reorder_every and n % k.reorder_every == 0 and held is None:
            return packet  # sent after the next one
        self._put(packet)
        if held is not None:
            self._put(held)
            held = None
        if k.duplicate_every and n % k.duplicate_every == 0:
            self._put(packet)
        if k.wrong_ssrc_every and n % k.wrong_ssrc_every == 0:
            foreign = next(wrong, None)
            if foreign is not None:
                self._put(foreign)
                self.wrong_sent += 1
        return held

    def _put(self, packet: bytes) -> None:
        assert self._sock is not None
        if self.transport == "udp":
            self._sock.send(packet)
        else:
            self._sock.sendall(frame(packet))
        if RtpPacket.parse(packet).ssrc == self.ssrc:
            self.sent += 1

    def vanish(self) -> None:
        """The device goes away mid-stream: no more packets, no goodbye (for TCP, its socket
        is closed — a device that lost power resets or times out; closing is the clean case)."""
        self._stopped.set()
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGKILL)
            self._proc.wait()
        if self._thread is not None:
            self._thread.join(5)
        for sock in (self._sock, self._listener):
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.close()
        if self._proc is not None and self._proc.stdout is not None:
            self._proc.stdout.close()

    stop = vanish

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None


@dataclass
class FakeSignalling:
    """The SIP server as the recorder sees it: each INVITE starts a :class:`DeviceSender` to the
    offered address (tcp-active: it listens, and answers its port); BYE stops it."""

    knobs: Knobs = field(default_factory=Knobs)
    refuse: tuple[RefusalReason, str] | None = None
    answer_ssrc: str = SSRC_TEXT
    invites: list[MediaOffer] = field(default_factory=list)
    byes: list[str] = field(default_factory=list)
    senders: dict[str, DeviceSender] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def invite(self, offer: MediaOffer, timeout_s: float) -> MediaAnswer:
        with self._lock:
            self.invites.append(offer)
            call_id = f"call-{len(self.invites)}@127.0.0.1"
        if self.refuse is not None:
            raise MediaRefused(*self.refuse)
        sender = DeviceSender(offer.transport, int(self.answer_ssrc), self.knobs)
        # tcp-active: where the recorder connects; else the device's own port, not used
        port = sender.listen_port if offer.transport == "tcp-active" else 40000
        sender.start((offer.ip, offer.port))
        with self._lock:
            self.senders[call_id] = sender
        return MediaAnswer(call_id, self.answer_ssrc, "127.0.0.1", port, offer.transport)

    def bye(self, call_id: str) -> None:
        with self._lock:
            self.byes.append(call_id)
            sender = self.senders.get(call_id)
        if sender is not None:
            sender.stop()

    def last_sender(self) -> DeviceSender:
        with self._lock:
            return list(self.senders.values())[-1]

    def close(self) -> None:
        for sender in list(self.senders.values()):
            sender.stop()
