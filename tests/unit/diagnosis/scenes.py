"""Synthetic frames for the diagnosis tests: a street-like scene and each fault applied to it."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]


def scene(seed: int = 1, w: int = 640, h: int = 360) -> Image:
    """Shapes of many sizes and colours on a lit gradient, with a little sensor noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    base = (70 + 60 * x / w + 30 * y / h).astype(np.float32)
    img = np.stack([base * 0.9, base, base * 1.05], axis=2)
    for _ in range(140):
        colour = tuple(int(c) for c in rng.integers(20, 235, 3))
        cx, cy, r = int(rng.integers(0, w)), int(rng.integers(0, h)), int(rng.integers(3, 40))
        if rng.random() < 0.5:
            cv2.circle(img, (cx, cy), r, colour, -1)
        else:
            cv2.rectangle(img, (cx, cy), (cx + r, cy + int(rng.integers(3, 40))), colour, -1)
    img += rng.normal(0, 2.0, img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def with_noise(img: Image, sigma: float, seed: int = 7) -> Image:
    rng = np.random.default_rng(seed)
    return np.clip(img + rng.normal(0, sigma, img.shape), 0, 255).astype(np.uint8)


def blurred(img: Image, sigma: float) -> Image:
    return np.asarray(cv2.GaussianBlur(img, (0, 0), sigma), np.uint8)


def shifted(img: Image, dx: int) -> Image:
    m = np.array([[1, 0, dx], [0, 1, 0]], np.float32)
    return np.asarray(
        cv2.warpAffine(img, m, (img.shape[1], img.shape[0]), borderMode=cv2.BORDER_REFLECT),
        np.uint8,
    )


def rotated(img: Image, degrees: float) -> Image:
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return np.asarray(cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REFLECT), np.uint8)


def brightness(img: Image, gain: float, offset: float = 0.0) -> Image:
    return np.clip(img.astype(np.float32) * gain + offset, 0, 255).astype(np.uint8)


def cast(img: Image, b: float, g: float, r: float) -> Image:
    return np.clip(img.astype(np.float32) * np.array([b, g, r], np.float32), 0, 255).astype(
        np.uint8
    )


def boxed(img: Image, fraction: float, colour: tuple[int, int, int] = (40, 40, 40)) -> Image:
    out = img.copy()
    h, w = img.shape[:2]
    cv2.rectangle(out, (0, 0), (int(w * fraction**0.5), int(h * fraction**0.5)), colour, -1)
    return out


def solid(b: int, g: int, r: int, w: int = 640, h: int = 360) -> Image:
    return np.full((h, w, 3), (b, g, r), np.uint8)


def bars(w: int = 640, h: int = 360) -> Image:
    colours = [(192, 192, 192), (0, 192, 192), (192, 192, 0), (0, 192, 0), (192, 0, 192),
               (0, 0, 192), (192, 0, 0)]  # fmt: skip
    out = np.zeros((h, w, 3), np.uint8)
    for i, c in enumerate(colours):
        out[:, i * w // 7 : (i + 1) * w // 7] = c
    return out


def person(img: Image, x: int = 300, y: int = 200) -> Image:
    """Someone standing in the picture (a dark upright shape), for the picture to change."""
    out = img.copy()
    cv2.rectangle(out, (x, y), (x + 24, y + 60), (30, 40, 60), -1)
    return out
