"""What one recording run has said so far: the input's codec, segments opened and closed, frames,
its log tail. Fed from ffmpeg's standard error (``feed``) or from a recording shard's events
(``describe``, ``progress``, ``opened``, ``closed``, ``said``)."""

from __future__ import annotations

import threading
import time
from collections import deque
from datetime import datetime

from custos.adapters.media.ffmpeg_segmenter import (
    InputVideo,
    parse_input_stream,
    parse_input_video,
    parse_opening,
    parse_progress,
)
from custos.domain.clock import Clock

LOG_TAIL_LINES = 40


class RunState:
    """Fed by one thread (ffmpeg's log reader, or a shard's event reader), read by others."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.started_at = clock.now()  # before the engine starts: no frame of the run is older
        self._cond = threading.Condition()
        self.video: InputVideo | None = None
        self.input_streams: list[str] = []  # "video hevc", "audio opus", … as ffmpeg lists them
        self._output_listed = False
        self.opened_sequence = -1
        self.closed_sequence = -1
        self.exited = False
        self.log_tail: deque[str] = deque(maxlen=LOG_TAIL_LINES)
        self.frames = 0
        self.fps: float | None = None
        self.last_frame_at: datetime | None = None
        self.last_advance = time.monotonic()
        self._block: dict[str, str] = {}
        self._last_block: tuple[float, int] | None = None

    def feed(self, line: str) -> None:
        kv = parse_progress(line)
        if kv is not None:
            self._block[kv[0]] = kv[1]
            if kv[0] == "progress":
                self._end_block()
            return
        self.log_tail.append(line.rstrip())
        if line.startswith("Output #"):
            self._output_listed = True
        if not self._output_listed:
            if self.video is None:
                self.video = parse_input_video(line)
                if self.video is not None:
                    self._media_expected()
            stream = parse_input_stream(line)
            if stream is not None:
                self.input_streams.append(stream)
        opened = parse_opening(line)
        if opened is not None:
            self.opened(opened)

    # ---- a recording shard's events ----------------------------------------------------------
    def describe(self, streams: list[str], video: InputVideo | None) -> None:
        self.input_streams = list(streams)
        self.video = video
        if video is not None:
            self._media_expected()

    def _media_expected(self) -> None:
        """The input is described: the stall clock starts again from here. Connecting (RTSP
        set-up, probing) has its own limit (the watchdog's, counted from the run's start, while
        nothing is described); on a saturated machine it can take most of it, and the first
        frames must then still get their full allowance."""
        if self.frames == 0:
            self.last_advance = time.monotonic()

    def said(self, line: str) -> None:
        self.log_tail.append(line)

    def opened(self, sequence: int) -> None:
        with self._cond:
            self.opened_sequence = max(self.opened_sequence, sequence)
            self._cond.notify_all()

    def closed(self, sequence: int) -> None:
        with self._cond:
            self.closed_sequence = max(self.closed_sequence, sequence)
            self._cond.notify_all()

    def _end_block(self) -> None:
        try:
            frames = int(self._block.get("frame", "0"))
        except ValueError:
            frames = self.frames
        self.progress(frames)
        self._block.clear()

    def progress(self, frames: int) -> None:
        """The run's frame count so far (ffmpeg's progress block, or a shard's tick)."""
        now = time.monotonic()
        if self._last_block is not None and now > self._last_block[0]:
            self.fps = (frames - self._last_block[1]) / (now - self._last_block[0])
        self._last_block = (now, frames)
        if frames > self.frames:
            self.frames = frames
            self.last_advance = now
            self.last_frame_at = self._clock.now()

    def mark_exited(self) -> None:
        with self._cond:
            self.exited = True
            self._cond.notify_all()

    def wait_closed(self, sequence: int, timeout_s: float) -> bool:
        """Wait until segment ``sequence`` is closed (a later one was opened, the writer said
        so, or it exited)."""
        with self._cond:
            return self._cond.wait_for(
                lambda: (
                    self.opened_sequence > sequence
                    or self.closed_sequence >= sequence
                    or self.exited
                ),
                timeout_s,
            )

    def stalled_for(self) -> float:
        return time.monotonic() - self.last_advance
