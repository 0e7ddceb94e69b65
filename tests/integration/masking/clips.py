"""Synthetic clips with moving faces and plates, built from images shipped in packages.

Faces: the astronaut portrait (Eileen Collins, NASA, public domain) shipped in scikit-image
(``skimage.data.astronaut``), cropped to the head and pasted at several sizes moving over a
background (``skimage.data.coffee`` stretched and tinted). Plates: blue, yellow and green
Chinese plates drawn with Debian ``fonts-noto-cjk``. Shared with bench/mask.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc")
Frame = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class Mover:
    """An image pasted at ``start`` moving by ``velocity`` pixels a frame, bouncing off edges."""

    image: Frame
    start: tuple[float, float]
    velocity: tuple[float, float]

    def position(self, index: int, width: int, height: int) -> tuple[int, int]:
        h, w = self.image.shape[:2]
        return (
            _bounce(self.start[0] + self.velocity[0] * index, width - w),
            _bounce(self.start[1] + self.velocity[1] * index, height - h),
        )


def _bounce(value: float, span: int) -> int:
    period = 2 * span
    v = value % period
    return int(v if v <= span else period - v)


def astronaut_head(size: int) -> Frame:
    import skimage.data

    head = skimage.data.astronaut()[  # type: ignore[no-untyped-call]
        20:190, 150:300
    ]  # face with hair and neck, RGB
    scale = size / head.shape[1]
    resized = cv2.resize(head, (size, round(head.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(resized)


def plate(text: str, colour: str, width: int = 220) -> Frame:
    background, ink = {
        "blue": ((20, 60, 170), (255, 255, 255)),
        "yellow": ((235, 190, 20), (0, 0, 0)),
        "green": ((140, 220, 140), (0, 0, 0)),
    }[colour]
    height = round(width * 140 / 440)
    image = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(image)
    draw.rectangle([2, 2, width - 3, height - 3], outline=ink, width=2)
    font = ImageFont.truetype(str(FONT), round(min(height * 0.62, width * 1.7 / len(text))))
    draw.text((width / 2, height / 2), text, fill=ink, font=font, anchor="mm")
    return np.asarray(image, dtype=np.uint8).copy()


def background(width: int, height: int) -> Frame:
    import skimage.data

    base = cv2.resize(
        skimage.data.coffee(),  # type: ignore[no-untyped-call]
        (width, height),
        interpolation=cv2.INTER_LINEAR,
    )
    grey = (base.astype(np.float32) * 0.5 + 60).clip(0, 255).astype(np.uint8)
    return np.ascontiguousarray(grey)


def faces_and_plates(width: int = 1280, height: int = 720) -> tuple[list[Mover], list[Mover]]:
    faces = [
        Mover(astronaut_head(64), (100, 80), (5.0, 2.0)),
        Mover(astronaut_head(110), (600, 300), (-4.0, 3.0)),
        Mover(astronaut_head(170), (900, 60), (3.0, -2.5)),
    ]
    plates = [
        Mover(plate("京A·12345", "blue"), (200, 500), (6.0, -1.0)),
        Mover(plate("鲁B·88888", "yellow", 180), (800, 560), (-3.0, -2.0)),
        Mover(plate("苏E·D12345", "green", 240), (400, 620), (2.0, -3.0)),
    ]
    return faces, plates


def write_clip(
    target: Path,
    seconds: float = 4.0,
    width: int = 1280,
    height: int = 720,
    fps: int = 25,
    with_plates: bool = True,
) -> Path:
    """An H.264 MP4 with the faces (and plates) of :func:`faces_and_plates` moving."""
    faces, plates = faces_and_plates(width, height)
    movers = faces + (plates if with_plates else [])
    base = background(width, height)
    with av.open(str(target), "w", format="mp4") as output:
        stream = output.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": "18", "preset": "veryfast"}
        for index in range(round(seconds * fps)):
            frame = base.copy()
            for mover in movers:
                x, y = mover.position(index, width, height)
                h, w = mover.image.shape[:2]
                frame[y : y + h, x : x + w] = mover.image
            video = av.VideoFrame.from_ndarray(frame, format="rgb24").reformat(format="yuv420p")
            for packet in stream.encode(video):
                output.mux(packet)
        for packet in stream.encode(None):
            output.mux(packet)
    return target
