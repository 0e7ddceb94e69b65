"""The live tap: a camera's packets, as the recording session writes them, muxed into
frame-level fragmented MP4 for whoever watches (docs/design/live.md, section 1).

The recording thread calls :meth:`LiveTap.packet` after each packet reached the segment. While
nobody is subscribed the tap only keeps references to the packets of the current GOP (no copy,
no muxing), so that a viewer who arrives starts on a keyframe at once. With at least one
subscriber it muxes every packet with PyAV's MP4 muxer (``frag_every_frame``): the bytes the
muxer writes while it takes packet *N* are the whole ``moof`` + ``mdat`` of packet *N − 1*, so
the tap's own delay is one frame period.

Never in the way of recording: :meth:`LiveTap.packet` never raises (an error ends the tap, is
logged once, and closes its subscribers) and never waits on a viewer: each subscriber has its
own bounded queue, drained by its own thread; one that falls behind loses fragments up to the
next keyframe fragment, and the loss is counted. All muxing happens on the recording thread.
"""

from __future__ import annotations

import contextlib
import io
import logging
import threading
from collections import deque
from typing import Any

import av

from custos.services.live_tail import codec_of, complete_boxes

log = logging.getLogger(__name__)

#: The tap's muxer: one fragment per frame, written as soon as it is whole, no index at the end.
TAP_OPTIONS = {
    "movflags": "empty_moov+default_base_moof+frag_every_frame+skip_trailer",
    "flush_packets": "1",
}
GOP_BYTES = 16 << 20  # the cached GOP (packets or fragments) beyond this is dropped
QUEUE_BYTES = 4 << 20  # a subscriber's queue, by default (about 8 s at 4 Mbit/s)


class _Sink(io.RawIOBase):
    """Where the muxer writes: bytes taken after each call."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self._chunks)  # one chunk (the usual): that very object, no copy
        self._chunks.clear()
        return data


def codec_string(stream: Any) -> str | None:
    """The RFC 6381 codec string (``avc1.…``, ``hvc1.…``) of a demuxed video stream, as an MP4
    init segment of it says; None when its parameter sets are not known yet."""
    try:
        sink = _Sink()
        out = av.open(sink, "w", format="mp4", options=dict(TAP_OPTIONS))
        try:
            out.add_stream_from_template(stream)
            out.start_encoding()
            return codec_of(sink.take())
        finally:
            out.close()
    except Exception:  # only a label: never a reason for the recording to end
        return None


class Subscription:
    """One viewer's bounded queue of whole boxes: the init boxes, then fragments.

    Filled by the tap (on the recording thread, never waiting), drained by the viewer's own
    thread with :meth:`get`. When a fragment does not fit, fragments are dropped up to the next
    keyframe fragment and counted in :attr:`dropped`."""

    def __init__(self, tap: LiveTap, max_bytes: int) -> None:
        self._tap = tap
        self._max = max_bytes
        self._cond = threading.Condition()
        self._items: deque[tuple[bytes, bool]] = deque()  # (boxes, is the init)
        self._bytes = 0
        self._closed = False
        self._need_key = True  # until a keyframe fragment: nothing to decode from yet
        self._skipping = False  # a fragment was lost: the next ones wait for a keyframe too
        self.dropped = 0  # fragments lost because this viewer fell behind

    def get(self, timeout: float | None = None) -> bytes | None:
        """Every whole box queued now (waiting up to ``timeout`` for one); ``b""`` when none
        came in time; None once the tap has closed and all it queued was taken."""
        with self._cond:
            if not self._items and not self._closed:
                self._cond.wait(timeout)
            if not self._items:
                return None if self._closed else b""
            data = b"".join(item for item, _ in self._items)
            self._items.clear()
            self._bytes = 0
            return data

    def close(self) -> None:
        """The viewer left: the tap stops muxing once nobody is left."""
        self._end()
        self._tap._unsubscribe(self)

    @property
    def closed(self) -> bool:
        return self._closed

    # ---- what the tap calls (under its lock) ---------------------------------------------------
    def _end(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _init(self, data: bytes) -> None:
        """A new init segment (a new muxer): fragments must start on a keyframe again."""
        with self._cond:
            if self._closed:
                return
            self._items.append((data, True))
            self._bytes += len(data)
            self._need_key, self._skipping = True, False
            self._cond.notify()

    def _fragment(self, data: bytes, key: bool) -> None:
        with self._cond:
            if self._closed:
                return
            if not key and (self._need_key or self._skipping):
                if self._skipping:
                    self.dropped += 1
                return
            if self._bytes + len(data) > self._max:
                if not key:
                    self._skipping = True
                    self.dropped += 1
                    return
                self._drop_queued_fragments()  # a keyframe: start again from it
            self._items.append((data, False))
            self._bytes += len(data)
            self._need_key = self._skipping = False
            self._cond.notify()

    def _drop_queued_fragments(self) -> None:
        kept = deque(item for item in self._items if item[1])
        self.dropped += len(self._items) - len(kept)
        self._items = kept
        self._bytes = sum(len(data) for data, _ in kept)


class LiveTap:
    """A camera's packets, muxed frame by frame for its subscribers (see the module's doc).

    ``template_stream``: the demuxed video stream whose packets come (its time base is the one
    of the times :meth:`packet` is given)."""

    def __init__(
        self, template_stream: Any, codec: str | None = None, gop_bytes: int = GOP_BYTES
    ) -> None:
        self._template = template_stream
        self._time_base = template_stream.time_base
        self.codec = codec  # replaced by the init's own once the tap muxes
        self._gop_bytes = gop_bytes
        self._lock = threading.Lock()
        self._subs: list[Subscription] = []
        self._closed = False
        self.failed: str | None = None  # why the tap ended by itself
        # the current GOP's packets, from its keyframe: (packet, pts, dts)
        self._gop: list[tuple[Any, int, int]] = []
        self._gop_size = 0
        # the muxer, while anyone watches (recording thread only)
        self._out: Any = None
        self._stream: Any = None
        self._sink = _Sink()
        self._pending = bytearray()  # written by the muxer, not yet a whole fragment
        self._head: bytearray | None = None  # the init boxes, until the moov is written
        self._origin = 0
        self._keys: deque[bool] = deque()  # muxed packets whose fragment is not written yet
        # what a subscriber arriving now gets at once (under the lock)
        self._init_bytes: bytes | None = None
        self._fragments: list[bytes] = []  # since the last keyframe fragment
        self._fragments_size = 0

    @property
    def watched(self) -> bool:
        with self._lock:
            return bool(self._subs)

    def subscribe(self, max_bytes: int = QUEUE_BYTES) -> Subscription:
        """A new viewer: it gets the init and the current GOP at once if the tap muxes already,
        else with the next packet. A closed tap's subscription is closed at once."""
        sub = Subscription(self, max_bytes)
        with self._lock:
            if self._closed:
                sub._end()
                return sub
            self._subs.append(sub)
            if self._init_bytes is not None:
                sub._init(self._init_bytes)
                for i, fragment in enumerate(self._fragments):
                    sub._fragment(fragment, i == 0)
        return sub

    def packet(self, packet: Any, pts: int, dts: int) -> None:
        """The recording thread wrote ``packet`` with these times (in the template stream's
        time base). Never raises; takes microseconds (one stream-copy mux when watched)."""
        if self._closed or self.failed is not None:
            return
        try:
            self._take(packet, pts, dts)
        except Exception as exc:  # the tap's boundary: recording goes on without it
            self._fail(exc)

    def close(self) -> None:
        """The session ended: every subscriber gets what was queued, then the end. Called by
        the thread that feeds the tap (it closes the muxer)."""
        with self._lock:
            self._closed = True
            subs, self._subs = self._subs, []
            self._init_bytes = None
            self._fragments, self._fragments_size = [], 0
        for sub in subs:
            sub._end()
        self._close_muxer()
        self._gop, self._gop_size = [], 0

    # ---- the recording thread -------------------------------------------------------------------
    def _take(self, packet: Any, pts: int, dts: int) -> None:
        key = bool(packet.is_keyframe)
        if key:
            self._gop, self._gop_size = [], 0
        if key or self._gop:
            self._gop.append((packet, pts, dts))
            self._gop_size += packet.size
            if self._gop_size > self._gop_bytes:  # a GOP without end: wait for the next
                self._gop, self._gop_size = [], 0
        with self._lock:
            watched = bool(self._subs)
            if not watched:  # decided with the lock held: a viewer arriving now waits
                self._init_bytes = None
                self._fragments, self._fragments_size = [], 0
        if not watched:
            self._close_muxer()
        elif self._out is None:
            if self._gop:  # else nothing decodable to start from: wait for a keyframe
                self._start_muxer()
                for cached, cached_pts, cached_dts in self._gop:
                    self._mux(cached, cached_pts, cached_dts)
        else:
            self._mux(packet, pts, dts)

    def _start_muxer(self) -> None:
        self._sink.take()
        self._pending.clear()
        self._keys.clear()
        self._head = bytearray()
        self._origin = self._gop[0][2]
        self._out = av.open(self._sink, "w", format="mp4", options=dict(TAP_OPTIONS))
        self._stream = self._out.add_stream_from_template(self._template)

    def _mux(self, packet: Any, pts: int, dts: int) -> None:
        # A packet of its own over the same bytes (no copy): the segment's muxer may still hold
        # the recording's packet (PyAV keeps packets back until a stream's parameter sets are
        # known), so its times and stream are never touched here.
        own = av.Packet(packet)
        own.time_base = self._time_base
        own.pts = pts - self._origin
        own.dts = dts - self._origin
        own.is_keyframe = bool(packet.is_keyframe)
        own.stream = self._stream
        self._keys.append(own.is_keyframe)
        self._out.mux(own)  # the header with the first (or once its parameter sets are known)
        written = self._sink.take()
        if written:
            self._publish(written)

    def _publish(self, written: bytes) -> None:
        """Hand the init boxes, then each whole ``moof`` + ``mdat``, to the subscribers (and
        keep them for the next); a box not all written yet waits for the rest."""
        if self._pending:
            self._pending += written
            pending = bytes(self._pending)
        else:  # the usual: exactly one whole fragment, taken as it is
            pending = written
        start = 0
        for box in complete_boxes(pending):
            if self._head is not None:  # the init: ftyp … moov
                self._head += pending[box.start : box.end]
                start = box.end
                if box.kind == b"moov":
                    self._publish_init(bytes(self._head))
                    self._head = None
                continue
            if box.kind != b"mdat":
                continue
            fragment = pending[start : box.end]
            start = box.end
            key = self._keys.popleft() if self._keys else False
            with self._lock:
                if key:
                    self._fragments, self._fragments_size = [], 0
                if key or self._fragments:
                    self._fragments.append(fragment)
                    self._fragments_size += len(fragment)
                    if self._fragments_size > self._gop_bytes:
                        self._fragments, self._fragments_size = [], 0
                for sub in self._subs:
                    sub._fragment(fragment, key)
        if self._pending:
            del self._pending[:start]
        elif start < len(pending):
            self._pending += pending[start:]

    def _publish_init(self, init: bytes) -> None:
        self.codec = codec_of(init) or self.codec
        with self._lock:
            self._init_bytes = init
            self._fragments, self._fragments_size = [], 0
            for sub in self._subs:
                sub._init(init)

    def _close_muxer(self) -> None:
        out, self._out = self._out, None
        if out is not None:
            with contextlib.suppress(av.error.FFmpegError, ValueError, OSError):
                out.close()  # its last fragment was for nobody
            self._sink.take()

    def _fail(self, exc: BaseException) -> None:
        self.failed = f"{type(exc).__name__}: {exc}"[:200]
        log.warning("live tap ended, recording goes on: %s", self.failed)
        try:
            self.close()
        except Exception:  # already failing: the recording must not see it
            self._out = None

    # ---- what a subscription calls --------------------------------------------------------------
    def _unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)
