"""The measurements of one frame, pure NumPy/OpenCV: no file, no database, no clock.

A frame comes as a :class:`Frame`: the picture scaled to :data:`WIDTH` pixels wide (colour,
BGR) for the cheap measures, and a crop of the full-resolution luma for the noise estimate (a
scaled picture averages noise away). Every measure is on luma 0..255.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from custos.domain.diagnosis import FrameMetrics

WIDTH = 320
BLOCK = 8  # pixels of the scaled frame per texture block
FLAT_BLOCK_STD = 2.0  # a block this flat (signal loss) …
LOW_TEXTURE_STD = 3.5  # … or this flat (occlusion: a cover, a wall, a lens cap)
NOISE_CROP = 480  # the side of the full-resolution crop the noise is estimated on
ORB_FEATURES = 500
CHANGED_BLOCKS = 2  # freeze: the picture must change in at least this many blocks
MIN_INLIERS = 12

Image = npt.NDArray[np.uint8]
Floats = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Frame:
    small: Image  # BGR, WIDTH wide
    luma: Image  # full-resolution luma (or a centre crop of it)


def frame_of(bgr: Image) -> Frame:
    """A full-resolution BGR picture as a :class:`Frame` (the decoder gives both parts itself)."""
    luma = np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), np.uint8)
    return Frame(scale(bgr), centre_crop(luma))


def scale(bgr: Image) -> Image:
    h, w = bgr.shape[:2]
    if w == WIDTH:
        return bgr
    height = max(BLOCK, round(h * WIDTH / w / 2) * 2)
    return np.asarray(cv2.resize(bgr, (WIDTH, height), interpolation=cv2.INTER_AREA), np.uint8)


def centre_crop(luma: Image) -> Image:
    h, w = luma.shape[:2]
    top, left = max(0, (h - NOISE_CROP) // 2), max(0, (w - NOISE_CROP) // 2)
    return luma[top : top + NOISE_CROP, left : left + NOISE_CROP]


def measure(frame: Frame, previous: Image | None, reference: Image | None) -> FrameMetrics:
    """Measure ``frame``; ``previous`` and ``reference`` are earlier scaled BGR frames."""
    gray = np.asarray(cv2.cvtColor(frame.small, cv2.COLOR_BGR2GRAY), np.uint8)
    g = gray.astype(np.float32)
    stds = _block_stds(g)
    blocks_changed = None if previous is None else _block_changes(g, previous)
    lab = cv2.cvtColor(frame.small, cv2.COLOR_BGR2LAB).reshape(-1, 3).astype(np.float32)
    shift, similarity = (None, None) if reference is None else scene_against(gray, reference)
    return FrameMetrics(
        mean_luma=float(g.mean()),
        luma_std=float(g.std()),
        dark_fraction=float((gray < 20).mean()),
        bright_fraction=float((gray > 245).mean()),
        uniform_fraction=float((stds < FLAT_BLOCK_STD).mean()),
        blue_screen=_blue_screen(frame.small),
        colour_bars=_colour_bars(g),
        sharpness=_sharpness(g, stds),
        low_texture_fraction=_largest_region(stds < LOW_TEXTURE_STD),
        noise=noise_sigma(frame.luma),
        mean_a=float(lab[:, 1].mean()) - 128.0,
        mean_b=float(lab[:, 2].mean()) - 128.0,
        freeze_diff=None if blocks_changed is None else _changed(blocks_changed),
        flicker=None if previous is None else _flicker(g, previous),
        scene_shift=shift,
        scene_similarity=similarity,
    )


def _sharpness(g: Floats, stds: Floats) -> float:
    """Median over the textured blocks of Laplacian energy over luma variance. Dimmer light
    lowers both, a cover removes blocks but leaves the rest as sharp: only a loss of detail
    (focus, a fogged or smeared lens) lowers it."""
    textured = stds >= LOW_TEXTURE_STD
    if not textured.any():
        return 0.0
    lap = cv2.Laplacian(g, cv2.CV_32F)
    energy = _block_means(lap * lap)
    return float(np.median(energy[textured] / (stds[textured] ** 2)))


def _block_means(g: Floats) -> Floats:
    h, w = (g.shape[0] // BLOCK) * BLOCK, (g.shape[1] // BLOCK) * BLOCK
    blocks = g[:h, :w].reshape(h // BLOCK, BLOCK, w // BLOCK, BLOCK)
    return np.asarray(blocks.mean(axis=(1, 3)), np.float32)


def _block_stds(g: Floats) -> Floats:
    h, w = (g.shape[0] // BLOCK) * BLOCK, (g.shape[1] // BLOCK) * BLOCK
    blocks = g[:h, :w].reshape(h // BLOCK, BLOCK, w // BLOCK, BLOCK)
    return np.asarray(blocks.std(axis=(1, 3)), np.float32)


def _largest_region(mask: npt.NDArray[np.bool_]) -> float:
    if not mask.any():
        return 0.0
    found = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=4)
    count, stats = found[0], np.asarray(found[2])
    return float(stats[1:count, cv2.CC_STAT_AREA].max()) / mask.size


def _blue_screen(small: Image) -> bool:
    b, g, r = (float(small[:, :, i].mean()) for i in range(3))
    return b > 120 and b > 2.5 * max(g, r, 1.0) and float(small[:, :, 0].std()) < 12


def _colour_bars(g: Floats) -> bool:
    """A test pattern of vertical bars: most columns of the top 60 % constant (an OSD may
    cross a few), at four or more distinct levels (a cover is one level)."""
    top = g[: int(g.shape[0] * 0.6)]
    constant = top.std(axis=0) < 3.0
    if constant.mean() < 0.72:
        return False
    levels = np.sort(top.mean(axis=0)[constant])
    return int((np.diff(levels) > 8.0).sum()) + 1 >= 4


def noise_sigma(luma: Image) -> float:
    """Immerkær's estimate: the mean response of a Laplacian-difference kernel that cancels
    edges and smooth gradients, ~σ for Gaussian noise (edges add a little, the same in the
    camera's baseline)."""
    kernel = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
    response = cv2.filter2D(luma.astype(np.float32), -1, kernel)[1:-1, 1:-1]
    return float(np.abs(response).mean()) * float(np.sqrt(np.pi / 2)) / 6.0


def _block_changes(g: Floats, previous: Image) -> Floats:
    """Each block's mean absolute difference from the previous sample."""
    prev = cv2.cvtColor(_same_size(previous, g.shape), cv2.COLOR_BGR2GRAY).astype(np.float32)
    return _block_means(np.abs(g - prev)).ravel()


def _flicker(g: Floats, previous: Image) -> float:
    """The median block's change since the previous sample, on the pictures smoothed: noise
    (kept by the encoder as blotches) changes every block; a change of focus barely does."""
    prev = cv2.cvtColor(_same_size(previous, g.shape), cv2.COLOR_BGR2GRAY).astype(np.float32)
    smooth = cv2.GaussianBlur(g, (0, 0), 1.5)
    return float(np.median(_block_means(np.abs(smooth - cv2.GaussianBlur(prev, (0, 0), 1.5)))))


def _changed(blocks: Floats) -> float:
    """How much the picture changed where it changed most since the previous sample: the
    change of the 2nd most changed block (one block of encoder noise is ignored). A live
    picture always changes somewhere (the OSD clock's seconds, people, traffic); a frozen one
    does not."""
    return float(np.sort(blocks)[-CHANGED_BLOCKS]) if blocks.size >= CHANGED_BLOCKS else 0.0


def _same_size(img: Image, shape: tuple[int, ...]) -> Image:
    if img.shape[:2] == shape[:2]:
        return img
    return np.asarray(cv2.resize(img, (shape[1], shape[0]), interpolation=cv2.INTER_AREA), np.uint8)


def scene_against(gray: Image, reference: Image) -> tuple[float | None, float]:
    """How far the picture moved from the reference (share of the width; None when too few
    features match to say) and how alike their edge maps are (-1..1)."""
    ref = np.asarray(cv2.cvtColor(_same_size(reference, gray.shape), cv2.COLOR_BGR2GRAY), np.uint8)
    return _shift(gray, ref), _edge_similarity(gray, ref)


def _edge_map(gray: Image) -> Floats:
    g = cv2.GaussianBlur(gray.astype(np.float32), (0, 0), 2.0)
    mag = cv2.magnitude(cv2.Sobel(g, cv2.CV_32F, 1, 0), cv2.Sobel(g, cv2.CV_32F, 0, 1))
    mag = cv2.GaussianBlur(mag, (0, 0), 2.0)
    return np.asarray(mag - mag.mean(), np.float32)


def _edge_similarity(a: Image, b: Image) -> float:
    ea, eb = _edge_map(a), _edge_map(b)
    denom = float(np.sqrt((ea * ea).sum() * (eb * eb).sum()))
    return float((ea * eb).sum()) / denom if denom > 0 else 0.0


def _shift(gray: Image, ref: Image) -> float | None:
    orb = cv2.ORB.create(ORB_FEATURES)
    kp1, d1 = orb.detectAndCompute(ref, None)
    kp2, d2 = orb.detectAndCompute(gray, None)
    if d1 is None or d2 is None or len(kp1) < MIN_INLIERS or len(kp2) < MIN_INLIERS:
        return None
    matches = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True).match(d1, d2)
    if len(matches) < MIN_INLIERS:
        return None
    src = np.array([kp1[m.queryIdx].pt for m in matches], np.float32).reshape(-1, 1, 2)
    dst = np.array([kp2[m.trainIdx].pt for m in matches], np.float32).reshape(-1, 1, 2)
    model, inliers = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC,
                                                 ransacReprojThreshold=3.0)  # fmt: skip
    if model is None or inliers is None or int(inliers.sum()) < MIN_INLIERS:
        return None
    h, w = gray.shape[:2]
    corners = np.array([[0, 0], [w, 0], [0, h], [w, h]], np.float32).reshape(-1, 1, 2)
    moved = np.asarray(cv2.transform(corners, model), np.float32)
    return float(np.linalg.norm((moved - corners).reshape(-1, 2), axis=1).max()) / float(w)
