"""One camera recorded by PyAV: RTSP over TCP demuxed and re-muxed, by stream copy, into
fragmented MP4 segments, the same files ffmpeg's segment muxer writes (see
docs/design/recording.md, "Engines").

A session runs in a thread of a recording shard (``custos.recorder.shard``), next to 100–200
others; everything blocking (connect, read, write) runs in FFmpeg without the GIL. What it sees
it reports through :class:`SessionEvents`; it never logs or reports the URL (it holds the
camera's password).

Pitfalls this module exists to handle (each measured while choosing the design):

- PyAV's read time-out is never used: its interrupt callback takes the GIL on every check of
  every read (measured: 4–5× the CPU). FFmpeg's own ``timeout`` option (µs, on the socket)
  bounds every read; the recorder's watchdog does the rest, and a session asked to stop while
  FFmpeg waits on a socket that only carries RTCP is freed by ``blocked_read``. Only the *open* is bounded by PyAV
  (``timeout=(open_s, None)``): a peer that sends junk without end never fails a socket
  time-out, and the callback is cheap while nothing else runs (it is dropped once open).
- The first packet of an RTSP connection often has no timestamp and is often the keyframe: it is
  kept and given one just before the next packet's.
- A repeated or backwards timestamp (parameter sets sent as their own packet) is bumped one tick
  past the last, never handed to the muxer to fail on; a jump back of more than a second (the
  camera's clock was reset) shifts the rest of the run to go on a frame after the last.
- One bad packet is dropped; a camera stops only after many in a row.
"""

from __future__ import annotations

import errno
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

import av
import av.error

from custos.adapters.media import blocked_read
from custos.adapters.media.ffmpeg_segmenter import (
    END_OF_STREAM,
    FLUSH_EACH_FRAGMENT,
    FRAGMENTED_MP4,
    InputVideo,
    ListedSegment,
)
from custos.adapters.media.live_tap import LiveTap, codec_string
from custos.adapters.media.live_tap_server import serve_live_tap
from custos.domain.recording import RECORDABLE_CODECS

#: Messages the parent classifies like ffmpeg's own log lines (``classify_exit``).
NO_VIDEO = "input has no video stream"
NO_SPACE = "No space left on device"
BAD_PACKETS_IN_A_ROW = 100  # then the stream is broken, not one packet

_URL = re.compile(r"[a-z][a-z0-9+.-]*://\S*", re.IGNORECASE)


def redact(text: str) -> str:
    """An error message with every URL (and so every password) replaced by ``<stream>``."""
    return _URL.sub("<stream>", text).replace("'<stream>'", "<stream>")[:200]


@dataclass(frozen=True)
class SessionSpec:
    url: str  # with credentials: never log it
    run_dir: Path
    segment_seconds: int
    io_timeout_s: float
    open_timeout_s: float = 10.0
    #: the demuxer, when the source does not say (``mpeg`` for a GB/T 28181 relay on tcp://)
    input_format: str | None = None
    #: where viewers attach to the session's live tap (docs/design/live.md); None: no tap
    live_socket: Path | None = None


class SessionEvents(Protocol):
    def described(self, streams: list[str], video: InputVideo | None) -> None: ...

    def opened(self, sequence: int) -> None: ...

    def finished(self, segment: ListedSegment) -> None: ...

    def said(self, line: str) -> None: ...


class TimestampMender:
    """Makes one run's decode timestamps strictly increasing, in the input's time base.

    ``mend(pts, dts)`` returns the (pts, dts) to mux, or None while the first packet waits for
    the next one to learn its time (``first_before`` then gives it). A small step back (a
    repeated time, parameter sets sent as their own packet) is bumped one tick past the last;
    a jump back of more than ``jump_ticks`` (the camera's clock was reset) is a discontinuity:
    from there on every time is shifted so that the run goes on one frame after the last."""

    def __init__(self, frame_ticks: int, jump_ticks: int | None = None) -> None:
        self._step = max(1, frame_ticks)
        self._jump = jump_ticks if jump_ticks is not None else 25 * self._step
        self._shift = 0
        self.last_dts: int | None = None
        self.bumped = 0
        self.discontinuities = 0

    def first_before(self, next_dts: int) -> int:
        """The time for a first packet that came without one: a frame before the next."""
        return next_dts - self._step

    def mend(self, pts: int | None, dts: int | None) -> tuple[int, int] | None:
        if dts is None:
            dts = pts
        if dts is None:
            if self.last_dts is None:
                return None
            dts = self.last_dts + self._step
            pts = dts
        else:
            dts += self._shift
            pts = pts + self._shift if pts is not None else None
        last = self.last_dts
        if last is not None and dts <= last:
            if last - dts > self._jump:
                moved = last + self._step - dts
                self._shift += moved
                self.discontinuities += 1
                pts = pts + moved if pts is not None else None
                dts += moved
            else:
                dts = last + 1
                self.bumped += 1
        if pts is None or pts < dts:
            pts = dts
        self.last_dts = dts
        return pts, dts


def frame_ticks(rate: Fraction | None, time_base: Fraction | None) -> int:
    """One frame period in ticks of ``time_base`` (1 if either is unknown)."""
    if not rate or not time_base:
        return 1
    return max(1, round(1 / (rate * time_base)))


def is_demuxer_name(text: str) -> bool:
    """A short word such as ``mpeg`` or ``rtp_mpegts``: never a path, a URL or options."""
    return 0 < len(text) <= 32 and text.isascii() and text.replace("_", "").isalnum()


def input_options(url: str, io_timeout_s: float) -> dict[str, str]:
    """FFmpeg's input options: the socket time-out (µs, for RTSP and plain TCP alike), and RTSP
    over TCP for an RTSP source only."""
    options = {"timeout": str(int(io_timeout_s * 1_000_000))}
    if url.lower().startswith(("rtsp:", "rtsps:")):
        options["rtsp_transport"] = "tcp"
    return options


def mended(packets: Iterable[Any], mender: TimestampMender) -> Iterator[list[tuple[Any, int, int]]]:
    """For each packet read, what to write now with its mended (pts, dts): itself; nothing
    for a flush marker (size 0) or for a first packet without a time, which comes with the
    next one (a frame before it). Used by the recording and by the wall's pulled streams."""
    pending: Any = None
    for packet in packets:
        if not packet.size:
            yield []
            continue
        times = mender.mend(packet.pts, packet.dts)
        if times is None:
            pending = packet
            yield []
            continue
        timed: list[tuple[Any, int, int]] = []
        if pending is not None:
            first = mender.first_before(times[1])
            timed.append((pending, first, first))
            pending = None
        timed.append((packet, times[0], times[1]))
        yield timed


class SegmentingSession:
    """Record one connection until it ends or :meth:`stop` is called."""

    def __init__(self, spec: SessionSpec, events: SessionEvents) -> None:
        self._spec = spec
        self._events = events
        self._stopping = False
        self._thread_id: int | None = None
        self.frames = 0  # packets written; read by the shard's tick
        self._in_a_row = 0
        self._tap: LiveTap | None = None

    def stop(self) -> None:
        """End after the packet in hand (or FFmpeg's socket time-out): the segment is closed
        with its last fragment and reported."""
        self._stopping = True

    def unblock(self) -> int:
        """After :meth:`stop`, if the session still waits inside FFmpeg on a socket that sends
        nothing useful (RTCP only, or junk without end): shut that socket down, so the read
        ends as at the end of a stream. How many sockets were shut down."""
        if not self._stopping or self._thread_id is None:
            return 0
        return blocked_read.unblock(self._thread_id)

    def run(self) -> None:
        self._thread_id = threading.get_native_id()
        try:
            container = av.open(
                self._spec.url,
                format=self._spec.input_format,
                options=input_options(self._spec.url, self._spec.io_timeout_s),
                timeout=(self._spec.open_timeout_s, None),
            )
        except Exception as exc:  # the session's boundary: the reason goes to the parent
            self._events.said(describe_error(exc))
            return
        try:
            self._record(container)
        finally:
            container.close()

    def _record(self, container: Any) -> None:
        streams = [f"{s.type} {s.codec_context.name}" for s in container.streams]
        videos = list(container.streams.video)
        video = videos[0] if videos else None
        described = (
            InputVideo(
                video.codec_context.name, video.codec_context.width, video.codec_context.height
            )
            if video is not None
            else None
        )
        self._events.described(streams, described)
        if video is None:
            self._events.said(NO_VIDEO)
            return
        if described is not None and described.codec not in RECORDABLE_CODECS:
            self._events.said(
                f"video codec {described.codec} is not recorded (H.264 and H.265 only)"
            )
            return
        if self._stopping:
            return
        ticks = frame_ticks(video.guessed_rate, video.time_base)
        writer = _SegmentWriter(self._spec, self._events, video, ticks)
        server = None
        if self._spec.live_socket is not None:
            self._tap = LiveTap(video, codec_string(video))
            server = serve_live_tap(self._tap, self._spec.live_socket)
        try:
            self._pump(container, video, writer, TimestampMender(ticks))
        finally:
            try:
                writer.close()
            finally:  # the viewers' end of file, whatever closing the segment met
                if self._tap is not None:
                    self._tap.close()
                if server is not None:
                    server.close()

    def _pump(
        self, container: Any, video: Any, writer: _SegmentWriter, mender: TimestampMender
    ) -> None:
        for timed in mended(_packets(container, video, self._events), mender):
            for packet, pts, dts in timed:
                if not self._write(writer, packet, pts, dts):
                    return
            # Checked after the write: the packet in hand (at the end of a stream, the one
            # the parser held back) is never dropped.
            if self._stopping:
                return

    def _write(self, writer: _SegmentWriter, packet: Any, pts: int, dts: int) -> bool:
        """Write one packet; False when the session must end (the reason is reported)."""
        try:
            writer.write(packet, pts, dts)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                self._events.said(NO_SPACE)
                return False
            raise
        except (av.error.FFmpegError, ValueError) as exc:
            self._in_a_row += 1
            if self._in_a_row >= BAD_PACKETS_IN_A_ROW:
                self._events.said(f"{self._in_a_row} packets in a row refused: {redact(str(exc))}")
                return False
            return True
        self._in_a_row = 0
        self.frames += 1
        if self._tap is not None:  # after the segment has it; never raises
            self._tap.packet(packet, pts, dts)
        return True


def _packets(container: Any, video: Any, events: SessionEvents) -> Iterator[Any]:
    """The video stream's packets until the stream ends; a read error is reported, then ends,
    and so is the end of the stream (FFmpeg's end of file, which PyAV does not raise)."""
    try:
        yield from container.demux(video)
    except Exception as exc:  # the read's boundary: the reason goes to the parent
        events.said(describe_error(exc))
        return
    events.said(END_OF_STREAM)


class _SegmentWriter:
    """Cuts at the first keyframe at or after each multiple of the segment length (counted from
    the run's first packet, as ffmpeg's segment muxer does); each file's time starts at 0."""

    def __init__(
        self, spec: SessionSpec, events: SessionEvents, video: Any, frame_ticks: int
    ) -> None:
        self._spec = spec
        self._frame_ticks = frame_ticks
        self._events = events
        self._video = video
        self._out: Any = None
        self._stream: Any = None
        self._sequence = -1
        self._tb = float(video.time_base)
        self._origin: int | None = None  # the run's first dts
        self._base = 0  # the segment's first dts
        self._start_s = 0.0
        self._last_s = 0.0
        self._next_cut_s = float(spec.segment_seconds)

    def write(self, packet: Any, pts: int, dts: int) -> None:
        """Write one packet with these (mended) times, in the input's time base."""
        if self._origin is None:
            self._origin = dts
        at_s = (dts - self._origin) * self._tb
        if self._out is not None and at_s >= self._next_cut_s and packet.is_keyframe:
            self._finish(at_s)
            while self._next_cut_s <= at_s:
                self._next_cut_s += self._spec.segment_seconds
        if self._out is None:
            if self._sequence < 0 and not packet.is_keyframe:
                return  # nothing decodable before the first keyframe
            self._open(dts, at_s)
        packet.pts = pts - self._base
        packet.dts = dts - self._base
        packet.stream = self._stream
        self._out.mux(packet)
        self._last_s = at_s + (packet.duration or self._frame_ticks) * self._tb

    def _open(self, dts: int, at_s: float) -> None:
        self._sequence += 1
        self._spec.run_dir.mkdir(parents=True, exist_ok=True)
        path = self._spec.run_dir / f"{self._sequence:06d}.mp4"
        self._out = av.open(
            str(path), "w", format="mp4", options=dict(_option(o) for o in RECORDING_OPTIONS)
        )
        self._stream = self._out.add_stream_from_template(self._video)
        self._base, self._start_s = dts, at_s
        self._events.opened(self._sequence)

    def _finish(self, end_s: float) -> None:
        out, self._out = self._out, None
        out.close()
        name = f"{self._sequence:06d}.mp4"
        self._events.finished(ListedSegment(name, self._start_s, max(end_s, self._start_s)))

    def close(self) -> None:
        if self._out is not None:
            self._finish(self._last_s)


#: The muxer's options, as the ffmpeg engine gives them (``-segment_format_options``).
RECORDING_OPTIONS = (FRAGMENTED_MP4, FLUSH_EACH_FRAGMENT)


def _option(text: str) -> tuple[str, str]:
    key, _, value = text.partition("=")
    return key, value


def describe_error(exc: BaseException) -> str:
    """An exception as one log line ffmpeg's classifier understands, without the URL."""
    if isinstance(exc, av.error.FFmpegError):
        text = exc.strerror or str(exc)
    elif isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror
    else:
        text = str(exc) or type(exc).__name__
    return redact(text)
