"""A camera stream pulled by the web server for the duty wall (``services/live_pull.py``): PyAV
reads it (RTSP over TCP, FFmpeg's socket time-out on every read) in a thread of its own and
hands each packet to a :class:`~custos.adapters.media.live_tap.LiveTap`, as a recording session
does, so a viewer gets the same frame-level fragmented MP4 as from the recorder's tap.

The thread reconnects after a break (one second, doubling to :data:`RETRY_MAX_S`) until the
pull is closed; each connection has its own tap, so its subscribers read the end (None) when it
breaks and subscribe again. Errors are reported without the URL (it holds the password).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import av

from custos.adapters.media import blocked_read
from custos.adapters.media.live_tap import LiveTap, Subscription, codec_string
from custos.adapters.media.pyav_segmenter import (
    TimestampMender,
    describe_error,
    frame_ticks,
    input_options,
    mended,
)
from custos.services.live_pull import PullFailedError

log = logging.getLogger(__name__)

IO_TIMEOUT_S = 5.0  # one read from the camera (FFmpeg's socket time-out)
OPEN_TIMEOUT_S = 10.0
RETRY_MAX_S = 10.0


class PyAvPull:
    """One camera stream, pulled until :meth:`close` (see the module's doc)."""

    def __init__(
        self,
        url: str,
        what: str,
        io_timeout_s: float = IO_TIMEOUT_S,
        open_timeout_s: float = OPEN_TIMEOUT_S,
    ) -> None:
        self._url = url
        self._what = what  # "camera 3 sub": for the log, never the URL
        self._io_timeout_s = io_timeout_s
        self._open_timeout_s = open_timeout_s
        self._cond = threading.Condition()
        self._tap: LiveTap | None = None
        self._error: str | None = None  # why the last connection failed or ended
        self._failures = 0  # connections failed or ended so far
        self._closed = False
        self._thread_id: int | None = None
        self._thread = threading.Thread(target=self._run, name=f"live-pull {what}", daemon=True)
        self._thread.start()

    def subscribe(self, max_bytes: int, timeout: float) -> Subscription:
        """A subscriber of the current connection; :class:`PullFailedError` when there is none
        within ``timeout`` (the reason of the last failure, if any)."""
        with self._cond:
            failures = self._failures
            if self._tap is None and not self._closed:
                self._cond.wait_for(
                    lambda: self._tap is not None or self._closed or self._failures > failures,
                    timeout,
                )
            if self._tap is None:
                raise PullFailedError(self._error or "the camera did not answer in time")
            return self._tap.subscribe(max_bytes)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            tap, self._tap = self._tap, None
            self._cond.notify_all()
        if tap is not None:
            tap.close()
        if self._thread_id is not None:
            blocked_read.unblock(self._thread_id)  # a read that waits on a silent camera

    # ---- the pull's thread ----------------------------------------------------------------------
    def _run(self) -> None:
        self._thread_id = threading.get_native_id()
        pause = 1.0
        while not self._closed:
            if self._connect_once():
                pause = 1.0
            with self._cond:
                self._cond.wait_for(lambda: self._closed, pause)
            pause = min(RETRY_MAX_S, pause * 2)

    def _connect_once(self) -> bool:
        """One connection, read until it ends; whether any packet came."""
        try:
            container = av.open(
                self._url,
                options=input_options(self._url, self._io_timeout_s),
                timeout=(self._open_timeout_s, None),
            )
        except Exception as exc:  # the connection's boundary: the reason, without the URL
            self._ended(describe_error(exc))
            return False
        try:
            return self._read(container)
        except Exception as exc:  # a read error ends this connection, not the pull
            self._ended(describe_error(exc))
            return True
        finally:
            container.close()

    def _read(self, container: Any) -> bool:
        videos = list(container.streams.video)
        if not videos:
            self._ended("the stream has no video")
            return False
        video = videos[0]
        tap = LiveTap(video, codec_string(video))
        with self._cond:
            if self._closed:
                tap.close()
                return False
            self._tap, self._error = tap, None
            self._cond.notify_all()
        log.info("live pull of %s connected", self._what)
        mender = TimestampMender(frame_ticks(video.guessed_rate, video.time_base))
        got = False
        for timed in mended(container.demux(video), mender):
            if self._closed:
                break
            for packet, pts, dts in timed:
                tap.packet(packet, pts, dts)
                got = True
        self._ended("the stream ended")
        return got

    def _ended(self, reason: str) -> None:
        with self._cond:
            tap, self._tap = self._tap, None
            self._error = reason
            self._failures += 1
            self._cond.notify_all()  # a viewer waiting for the connection hears why at once
        if tap is not None:
            tap.close()
        if not self._closed:
            log.info("live pull of %s: %s", self._what, reason)


def open_pull(url: str, what: str) -> PyAvPull:
    """The :data:`~custos.services.live_pull.PullOpener` the web server is given."""
    return PyAvPull(url, what)
