"""Sending a camera's video to an upper platform as GB/T 28181 media: MPEG-PS in RTP.

``ffmpeg -c copy -f vob`` (stream copy, never a re-encode; the ``*_mp4toannexb`` bit-stream
filter turns the MP4's length-prefixed NAL units into the start codes PS carries, H.264 and
H.265 alike) remuxes the recorder's fragmented MP4 into an MPEG-2 program stream on its standard
output. ``vob`` rather than ``mpeg``: FFmpeg's ``mpeg`` muxer writes MPEG-1 packs with a pack
header only every few packets, and a packetizer that cuts at pack headers then holds the first
packets back (≈ 1 s of a playback read in real time); ``vob`` is MPEG-2 (what GB/T 28181 names)
with a pack header before every packet;
:class:`~custos.adapters.media.rtp.PsPacketizer` cuts it into RTP packets with the platform's
SSRC (with a program stream map before each key frame and the video numbered 0xE0, as devices
send it: :mod:`custos.adapters.media.ps_map`), sent over UDP, or over TCP with RFC 4571 framing (we connect, or we listen: the answer's
``a=setup``). The first packet leaves as soon as ffmpeg has written its second pack.

Two sources:

- **live** (:class:`LiveSource`): the camera's segment being recorded, tailed from its latest
  complete fragment (a keyframe) and fed to ffmpeg's standard input as it grows (never a second
  session to the camera). When the recorder starts the next file, ffmpeg is started again on it
  with ``-output_ts_offset`` past the last timestamp sent, so the RTP timestamps and sequence
  numbers go on without a step back;
- **playback** (:class:`PlaybackSource`): sealed segments through the concat demuxer, the first
  entered at the range's start (``inpoint``), the last left at its end (``outpoint``), read in
  real time (``-re``).

Every ffmpeg dies with the thread that started it (``PR_SET_PDEATHSIG``), which is the session's
own, and :meth:`PsSender.stop` ends it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol

from custos.adapters.child_process import dies_with_parent
from custos.adapters.media.ps_map import PsmInserter
from custos.adapters.media.rtp import PsPacketizer, frame
from custos.domain.gb_sdp import Transport
from custos.services.live_tail import SegmentTail, first_tail, newest_segment

log = logging.getLogger(__name__)

POLL_S = 0.04
CONNECT_TIMEOUT_S = 10.0
FRAME_S = 0.04  # the step left between two ffmpeg runs of one live view
BURST_PACKETS = 16  # over UDP, a pause after this many packets of one read …
BURST_PAUSE_S = 0.001  # … so that a live view's first GOP does not overrun the receiver
_BSF = {"h264": "h264_mp4toannexb", "hevc": "hevc_mp4toannexb"}

#: Called once when a sender ends by itself (ffmpeg failed, the peer went away): the reason.
OnEnd = Callable[[str], None]


def codec_name(codec: str | None) -> str | None:
    """``h264`` or ``hevc`` from an RFC 6381 string (``avc1.…``, ``hvc1.…``) or a codec name."""
    low = (codec or "").lower()
    if low.startswith(("avc", "h264")):
        return "h264"
    if low.startswith(("hev", "hvc", "hevc", "h265")):
        return "hevc"
    return None


class MediaChannel:
    """Where the RTP goes: a UDP socket, or a TCP connection we make (``tcp-active``) or take
    (``tcp-passive``: we listen). Made when the INVITE is answered (its port is in our SDP);
    the TCP connection itself when sending starts."""

    def __init__(self, bind_host: str, peer: tuple[str, int], transport: Transport) -> None:
        self.transport = transport
        self._peer = peer
        kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
        self._sock = socket.socket(socket.AF_INET, kind)
        self._conn: socket.socket | None = None
        self.dropped = 0  # UDP packets the kernel refused
        try:
            if transport != "udp":
                self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._sock.bind((bind_host, 0))
            if transport == "tcp-passive":
                self._sock.listen(1)
        except OSError:
            self._sock.close()
            raise
        self.port: int = self._sock.getsockname()[1]

    def open(self, stop: threading.Event, timeout_s: float | None = None) -> None:
        """Connect (UDP: fix the peer; tcp-active: connect; tcp-passive: wait for the platform
        to connect from its address), within :data:`CONNECT_TIMEOUT_S` by default. Raises
        :class:`OSError` when it cannot."""
        timeout_s = CONNECT_TIMEOUT_S if timeout_s is None else timeout_s
        if self.transport == "udp":
            self._sock.connect(self._peer)
            self._conn = self._sock
        elif self.transport == "tcp-active":
            self._sock.settimeout(timeout_s)
            self._sock.connect(self._peer)
            self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._conn = self._sock
        else:
            self._accept(stop, timeout_s)

    def _accept(self, stop: threading.Event, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        self._sock.settimeout(0.2)
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                conn, addr = self._sock.accept()
            except TimeoutError:
                continue
            if addr[0] != self._peer[0]:
                log.warning("upward media: connection from %s refused (not the platform)", addr[0])
                conn.close()
                continue
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._conn = conn
            return
        raise TimeoutError("the upper platform did not connect to our media port")

    def send(self, packet: bytes) -> None:
        if self._conn is None:
            raise OSError("media channel not open")
        if self.transport == "udp":
            try:
                self._conn.send(packet)
            except OSError:  # ICMP unreachable from an idle port, a full queue: a lost packet
                self.dropped += 1
        else:
            self._conn.sendall(frame(packet))

    def close(self) -> None:
        if self._conn is not None and self._conn is not self._sock:
            self._conn.close()
        self._sock.close()


@dataclass
class FfmpegRun:
    """One ffmpeg: its input options, and what feeds its standard input (None: no stdin)."""

    input_args: list[str]
    codec: str  # h264 or hevc
    feed: Callable[[IO[bytes], threading.Event], None] | None = None


class PsSource(Protocol):
    def runs(self, stop: threading.Event) -> Iterator[FfmpegRun]:
        """The ffmpeg runs that make the stream, one after the other."""
        ...

    def close(self) -> None: ...


class LiveSource:
    """The recorder's in-flight file of a camera, tailed; the next file in the next run."""

    def __init__(self, media_root: Path, camera_id: int, poll_s: float = POLL_S) -> None:
        self._root = media_root
        self._camera = camera_id
        self._poll = poll_s
        self._next: Path | None = None

    def runs(self, stop: threading.Event) -> Iterator[FfmpegRun]:
        tail = first_tail(self._root, self._camera)
        while tail is not None and not stop.is_set():
            codec = codec_name(tail.codec)
            if codec is None:
                log.warning("upward live: camera %s: codec %s not sent", self._camera, tail.codec)
                return
            self._next = None
            yield FfmpegRun(["-f", "mp4", "-i", "pipe:0"], codec, self._feeder(tail))
            tail = self._open_next(stop)

    def _feeder(self, tail: SegmentTail) -> Callable[[IO[bytes], threading.Event], None]:
        def feed(stdin: IO[bytes], stop: threading.Event) -> None:
            assert tail.init is not None
            stdin.write(tail.init)
            while not stop.is_set():
                chunk = tail.read_fragments()
                if chunk:
                    stdin.write(chunk)
                    stdin.flush()
                    continue
                newest = newest_segment(self._root, self._camera)
                if newest is not None and newest != tail.path:
                    stdin.write(tail.read_fragments())  # the old file is finished
                    self._next = newest
                    return
                stop.wait(self._poll)

        return feed

    def _open_next(self, stop: threading.Event) -> SegmentTail | None:
        if self._next is None:
            return None
        tail = SegmentTail(self._next)
        while not stop.is_set():
            if tail.read_init():
                return tail  # from its first fragment on
            stop.wait(self._poll)
        return None

    def close(self) -> None:
        return None


@dataclass(frozen=True)
class PlaybackFile:
    path: Path
    inpoint_s: float | None = None  # seconds into the file to start at
    outpoint_s: float | None = None  # seconds into the file to stop at


class PlaybackSource:
    """Sealed segments, concatenated and read in real time."""

    def __init__(self, files: list[PlaybackFile], codec: str, scratch: Path) -> None:
        if not files:
            raise ValueError("nothing to play back")
        self._files = files
        self._codec = codec
        scratch.mkdir(parents=True, exist_ok=True)
        self._dir = Path(tempfile.mkdtemp(prefix="upward-", dir=scratch))

    def runs(self, stop: threading.Event) -> Iterator[FfmpegRun]:
        listing = self._dir / "concat.txt"
        lines = ["ffconcat version 1.0"]
        for f in self._files:
            quoted = str(f.path).replace("'", "'\\''")
            lines.append(f"file '{quoted}'")
            if f.inpoint_s is not None:
                lines.append(f"inpoint {f.inpoint_s:.3f}")
            if f.outpoint_s is not None:
                lines.append(f"outpoint {f.outpoint_s:.3f}")
        listing.write_text("\n".join(lines) + "\n")
        yield FfmpegRun(["-re", "-f", "concat", "-safe", "0", "-i", str(listing)], self._codec)

    def close(self) -> None:
        for child in self._dir.glob("*"):
            child.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self._dir.rmdir()


@dataclass
class SenderStats:
    packets: int = 0
    bytes: int = 0
    first_packet_at: float | None = None  # monotonic
    errors: deque[str] = field(default_factory=lambda: deque(maxlen=5))


class PsSender:
    """One stream to one upper platform: ffmpeg → PS → RTP → the channel, on its own thread."""

    def __init__(
        self,
        channel: MediaChannel,
        ssrc: int,
        source: PsSource,
        on_end: OnEnd | None = None,
        ffmpeg: str = "ffmpeg",
    ) -> None:
        self._channel = channel
        self._source = source
        self._on_end = on_end
        self._ffmpeg = ffmpeg
        self._ssrc = ssrc
        self._packetizer: PsPacketizer | None = None  # made for the first run's codec
        self._stop = threading.Event()
        self._go = threading.Event()
        self._open = False
        self._proc: subprocess.Popen[bytes] | None = None
        self._thread = threading.Thread(target=self._run, name=f"gb-upward-{ssrc}", daemon=True)
        self.stats = SenderStats()
        self._last_timestamp = 0

    def start(self) -> None:
        """Start ffmpeg now (at the INVITE, so that its start-up overlaps the 200 and the ACK);
        nothing is sent before :meth:`go`."""
        self._thread.start()

    def go(self) -> None:
        """Send (at the ACK): the channel is opened and what ffmpeg has written goes out."""
        self._go.set()

    def stop(self, timeout_s: float = 5.0) -> None:
        """End the stream (idempotent): ffmpeg is killed, the channel closed."""
        self._stop.set()
        proc = self._proc
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGKILL)
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout_s)
        self._channel.close()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        reason = "ended"
        try:
            offset = 0.0
            for run in self._source.runs(self._stop):
                if self._stop.is_set():
                    break
                self._one_run(run, offset)
                offset = self._last_timestamp / 90_000 + FRAME_S
        except OSError as exc:
            reason = f"media channel: {exc}"
            log.info("upward media: %s", reason)
        finally:
            self._source.close()
            self._channel.close()
            if self._channel.dropped:
                log.info("upward media: %d UDP packets not sent", self._channel.dropped)
            if not self._stop.is_set() and self._on_end is not None:
                self._on_end(reason)

    def _argv(self, run: FfmpegRun, offset: float) -> list[str]:
        return [
            self._ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error",
            *run.input_args,
            "-map", "0:v:0", "-c", "copy", "-bsf:v", _BSF[run.codec],
            "-f", "vob", "-muxdelay", "0", "-muxpreload", "0", "-flush_packets", "1",
            "-output_ts_offset", f"{offset:.3f}", "pipe:1",
        ]  # fmt: skip

    def _one_run(self, run: FfmpegRun, offset: float) -> None:
        if self._packetizer is None:  # one for the whole stream: the numbering goes on
            first = int.from_bytes(os.urandom(2))
            self._packetizer = PsPacketizer(self._ssrc, first, psm=PsmInserter(run.codec))
        packetizer = self._packetizer
        proc = subprocess.Popen(  # noqa: S603 - our own argv
            self._argv(run, offset),
            stdin=subprocess.PIPE if run.feed else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            preexec_fn=dies_with_parent(signal.SIGKILL),
        )
        self._proc = proc
        helpers = [threading.Thread(target=self._drain, args=(proc,), daemon=True)]
        if run.feed is not None:
            helpers.append(threading.Thread(target=self._feed, args=(proc, run), daemon=True))
        for h in helpers:
            h.start()
        try:
            assert proc.stdout is not None
            fd = proc.stdout.fileno()
            while chunk := os.read(fd, 65_536):
                self._send(packetizer.feed(chunk))
            self._send(packetizer.flush())
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            for h in helpers:
                h.join(2.0)
            for pipe in (proc.stdout, proc.stderr):
                if pipe is not None:
                    pipe.close()
            if proc.returncode not in (0, -signal.SIGKILL) and not self._stop.is_set():
                log.warning("upward media: ffmpeg exited %s: %s", proc.returncode,
                            " | ".join(self.stats.errors))  # fmt: skip

    def _feed(self, proc: subprocess.Popen[bytes], run: FfmpegRun) -> None:
        assert proc.stdin is not None
        assert run.feed is not None
        try:
            run.feed(proc.stdin, self._stop)
        except (BrokenPipeError, ValueError, OSError):
            pass  # ffmpeg ended (or was killed): the run is over
        finally:
            with contextlib.suppress(OSError, ValueError):
                proc.stdin.close()

    def _drain(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stderr is not None
        for raw in proc.stderr:
            line = raw.decode(errors="replace").strip()
            if line and "buffer underflow" not in line:
                self.stats.errors.append(line[:200])

    def _send(self, packets: list[bytes]) -> None:
        if packets and not self._open:
            while not self._go.wait(0.05):
                if self._stop.is_set():
                    raise OSError("stopped before the ACK")
            self._channel.open(self._stop)
            self._open = True
        for n, packet in enumerate(packets, 1):
            self._channel.send(packet)
            if n % BURST_PACKETS == 0 and self._channel.transport == "udp":
                time.sleep(BURST_PAUSE_S)  # a GOP read at once leaves at ~20 MB/s, not at once
            if self.stats.first_packet_at is None:
                self.stats.first_packet_at = time.monotonic()
            self.stats.packets += 1
            self.stats.bytes += len(packet)
        if packets:
            self._last_timestamp = struct.unpack_from("!I", packets[-1], 4)[0]
