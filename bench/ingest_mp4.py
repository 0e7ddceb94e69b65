"""Sample timestamps of a fragmented MP4 segment, read from its boxes (no decoding, no ffprobe).

``bench/ingest.py`` reads thousands of segments; ffprobe costs ~80 ms a file on a busy two-core
machine, this ~1 ms. It reads only box headers and the small ``moov``/``moof`` boxes, seeking over
``mdat``. The first video track's decode timestamps come from ``tfdt`` plus the sample durations
of ``trun`` (or ``tfhd``/``trex`` defaults). A sample of files is checked against ffprobe.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"mvex", b"moof", b"traf", b"edts"}


@dataclass
class _Track:
    timescale: int = 0
    default_duration: int = 0  # from trex
    video: bool = False


@dataclass
class Mp4Samples:
    timescale: int = 0
    dts: list[int] = field(default_factory=list)


def _boxes(data: bytes, start: int = 0, end: int | None = None) -> list[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of the boxes in ``data[start:end]``."""
    end = len(data) if end is None else end
    out = []
    i = start
    while i + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, i)
        head = 8
        if size == 1:
            (size,) = struct.unpack_from(">Q", data, i + 8)
            head = 16
        elif size == 0:
            size = end - i
        if size < head or i + size > end:
            break
        out.append((kind, i + head, i + size))
        i += size
    return out


def _walk(data: bytes, start: int, end: int, found: list[tuple[bytes, int, int]]) -> None:
    for kind, a, b in _boxes(data, start, end):
        found.append((kind, a, b))
        if kind in _CONTAINERS:
            _walk(data, a, b, found)


def _top_level(f: BinaryIO) -> list[tuple[bytes, bytes]]:
    """The top-level boxes other than ``mdat`` with their payloads (``mdat`` is skipped)."""
    out: list[tuple[bytes, bytes]] = []
    while True:
        head = f.read(8)
        if len(head) < 8:
            return out
        size, kind = struct.unpack(">I4s", head)
        hlen = 8
        if size == 1:
            (size,) = struct.unpack(">Q", f.read(8))
            hlen = 16
        elif size == 0:
            if kind != b"mdat":
                out.append((kind, f.read()))
            return out
        if size < hlen:
            return out
        if kind == b"mdat":
            f.seek(size - hlen, 1)
        else:
            out.append((kind, f.read(size - hlen)))


def read_samples(path: Path) -> Mp4Samples:
    """Decode timestamps of the first video track's samples, in file order."""
    with path.open("rb") as f:
        top = _top_level(f)
    track = _Track()
    result = Mp4Samples()
    track_id: int | None = None
    for kind, payload in top:
        if kind == b"moov":
            found: list[tuple[bytes, int, int]] = []
            _walk(payload, 0, len(payload), found)
            for k, a, _b in found:
                if k == b"hdlr" and payload[a + 8 : a + 12] == b"vide":
                    track.video = True
                elif k == b"mdhd" and track.timescale == 0:
                    off = a + (20 if payload[a] == 1 else 12)
                    (track.timescale,) = struct.unpack_from(">I", payload, off)
                elif k == b"tkhd" and track_id is None:
                    off = a + (20 if payload[a] == 1 else 12)
                    (track_id,) = struct.unpack_from(">I", payload, off)
                elif k == b"trex":
                    tid, _, dur = struct.unpack_from(">III", payload, a + 4)
                    if tid == track_id:
                        track.default_duration = dur
        elif kind == b"moof":
            _fragment(payload, track_id, track, result)
    result.timescale = track.timescale if track.video else 0
    return result


def _fragment(payload: bytes, track_id: int | None, track: _Track, out: Mp4Samples) -> None:
    for kind, a, b in _boxes(payload):
        if kind != b"traf":
            continue
        default = track.default_duration
        base: int | None = None
        for k, x, _y in _boxes(payload, a, b):
            if k == b"tfhd":
                flags = int.from_bytes(payload[x + 1 : x + 4], "big")
                (tid,) = struct.unpack_from(">I", payload, x + 4)
                if tid != track_id:
                    break
                off = x + 8
                off += 8 if flags & 0x01 else 0
                off += 4 if flags & 0x02 else 0
                if flags & 0x08:
                    (default,) = struct.unpack_from(">I", payload, off)
            elif k == b"tfdt":
                if payload[x] == 1:
                    (base,) = struct.unpack_from(">Q", payload, x + 4)
                else:
                    (base,) = struct.unpack_from(">I", payload, x + 4)
            elif k == b"trun":
                flags = int.from_bytes(payload[x + 1 : x + 4], "big")
                (count,) = struct.unpack_from(">I", payload, x + 4)
                off = x + 8
                off += 4 if flags & 0x01 else 0
                off += 4 if flags & 0x04 else 0
                per = 4 * bin(flags & 0xF00).count("1")
                t = base if base is not None else (out.dts[-1] + default if out.dts else 0)
                for _ in range(count):
                    out.dts.append(t)
                    dur = default
                    if flags & 0x100:
                        (dur,) = struct.unpack_from(">I", payload, off)
                    t += dur
                    off += per
                base = t
