"""The newest keyframe of a run of fMP4 fragments, as a JPEG (the wall's snapshot).

The caller hands the init boxes (``ftyp`` + ``moov``) and whole ``moof`` + ``mdat`` pairs cut
from the file the recorder writes (:mod:`custos.services.snapshot`); they are demuxed from
memory with PyAV, the last keyframe among them is decoded (the frames after it are never
decoded) and the picture is encoded at full size with OpenCV. Nothing is written.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import av
import cv2

log = logging.getLogger(__name__)

JPEG_QUALITY = 90
_DEFAULT_FRAME_S = 0.04  # a frame's time when the file does not say (25 fps)


@dataclass(frozen=True)
class Grabbed:
    """A decoded keyframe: the JPEG, its size, how far before the fragments' end it was taken
    (seconds) and how long it is shown (one frame's time)."""

    jpeg: bytes
    width: int
    height: int
    behind_end_s: float
    frame_s: float


def newest_keyframe_jpeg(init: bytes, fragments: bytes) -> Grabbed | None:
    """The last keyframe in ``fragments`` as a JPEG; None when they hold none that decodes."""
    try:
        with av.open(io.BytesIO(init + fragments), mode="r", format="mp4") as container:
            stream = container.streams.video[0]
            tb = stream.time_base
            packets = [p for p in container.demux(stream) if p.size and p.pts is not None]
            keys = [i for i, p in enumerate(packets) if p.is_keyframe]
            if not keys or tb is None:
                return None
            key = packets[keys[-1]]
            frame = _decode_first(stream.codec_context, packets[keys[-1] :])
            if frame is None:
                return None
            end = max((p.pts or 0) + (p.duration or 0) for p in packets)
            ok, jpeg = cv2.imencode(
                ".jpg", frame.to_ndarray(format="bgr24"), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]
            )
            if not ok:
                return None
            return Grabbed(
                jpeg.tobytes(),
                frame.width,
                frame.height,
                max(0.0, float((end - (key.pts or 0)) * tb)),
                float(key.duration * tb) if key.duration else _DEFAULT_FRAME_S,
            )
    except (av.error.FFmpegError, IndexError, ValueError) as exc:
        log.warning("no keyframe decoded from the newest fragments: %s", exc)
        return None


def _decode_first(
    codec: av.VideoCodecContext, packets: Sequence[av.Packet[Any]]
) -> av.VideoFrame | None:
    """The first picture decoded from ``packets`` (a keyframe first); a decoder holding frames
    back (B-frames, threads) is drained at the end."""
    for packet in packets:
        frames = codec.decode(packet)
        if frames:
            return frames[0]
    frames = codec.decode(None)
    return frames[0] if frames else None
