"""The top-level box structure of a fragmented MP4 segment: where its last complete fragment
ends (docs/design/recording.md, "Torn tails").

A segment as both engines write it is ``ftyp``, ``moov`` (the init part, no samples), then one
``moof`` + ``mdat`` pair per fragment (one per keyframe), and at a clean close an ``mfra``. A
writer killed (kill -9) or refused space (ENOSPC) mid-fragment leaves a *torn* tail: a box whose
declared size runs past the end of the file, or a ``moof`` without its ``mdat``. Only box headers
are read (8 or 16 bytes per box), never the media.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

_HEADER = struct.Struct(">I4s")
_LARGE = struct.Struct(">Q")
INIT_BOXES = (b"ftyp", b"moov")


@dataclass(frozen=True)
class Box:
    kind: bytes
    start: int
    end: int  # offset just past the box


@dataclass(frozen=True)
class FragmentScan:
    """What a walk over the top-level boxes found.

    ``complete`` is the length of the file's longest prefix that ends at a box boundary with
    the init part and every fragment in it whole; the bytes past it are the torn tail."""

    size: int
    complete: int
    init_end: int | None  # where the moov ends; None when the init part itself is torn
    fragments: list[tuple[int, int]]  # (moof start, mdat end) of each complete fragment

    @property
    def torn(self) -> bool:
        return self.complete < self.size

    @property
    def torn_bytes(self) -> int:
        return self.size - self.complete

    @property
    def has_media(self) -> bool:
        """At least one complete fragment after a complete init part."""
        return self.init_end is not None and bool(self.fragments)


def read_box(f: BinaryIO, at: int, size: int) -> Box | None:
    """The box starting at ``at``, or None when its header or body runs past ``size`` (or the
    header is not a box: a size below its own header, or 0, "to the end of the file", which a
    fragmented writer never leaves behind when it finishes)."""
    f.seek(at)
    head = f.read(_HEADER.size)
    if len(head) < _HEADER.size:
        return None
    length, kind = _HEADER.unpack(head)
    header = _HEADER.size
    if length == 1:
        large = f.read(_LARGE.size)
        if len(large) < _LARGE.size:
            return None
        (length,) = _LARGE.unpack(large)
        header += _LARGE.size
    if length < header or at + length > size:
        return None
    return Box(kind, at, at + length)


def boxes(f: BinaryIO, size: int) -> list[Box]:
    """The whole top-level boxes from the start, up to the first that is torn."""
    found: list[Box] = []
    at = 0
    while at < size:
        box = read_box(f, at, size)
        if box is None:
            break
        found.append(box)
        at = box.end
    return found


def scan(path: Path) -> FragmentScan:
    with path.open("rb") as f:
        size = f.seek(0, 2)
        return scan_boxes(boxes(f, size), size)


def scan_boxes(found: list[Box], size: int) -> FragmentScan:
    """Walk whole boxes: the init part (``ftyp`` then ``moov``), then ``moof`` + ``mdat`` pairs.
    A ``moof`` not followed by its ``mdat``, or anything but ``moof`` where a fragment should
    start before the end (an ``mfra`` or ``free`` box after the last fragment is kept), ends
    the complete part."""
    kinds = [b.kind for b in found]
    if kinds[:2] != list(INIT_BOXES):
        return FragmentScan(size, 0, None, [])
    init_end = found[1].end
    complete = init_end
    fragments: list[tuple[int, int]] = []
    i = 2
    while i < len(found):
        box = found[i]
        if box.kind == b"moof":
            if i + 1 >= len(found) or found[i + 1].kind != b"mdat":
                break  # its media is missing or torn
            fragments.append((box.start, found[i + 1].end))
            complete = found[i + 1].end
            i += 2
        elif box.kind in (b"mfra", b"free", b"skip", b"sidx", b"styp", b"uuid"):
            complete = box.end
            i += 1
        else:
            break
    return FragmentScan(size, complete, init_end, fragments)


def init_and_last_fragments(path: Path, count: int = 1) -> bytes:
    """The init part followed by the last ``count`` complete fragments: a small file that
    decodes on its own (each fragment starts at a keyframe, and its sample offsets are
    counted from its own ``moof``). Empty when the file has no complete fragment."""
    found = scan(path)
    if not found.has_media or found.init_end is None:
        return b""
    first = found.fragments[-count:][0][0]
    last = found.fragments[-1][1]
    with path.open("rb") as f:
        init = f.read(found.init_end)
        f.seek(first)
        return init + f.read(last - first)
