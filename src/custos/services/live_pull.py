"""A camera stream the recorder does not record (a sub stream), pulled on demand for the duty
wall (docs/design/live.md, section 2).

One connection per camera and stream, shared by everyone watching it: the first viewer opens
it, the others attach to the same tap, and it is closed :data:`LINGER_S` after the last viewer
left (a wall switching layouts, or a tour coming back to the camera, finds it still open). The
connection itself (PyAV reading RTSP over TCP in a thread of its own, each packet handed to a
``LiveTap`` that muxes frame-level fragmented MP4) is an adapter, given here as a
:data:`PullOpener`; this module only counts viewers and closes what nobody watches.

The stream URL holds the camera's password: it is handed to the opener and never logged (a
reason for a failed connection comes from the opener, already free of the URL).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

log = logging.getLogger(__name__)

LINGER_S = 10.0  # a pull nobody watches is closed this long after the last viewer left


class PullFailedError(Exception):
    """The camera could not be reached or read; the message names why, never the URL."""


class TapSubscription(Protocol):
    """One viewer's queue on a tap: init boxes, then whole ``moof`` + ``mdat`` fragments."""

    @property
    def dropped(self) -> int:
        """Fragments this subscriber lost (its queue was full) so far."""
        ...

    def get(self, timeout: float) -> bytes | None:
        """The next bytes; ``b""`` when none came within ``timeout``; None once closed (the
        connection ended)."""
        ...

    def close(self) -> None: ...


class PulledStream(Protocol):
    """An open pull: connects (and reconnects after a break) in a thread of its own."""

    def subscribe(self, max_bytes: int, timeout: float) -> TapSubscription:
        """A new subscriber of the current connection's tap, waiting up to ``timeout`` for it
        to connect; :class:`PullFailedError` (with the reason) when it does not."""
        ...

    def close(self) -> None:
        """End the connection and every subscriber (they read None)."""
        ...


#: Starts pulling ``url`` (returns at once; the connection is made in the pull's thread).
PullOpener = Callable[[str, str], PulledStream]  # (url, what: "camera 3 sub" for logs)


@dataclass
class _Shared:
    stream: PulledStream
    viewers: int = 0
    closing: threading.Timer | None = field(default=None, repr=False)


class LivePulls:
    """The open pulls of this web server, by camera and stream name."""

    def __init__(self, opener: PullOpener, linger_s: float = LINGER_S) -> None:
        self._opener = opener
        self._linger_s = linger_s
        self._lock = threading.Lock()
        self._open: dict[tuple[int, str], _Shared] = {}

    def attach(self, camera_id: int, name: str, url: str) -> PullLease:
        """A viewer of the camera's ``name`` stream (``url``, with its credentials): the open
        pull, or a new one. Release the lease when the viewer leaves."""
        key = (camera_id, name)
        with self._lock:
            shared = self._open.get(key)
            if shared is None:
                shared = _Shared(self._opener(url, f"camera {camera_id} {name}"))
                self._open[key] = shared
                log.info("live pull of camera %s (%s stream) opened", camera_id, name)
            if shared.closing is not None:
                shared.closing.cancel()
                shared.closing = None
            shared.viewers += 1
        return PullLease(self, key, shared)

    def open_count(self) -> int:
        """How many pulls are open now (a lingering one included)."""
        with self._lock:
            return len(self._open)

    def close_all(self) -> None:
        """The server stops: every pull ends now."""
        with self._lock:
            shared = list(self._open.values())
            self._open.clear()
        for s in shared:
            if s.closing is not None:
                s.closing.cancel()
            s.stream.close()

    def _release(self, key: tuple[int, str], shared: _Shared) -> None:
        with self._lock:
            shared.viewers -= 1
            if shared.viewers > 0 or self._open.get(key) is not shared:
                return
            timer = threading.Timer(self._linger_s, self._close_unwatched, (key, shared))
            timer.daemon = True
            shared.closing = timer
            timer.start()

    def _close_unwatched(self, key: tuple[int, str], shared: _Shared) -> None:
        with self._lock:
            if shared.viewers > 0 or self._open.get(key) is not shared:
                return
            del self._open[key]
        shared.stream.close()
        log.info("live pull of camera %s (%s stream) closed: nobody watches", *key)


class PullLease:
    """One viewer's hold on a shared pull."""

    def __init__(self, pulls: LivePulls, key: tuple[int, str], shared: _Shared) -> None:
        self._pulls = pulls
        self._key = key
        self._shared = shared
        self._released = False

    def subscribe(self, max_bytes: int, timeout: float) -> TapSubscription:
        return self._shared.stream.subscribe(max_bytes, timeout)

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._pulls._release(self._key, self._shared)
