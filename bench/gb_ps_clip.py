"""The GB ingest bench's clip as an MPEG program stream (PS): made once from ``ingest.py``'s
H.264 clip (``ffmpeg -c copy -f mpeg``, cached beside it), parsed once, replayed in loops.

A loop of a live stream must not go back in time: :meth:`PsClip.loop` returns the program stream
with every timestamp — each pack's SCR, each PES header's PTS and DTS — moved on by ``k`` clip
lengths, so that a recorder sees one stream whose clock keeps rising. ffmpeg's ``mpeg`` muxer
writes MPEG-1 system packs and MPEG-1 PES headers; those are what is parsed (anything else is a
``ValueError``). Standard library only.
"""

from __future__ import annotations

import bisect
import subprocess
from dataclasses import dataclass
from pathlib import Path

CLOCK_HZ = 90_000
PACK_START = b"\x00\x00\x01\xba"
END_CODE = b"\x00\x00\x01\xb9"
AUD = b"\x00\x00\x01\x09"  # an H.264 access unit delimiter: one per frame in the bench clip
MPEG1_PACK_HEADER = 12
TS_MOD = 1 << 33


def make_ps(clip: Path, fps: int) -> Path:
    """The Annex B ``clip`` remuxed (never re-encoded) to an MPEG program stream; cached."""
    target = clip.with_suffix(".ps")
    if target.exists() and target.stat().st_size > 0:
        return target
    tmp = target.with_suffix(".ps.part")
    print(f"making the program stream {target.name} (once)", flush=True)
    subprocess.run(
        [
            *("ffmpeg", "-nostdin", "-loglevel", "error", "-y"),
            *("-f", "h264", "-framerate", str(fps), "-i", str(clip)),
            *("-c", "copy", "-f", "mpeg", str(tmp)),
        ],
        check=True,
    )
    tmp.replace(target)
    return target


def read_stamp(data: bytes | bytearray, at: int) -> int:
    """A 33-bit MPEG-1 SCR or PES timestamp: 4 prefix bits, then 3+15+15 bits with markers."""
    bits = int.from_bytes(data[at : at + 5], "big")
    return ((bits >> 33) & 0x7) << 30 | ((bits >> 17) & 0x7FFF) << 15 | (bits >> 1) & 0x7FFF


def write_stamp(data: bytearray, at: int, value: int) -> None:
    value %= TS_MOD
    prefix = data[at] >> 4
    bits = (
        prefix << 36
        | ((value >> 30) & 0x7) << 33
        | 1 << 32
        | ((value >> 15) & 0x7FFF) << 17
        | 1 << 16
        | (value & 0x7FFF) << 1
        | 1
    )
    data[at : at + 5] = bits.to_bytes(5, "big")


@dataclass(frozen=True)
class PsClip:
    data: bytes  # the program stream, without its end code
    pack_starts: tuple[int, ...]
    scr: tuple[int, ...]  # each pack's SCR (90 kHz)
    frames_in_pack: tuple[int, ...]  # video frames that begin in each pack
    stamps: tuple[int, ...]  # offsets of every 5-byte timestamp (SCR, PTS, DTS)
    frames: int
    fps: int

    @property
    def length_90k(self) -> int:
        return self.frames * CLOCK_HZ // self.fps

    @property
    def seconds(self) -> float:
        return self.frames / self.fps

    def due_s(self, pack: int) -> float:
        """When pack ``pack`` is due, in seconds from the first pack (by the SCR)."""
        return (self.scr[pack] - self.scr[0]) / CLOCK_HZ

    def loop(self, k: int) -> bytes:
        """The program stream of loop ``k`` (0: as made): every timestamp ``k`` clips later."""
        if k == 0:
            return self.data
        out = bytearray(self.data)
        shift = k * self.length_90k
        for at in self.stamps:
            write_stamp(out, at, read_stamp(out, at) + shift)
        return bytes(out)


def load(path: Path, fps: int) -> PsClip:
    data = path.read_bytes()
    if data.endswith(END_CODE):
        data = data[: -len(END_CODE)]
    packs: list[int] = []
    stamps: list[int] = []
    video: list[tuple[int, int]] = []  # (start, end) of each video PES payload
    pos = 0
    while pos < len(data):
        if data[pos : pos + 4] != PACK_START or data[pos + 4] >> 4 != 0b0010:
            raise ValueError(f"no MPEG-1 pack header at byte {pos}")
        packs.append(pos)
        stamps.append(pos + 4)
        pos += MPEG1_PACK_HEADER
        pos = _units(data, pos, stamps, video)
    frames_in_pack = _frames_per_pack(data, packs, video)
    scr = tuple(read_stamp(data, p + 4) for p in packs)
    return PsClip(data, tuple(packs), scr, frames_in_pack, tuple(stamps), sum(frames_in_pack), fps)


def _units(data: bytes, pos: int, stamps: list[int], video: list[tuple[int, int]]) -> int:
    """The system header and PES packets of one pack, from ``pos``; where the next pack starts."""
    while pos < len(data) and data[pos : pos + 3] == b"\x00\x00\x01" and data[pos + 3] != 0xBA:
        code = data[pos + 3]
        if code == 0xB9:  # an end code inside the stream
            pos += 4
            continue
        end = pos + 6 + int.from_bytes(data[pos + 4 : pos + 6], "big")
        if 0xC0 <= code <= 0xEF or code == 0xBD:
            payload = _pes_header(data, pos + 6, stamps)
            if 0xE0 <= code <= 0xEF:
                video.append((payload, end))
        pos = end
    return pos


def _pes_header(data: bytes, p: int, stamps: list[int]) -> int:
    """An MPEG-1 PES header from ``p``: its timestamps' offsets noted; where the payload starts."""
    while data[p] == 0xFF:  # stuffing
        p += 1
    if data[p] >> 6 == 0b01:  # STD buffer scale and size
        p += 2
    kind = data[p] >> 4
    if kind == 0b0010:  # PTS
        stamps.append(p)
        return p + 5
    if kind == 0b0011:  # PTS and DTS
        stamps += [p, p + 5]
        return p + 10
    if data[p] == 0x0F:
        return p + 1
    raise ValueError(f"not an MPEG-1 PES header at byte {p}")


def _frames_per_pack(
    data: bytes, packs: list[int], video: list[tuple[int, int]]
) -> tuple[int, ...]:
    """Frames beginning in each pack: the access unit delimiters of the video elementary stream
    (found across PES boundaries), each counted in the pack holding its first byte."""
    es = b"".join(data[a:b] for a, b in video)
    cumulative = [0]
    for a, b in video:
        cumulative.append(cumulative[-1] + b - a)
    counts = [0] * len(packs)
    at = es.find(AUD)
    while at >= 0:
        piece = bisect.bisect_right(cumulative, at) - 1
        offset = video[piece][0] + at - cumulative[piece]
        counts[bisect.bisect_right(packs, offset) - 1] += 1
        at = es.find(AUD, at + 4)
    return tuple(counts)
