"""Masking for publication: boxes, static zones and the tracker that keeps boxes from blinking.

Pure: no imaging library. A detector (adapters/masking) proposes boxes on some frames; the
:class:`BoxTracker` carries them over the frames between detections and over a few missed
detections (``hold_frames``), moving each by its last velocity and growing it by a margin, so a
face never shows unmasked for one frame because the detector blinked. Static zones (a shop sign,
a licence on a wall) are rectangles in relative coordinates that are always masked.
See docs/design/evidence.md "Masked copies for publication".
"""

from __future__ import annotations

import enum
import itertools
from dataclasses import dataclass, field

MAX_HOLD_FRAMES = 250
MAX_DETECT_EVERY = 25


class MaskKind(enum.StrEnum):
    FACE = "face"
    PLATE = "plate"
    ZONE = "zone"  # a static zone or a region the reviewer drew


class MaskMode(enum.StrEnum):
    PIXELATE = "pixelate"  # blocks of 1/8 of the box's shorter side, at least 8 px
    BLUR = "blur"
    FILL = "fill"  # solid grey


@dataclass(frozen=True, slots=True)
class Box:
    """A rectangle in pixels, ``x0 < x1`` and ``y0 < y1`` (right and bottom exclusive)."""

    x0: int
    y0: int
    x1: int
    y1: int

    def __post_init__(self) -> None:
        if not (self.x0 < self.x1 and self.y0 < self.y1):
            raise ValueError(f"empty box {self}")

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def area(self) -> int:
        return self.width * self.height

    def iou(self, other: Box) -> float:
        inter = _overlap(self, other)
        return inter / (self.area + other.area - inter) if inter else 0.0

    def covered_by(self, others: list[Box]) -> float:
        """Share of this box inside the union of ``others`` (exact, by a small sweep)."""
        clipped = [
            (max(self.x0, o.x0), max(self.y0, o.y0), min(self.x1, o.x1), min(self.y1, o.y1))
            for o in others
        ]
        parts = [c for c in clipped if c[0] < c[2] and c[1] < c[3]]
        if not parts:
            return 0.0
        xs = sorted({c[0] for c in parts} | {c[2] for c in parts})
        covered = 0
        for left, right in itertools.pairwise(xs):
            spans = sorted((c[1], c[3]) for c in parts if c[0] <= left and c[2] >= right)
            length, end = 0, -1
            for top, bottom in spans:
                if bottom > end:
                    length += bottom - max(top, end)
                    end = bottom
            covered += length * (right - left)
        return covered / self.area

    def grown(self, margin: float, width: int, height: int) -> Box | None:
        """Larger by ``margin`` of its size on each side, clipped to the frame (None if outside)."""
        dx, dy = round(self.width * margin), round(self.height * margin)
        x0, y0 = max(0, self.x0 - dx), max(0, self.y0 - dy)
        x1, y1 = min(width, self.x1 + dx), min(height, self.y1 + dy)
        return Box(x0, y0, x1, y1) if x0 < x1 and y0 < y1 else None

    def moved(self, dx: float, dy: float) -> Box:
        return Box(
            round(self.x0 + dx), round(self.y0 + dy), round(self.x1 + dx), round(self.y1 + dy)
        )

    def as_list(self) -> list[int]:
        return [self.x0, self.y0, self.x1, self.y1]


def _overlap(a: Box, b: Box) -> int:
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return w * h if w > 0 and h > 0 else 0


@dataclass(frozen=True, slots=True)
class Detection:
    kind: MaskKind
    box: Box
    score: float


@dataclass(frozen=True, slots=True)
class StaticZone:
    """A rectangle in relative coordinates (0..1 of width and height), always masked."""

    left: float
    top: float
    right: float
    bottom: float
    label: str = ""

    def __post_init__(self) -> None:
        if not (0.0 <= self.left < self.right <= 1.0 and 0.0 <= self.top < self.bottom <= 1.0):
            raise ValueError("a zone is 0 <= left < right <= 1 and 0 <= top < bottom <= 1")
        if len(self.label) > 200:
            raise ValueError("a zone's label is at most 200 characters")

    def box(self, width: int, height: int) -> Box:
        return Box(
            int(self.left * width),
            int(self.top * height),
            max(int(self.left * width) + 1, round(self.right * width)),
            max(int(self.top * height) + 1, round(self.bottom * height)),
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "left": self.left, "top": self.top, "right": self.right, "bottom": self.bottom,
            "label": self.label,
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class TrackerSettings:
    hold_frames: int = 10  # frames a track is kept after its last matching detection
    margin: float = 0.15  # growth on each side, a share of the box's size
    match_iou: float = 0.2
    # growth per predicted frame, a share of the box's size: velocity known / not yet known
    motion: float = 0.03
    unknown_motion: float = 0.12
    # a new track is also shown on the frames since the detector's previous run, grown as a
    # track seen once (the caller renders those frames after the run, see adapters/masking)
    backfill: bool = True

    def __post_init__(self) -> None:
        if not 0 <= self.hold_frames <= MAX_HOLD_FRAMES:
            raise ValueError(f"hold_frames is 0..{MAX_HOLD_FRAMES}")
        if not 0.0 <= self.margin <= 1.0 or not 0.0 < self.match_iou <= 1.0:
            raise ValueError("margin is 0..1 and match_iou is above 0, at most 1")
        if not (0.0 <= self.motion <= 0.5 and 0.0 <= self.unknown_motion <= 0.5):
            raise ValueError("motion and unknown_motion are 0..0.5")

    def as_dict(self) -> dict[str, object]:
        return {
            "hold_frames": self.hold_frames, "margin": self.margin, "match_iou": self.match_iou,
            "motion": self.motion, "unknown_motion": self.unknown_motion,
            "backfill": self.backfill,
        }  # fmt: skip


@dataclass(slots=True)
class Track:
    id: int
    kind: MaskKind
    box: Box
    last_seen: int  # frame index of the last matching detection
    velocity: tuple[float, float] = (0.0, 0.0)  # pixels per frame, from the last two matches
    seen: int = 1  # detections matched to it
    frames: list[tuple[int, Box]] = field(default_factory=list)


class BoxTracker:
    """Greedy IoU matching of detections to tracks; tracks carried between detector runs."""

    def __init__(self, settings: TrackerSettings, width: int, height: int) -> None:
        self.settings = settings
        self.width, self.height = width, height
        self.tracks: list[Track] = []
        self.finished: list[Track] = []
        # boxes given to frames before the current one (backfill), for the caller to take
        self.backfilled: list[tuple[int, Box]] = []
        self._next_id = 1
        self._last_run: int | None = None  # the frame of the detector's previous run

    def step(self, frame: int, detections: list[Detection] | None) -> list[tuple[Track, Box]]:
        """Boxes to mask on ``frame``; ``detections=None`` when the detector did not run.

        With ``backfill``, a track started here also gets boxes on the frames after the
        detector's previous run (or from frame 0): in its ``frames`` and in ``backfilled``.
        """
        if detections is not None:
            self._match(frame, detections)
            self._last_run = frame
        shown: list[tuple[Track, Box]] = []
        for track in self.tracks:
            ahead = frame - track.last_seen
            dx, dy = track.velocity
            box = track.box.moved(dx * ahead, dy * ahead) if ahead else track.box
            # while predicted, not seen, the box grows by an allowance for the motion per frame
            # (larger while the velocity is still unknown: a track seen once)
            allowance = self.settings.unknown_motion if track.seen == 1 else self.settings.motion
            margin = self.settings.margin + min(ahead, self.settings.hold_frames) * allowance
            grown = box.grown(margin, self.width, self.height)
            if grown is not None:
                track.frames.append((frame, grown))
                shown.append((track, grown))
        return shown

    def close(self) -> list[Track]:
        self.finished.extend(self.tracks)
        self.tracks = []
        return sorted(self.finished, key=lambda t: t.id)

    def _match(self, frame: int, detections: list[Detection]) -> None:
        pairs = sorted(
            (
                (track.box.iou(d.box), ti, di)
                for ti, track in enumerate(self.tracks)
                for di, d in enumerate(detections)
                if track.kind is d.kind
            ),
            reverse=True,
        )
        used_t: set[int] = set()
        used_d: set[int] = set()
        for iou, ti, di in pairs:
            if iou < self.settings.match_iou or ti in used_t or di in used_d:
                continue
            used_t.add(ti)
            used_d.add(di)
            track, box = self.tracks[ti], detections[di].box
            gap = max(1, frame - track.last_seen)
            track.velocity = ((box.x0 - track.box.x0) / gap, (box.y0 - track.box.y0) / gap)
            track.box, track.last_seen = box, frame
            track.seen += 1
        for di, d in enumerate(detections):
            if di not in used_d:
                track = Track(self._next_id, d.kind, d.box, frame)
                if self.settings.backfill:
                    track.frames = self._back(frame, d.box)
                    self.backfilled.extend(track.frames)
                self.tracks.append(track)
                self._next_id += 1
        keep: list[Track] = []
        for track in self.tracks:
            if frame - track.last_seen > self.settings.hold_frames:
                self.finished.append(track)
            else:
                keep.append(track)
        self.tracks = keep

    def _back(self, frame: int, box: Box) -> list[tuple[int, Box]]:
        """``box`` on the frames since the previous run, grown as a track seen once."""
        first = 0 if self._last_run is None else self._last_run + 1
        first = max(first, frame - self.settings.hold_frames)
        back: list[tuple[int, Box]] = []
        for earlier in range(first, frame):
            margin = self.settings.margin + (frame - earlier) * self.settings.unknown_motion
            grown = box.grown(margin, self.width, self.height)
            if grown is not None:
                back.append((earlier, grown))
        return back
