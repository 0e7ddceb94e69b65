"""The diagnosis's frames on disk, and the decoder that fills them.

Keyframes of a *sealed* segment are decoded with PyAV (``skip_frame="NONKEY"``: the decoder
never touches the frames in between), read-only; the recorder's files are never written. For
each offset the service asks for (0, N, 2N … seconds into the segment) the demuxer seeks to the
offset and the next keyframe at or after it is taken; a keyframe is never taken twice, so a
segment with fewer keyframes than offsets gives fewer samples. Under
``DATA/diagnosis``:

- ``latest/<camera>.png``: the camera's last sample, scaled (the next sample is compared with it
  for freeze; the UI shows it);
- ``references/<camera>-<sha256 prefix>.png``: reference snapshots, kept by hash, never
  overwritten; the database holds the full SHA-256, checked before each use.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import av
import cv2
import numpy as np

from custos.adapters.diagnosis.metrics import WIDTH, Frame, Image, centre_crop, measure
from custos.domain.diagnosis import FrameMetrics

log = logging.getLogger(__name__)


# A keyframe this much before an offset (timestamp rounding) still counts as "at" the offset.
_SLACK_S = 1e-3


def first_keyframe(path: Path) -> Frame | None:
    """The first keyframe of a video file as a :class:`Frame`, or None if none decodes."""
    frames = keyframes(path, [0.0])
    return frames[0] if frames else None


def keyframes(path: Path, offsets: Sequence[float]) -> list[Frame]:
    """For each offset (seconds from the file's start, ascending) the next keyframe at or after
    it, in time order; a keyframe is taken at most once, and an offset past the last keyframe
    ends the list. Empty if none decodes."""
    taken: list[Frame] = []
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.codec_context.skip_frame = "NONKEY"
            tb = stream.time_base
            if tb is None:
                raise IndexError("video stream without a time base")
            start = stream.start_time or 0
            last_pts: int | None = None
            for offset in offsets:
                if offset > 0:  # seek forward to the keyframe at or after the offset
                    container.seek(start + int(offset / tb), backward=False, stream=stream)
                found = None
                for frame in container.decode(stream):
                    if frame.pts is None:
                        continue
                    at = float((frame.pts - start) * tb)
                    if at + _SLACK_S < offset or (last_pts is not None and frame.pts <= last_pts):
                        continue
                    found = frame
                    break
                if found is None:
                    break
                last_pts = found.pts
                taken.append(_frame(found))
    except (av.error.FFmpegError, IndexError, OSError) as exc:
        log.warning("no keyframe decoded from %s: %s", path.name, exc)
    return taken


def _frame(frame: av.VideoFrame) -> Frame:
    height = max(8, round(frame.height * WIDTH / frame.width / 2) * 2)
    small = frame.reformat(width=WIDTH, height=height, format="bgr24").to_ndarray()
    luma = frame.to_ndarray(format="gray")
    return Frame(np.asarray(small, np.uint8), centre_crop(np.asarray(luma, np.uint8)))


class FileFrameAnalyser:
    """Implements ``services.diagnosis.FrameAnalyser`` on the segment files and ``root``."""

    def __init__(self, root: Path, segment_path: Callable[[str], Path]) -> None:
        self._root = root
        self._segment_path = segment_path

    def analyse(
        self, camera_id: int, segment: str, reference: tuple[str, str] | None,
        offsets: Sequence[float] = (0.0,),
    ) -> list[FrameMetrics]:  # fmt: skip
        frames = keyframes(self._segment_path(segment), offsets)
        if not frames:
            return []
        latest = self._root / "latest" / f"{camera_id}.png"
        previous = _read(latest)
        ref = self._reference(reference)
        measured = []
        for frame in frames:  # each compared with the one before it (freeze)
            measured.append(measure(frame, previous, ref))
            previous = frame.small
        _write(latest, _png(frames[-1].small))
        return measured

    def keep_reference(self, camera_id: int) -> tuple[str, str] | None:
        """Copy the camera's latest sample into a reference file: (relative path, SHA-256)."""
        data = self.latest(camera_id)
        if data is None:
            return None
        sha = hashlib.sha256(data).hexdigest()
        relative = f"references/{camera_id}-{sha[:16]}.png"
        target = self._root / relative
        if not target.exists():
            _write(target, data)
        return relative, sha

    def latest(self, camera_id: int) -> bytes | None:
        path = self._root / "latest" / f"{camera_id}.png"
        return path.read_bytes() if path.exists() else None

    def image(self, relative: str, sha256: str) -> bytes | None:
        """A reference's bytes, if they are there and still hash to ``sha256``."""
        path = self._root / relative
        if not path.resolve().is_relative_to(self._root.resolve()) or not path.exists():
            return None
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != sha256:
            log.warning("reference %s no longer matches its SHA-256; not used", relative)
            return None
        return data

    def _reference(self, reference: tuple[str, str] | None) -> Image | None:
        if reference is None:
            return None
        data = self.image(*reference)
        return None if data is None else _decode(data)


def _png(img: Image) -> bytes:
    ok, buf = cv2.imencode(".png", img)
    assert ok
    return bytes(buf.tobytes())


def _decode(data: bytes) -> Image | None:
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return None if img is None else np.asarray(img, np.uint8)


def _read(path: Path) -> Image | None:
    return _decode(path.read_bytes()) if path.exists() else None


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    tmp.write_bytes(data)
    os.replace(tmp, path)
