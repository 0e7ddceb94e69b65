"""Tailing the recorder's in-flight fragmented MP4 file of a camera: whole boxes only, never
decoded or re-muxed. Used by the browser's live view (``entrypoints/web/live.py``) and the live
sender to an upper platform (``adapters/media/ps_sender.py``).

The recorder writes each camera into fragmented MP4 (``empty_moov``, a fragment per keyframe),
so the segment being written holds the initialisation boxes (``ftyp`` + ``moov``) and one
``moof`` + ``mdat`` pair per GOP. A reader starts at the *latest complete* fragment (a keyframe)
and follows the file as it grows, and the next file when the recorder starts a new segment.
"""

from __future__ import annotations

import itertools
import struct
from dataclasses import dataclass
from pathlib import Path

STALE_S = 10.0  # no growth for this long: the camera is not being recorded now


@dataclass(frozen=True)
class Box:
    kind: bytes
    start: int
    size: int

    @property
    def end(self) -> int:
        return self.start + self.size


def complete_boxes(data: bytes, base: int = 0) -> list[Box]:
    """The top-level boxes wholly inside ``data`` (which starts at file offset ``base``)."""
    boxes: list[Box] = []
    pos = 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if size == 1:
            if pos + 16 > len(data):
                break
            size = struct.unpack(">Q", data[pos + 8 : pos + 16])[0]
        if size < 8 or pos + size > len(data):
            break  # size 0 ("to end of file") or not written yet
        boxes.append(Box(kind, base + pos, size))
        pos += size
    return boxes


def codec_of(moov: bytes) -> str | None:
    """The RFC 6381 codec string of the first video sample entry (H.264 or H.265)."""
    i = moov.find(b"avcC")
    if i >= 0 and i + 8 <= len(moov):
        profile, compat, level = moov[i + 5], moov[i + 6], moov[i + 7]
        entry = "avc3" if moov.find(b"avc3") >= 0 else "avc1"
        return f"{entry}.{profile:02x}{compat:02x}{level:02x}"
    j = moov.find(b"hvcC")
    if j >= 0 and j + 17 <= len(moov):
        entry = "hev1" if moov.find(b"hev1") >= 0 else "hvc1"
        b = moov[j + 5]
        profile_space, tier, profile = b >> 6, (b >> 5) & 1, b & 0x1F
        compat = int.from_bytes(moov[j + 6 : j + 10], "big")
        rev = int(f"{compat:032b}"[::-1], 2)
        level = moov[j + 16]
        space = "" if profile_space == 0 else "ABC"[profile_space - 1]
        return f"{entry}.{space}{profile}.{rev:x}.{'H' if tier else 'L'}{level}.B0"
    return None


def newest_segments(media_root: Path, camera_id: int) -> list[Path]:
    """The newest run's files, oldest first: the last is the one the recorder writes now (or
    wrote last)."""
    cam_dir = media_root / str(camera_id)
    try:
        runs = sorted((d for d in cam_dir.iterdir() if d.is_dir()), key=lambda d: d.name)
    except FileNotFoundError:
        return []
    for run in reversed(runs):
        files = sorted(run.glob("*.mp4"))
        if files:
            return files
    return []


def newest_segment(media_root: Path, camera_id: int) -> Path | None:
    files = newest_segments(media_root, camera_id)
    return files[-1] if files else None


def first_tail(media_root: Path, camera_id: int) -> SegmentTail | None:
    """Where a new viewer starts: the newest complete fragment, taken from the previous file
    when the recorder has only just begun a new one (so the first frame comes at once)."""
    files = newest_segments(media_root, camera_id)
    for path in reversed(files[-2:]):
        tail = SegmentTail(path)
        if tail.read_init() and tail.skip_to_latest():
            return tail
    return None


class SegmentTail:
    """Reads whole boxes from a growing fMP4 file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.init: bytes | None = None
        self.codec: str | None = None

    def read_init(self) -> bool:
        data = self.path.read_bytes()
        boxes = complete_boxes(data)
        moov = next((b for b in boxes if b.kind == b"moov"), None)
        if moov is None:
            return False
        self.init = data[: moov.end]
        self.codec = codec_of(data[moov.start : moov.end])
        self.offset = moov.end
        return True

    def skip_to_latest(self) -> bool:
        """Start at the last complete fragment rather than the start of the file."""
        data = self._read_from(self.offset)
        pairs = fragments(complete_boxes(data, self.offset))
        if pairs:
            self.offset = pairs[-1][0]
        return bool(pairs)

    def read_fragments(self) -> bytes:
        data = self._read_from(self.offset)
        pairs = fragments(complete_boxes(data, self.offset))
        if not pairs:
            return b""
        start, end = pairs[0][0], pairs[-1][1]
        out = data[start - self.offset : end - self.offset]
        self.offset = end
        return out

    def _read_from(self, offset: int) -> bytes:
        with self.path.open("rb") as f:
            f.seek(offset)
            return f.read()


def fragments(boxes: list[Box]) -> list[tuple[int, int]]:
    """(start, end) of each complete moof + mdat pair; other boxes are skipped."""
    pairs: list[tuple[int, int]] = []
    for a, b in itertools.pairwise(boxes):
        if a.kind == b"moof" and b.kind == b"mdat":
            pairs.append((a.start, b.end))
    return pairs


class LiveFollower:
    """One viewer's place in a camera's files: where it starts (:func:`first_tail`), the next
    file's init boxes when the recorder starts one, and the fragments as they are written.
    Shared by the browser's live view and a recorder node's live tail for other servers."""

    def __init__(self, media_root: Path, camera_id: int) -> None:
        self.media_root = media_root
        self.camera_id = camera_id
        self.tail: SegmentTail | None = None

    def advance(self) -> list[bytes | SegmentTail]:
        """What to send before new fragments: a :class:`SegmentTail` whose init boxes start a
        file (first, or the next one the recorder began), and the bytes left in the file it
        replaces (fragments completed since the last read), in order."""
        out: list[bytes | SegmentTail] = []
        if self.tail is None:
            self.tail = first_tail(self.media_root, self.camera_id)
            if self.tail is not None:
                out.append(self.tail)
        newest = newest_segment(self.media_root, self.camera_id)
        if self.tail is not None and newest is not None and newest != self.tail.path:
            rest = self.tail.read_fragments()  # the old file is finished: send what is left
            if rest:
                out.append(rest)
            fresh = SegmentTail(newest)
            if fresh.read_init():
                self.tail = fresh
                out.append(fresh)
        return out

    def fragments(self) -> bytes:
        """The whole fragments written since the last read (empty: none yet)."""
        return self.tail.read_fragments() if self.tail is not None else b""

    def live(self, now: float) -> bool:
        """Whether the file followed grew in the last :data:`STALE_S` seconds (``now``: Unix)."""
        return self.tail is not None and now - mtime(self.tail.path) < STALE_S


def mtime(path: Path) -> float:
    """The file's modification time (Unix seconds), 0 when it is gone."""
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return 0.0


def recording_now(media_root: Path, camera_id: int, now: float) -> bool:
    """Whether the recorder is writing the camera now: its newest file grew in the last
    :data:`STALE_S` seconds (``now``: Unix seconds)."""
    newest = newest_segment(media_root, camera_id)
    return newest is not None and now - mtime(newest) < STALE_S
