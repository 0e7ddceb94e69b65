"""Relaying a recorder node's live tail (docs/design/cluster.md, "Live view and playback from any
server"): the node sends the bytes the browser's live view gets — each file's init boxes
(``ftyp`` … ``moov``) and then its ``moof`` + ``mdat`` fragments — as one HTTP stream. Between
them a ``free`` box holding ``live`` or ``wait`` says whether the camera's file is growing on the
node (sent when that changes, and every few seconds when nothing else is sent: a player skips
``free`` boxes). :class:`BoxRelay` cuts that stream back into the live view's messages, whole
top-level boxes only."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from custos.services.live_tail import codec_of

#: A top-level box larger than this is not a camera's fragment: the stream is refused.
MAX_BOX_BYTES = 64 << 20
LIVE = b"live"
WAITING = b"wait"
DROPPED = b"drop"


def status_box(live: bool) -> bytes:
    """The ``free`` box that tells the reader whether the camera is being recorded now."""
    return struct.pack(">I4s", 12, b"free") + (LIVE if live else WAITING)


def dropped_box(count: int) -> bytes:
    """The ``free`` box that tells a viewer how many fragments it lost so far (a live tap's
    viewer that fell behind: docs/design/live.md)."""
    return struct.pack(">I4s4sI", 16, b"free", DROPPED, count & 0xFFFFFFFF)


class RelayError(ValueError):
    """The stream is not a live tail (a box too large, or malformed)."""


@dataclass(frozen=True)
class Init:
    """A file's initialisation boxes, and its codec string for MSE."""

    data: bytes
    codec: str | None


@dataclass(frozen=True)
class Status:
    """Whether the node's file of the camera grew in the last ten seconds."""

    live: bool


@dataclass(frozen=True)
class Dropped:
    """How many fragments the tap dropped for this viewer so far (it fell behind)."""

    count: int


@dataclass(frozen=True)
class Fragments:
    """One or more whole ``moof`` + ``mdat`` pairs."""

    data: bytes


class BoxRelay:
    """Feed it the stream's bytes as they come; it hands back what is whole."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._head: bytearray | None = None  # init boxes gathered since an ftyp

    def feed(self, chunk: bytes) -> list[Init | Status | Fragments]:
        """The whole pieces, without the tap's drop counts (a node's file tail sends none)."""
        return [p for p in self.pieces(chunk) if not isinstance(p, Dropped)]

    def pieces(self, chunk: bytes) -> list[Init | Status | Dropped | Fragments]:
        """The whole pieces, a live tap's drop counts included."""
        self._buf += chunk
        out: list[Init | Status | Dropped | Fragments] = []
        run = bytearray()
        pos = 0
        while (box := self._next_box(pos)) is not None:
            kind, size = box
            if kind == b"moof" and self._head is None:
                after = self._next_box(pos + size)
                if after is None:
                    break  # the mdat is not all here yet: keep the moof for later
                if after[0] == b"mdat":
                    run += self._buf[pos : pos + size + after[1]]
                    pos += size + after[1]
                    continue
            if run:
                out.append(Fragments(bytes(run)))
                run = bytearray()
            data = bytes(self._buf[pos : pos + size])
            pos += size
            if kind == b"ftyp":
                self._head = bytearray(data)
            elif self._head is not None:
                self._head += data
                if len(self._head) > MAX_BOX_BYTES:
                    raise RelayError("init boxes without a moov")
                if kind == b"moov":
                    out.append(Init(bytes(self._head), codec_of(data)))
                    self._head = None
            elif kind == b"free" and data[8:] in (LIVE, WAITING):
                out.append(Status(data[8:] == LIVE))
            elif kind == b"free" and size == 16 and data[8:12] == DROPPED:
                out.append(Dropped(struct.unpack_from(">I", data, 12)[0]))
            # else: a box the live view does not send: dropped
        if run:
            out.append(Fragments(bytes(run)))
        del self._buf[:pos]
        return out

    def _next_box(self, pos: int) -> tuple[bytes, int] | None:
        """The kind and size of the whole box at ``pos``; None while it is not all here."""
        buf = self._buf
        if pos + 8 > len(buf):
            return None
        size, kind = struct.unpack_from(">I4s", buf, pos)
        header = 8
        if size == 1:
            if pos + 16 > len(buf):
                return None
            size = struct.unpack_from(">Q", buf, pos + 8)[0]
            header = 16
        if size < header or size > MAX_BOX_BYTES:
            raise RelayError(f"a {kind!r} box of {size} bytes is not part of a live tail")
        if pos + size > len(buf):
            return None
        return bytes(kind), int(size)
