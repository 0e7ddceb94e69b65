"""The second plate proposer: text lines shaped like a plate, from a text probability map."""

from __future__ import annotations

import numpy as np
import pytest

from custos.adapters.masking.detectors import TextPlateDetector, _scaled
from custos.domain.masking import Box, MaskKind


@pytest.fixture(scope="module")
def detector() -> TextPlateDetector:
    return TextPlateDetector(threads=1)


def _map(*blobs: tuple[int, int, int, int, float]) -> np.ndarray:
    probability = np.zeros((360, 640), dtype=np.float32)
    for x0, y0, x1, y1, p in blobs:
        probability[y0:y1, x0:x1] = p
    return probability


def test_a_plate_shaped_line_becomes_a_plate_box_of_the_plate_s_height(
    detector: TextPlateDetector,
) -> None:
    scaled = _scaled(np.zeros((360, 640, 3), dtype=np.uint8), 1280, 720)  # half the frame
    (found,) = detector.lines(_map((100, 200, 190, 210, 0.9)), scaled)
    assert found.kind is MaskKind.PLATE and found.score == pytest.approx(0.9)
    # the line is 180×20 frame pixels at (200..380, 400..420): widened by a fifth and as
    # tall as a 3:1 plate that wide, around the same centre
    assert found.box == Box(182, 374, 398, 446)
    assert Box(200, 400, 380, 420).covered_by([found.box]) == 1.0


def test_square_faint_and_tiny_regions_are_not_plates(detector: TextPlateDetector) -> None:
    scaled = _scaled(np.zeros((360, 640, 3), dtype=np.uint8), 640, 360)
    blobs = _map(
        (10, 10, 60, 60, 0.9),  # square: a face or a logo, not a line of text
        (100, 100, 200, 110, 0.5),  # above the pixel threshold, below the line's mean
        (300, 300, 318, 304, 0.9),  # 18 px wide: under min_width
        (400, 300, 600, 305, 0.9),  # 40:1, no plate
    )
    assert detector.lines(blobs, scaled) == []
    assert detector.lines(_map(), scaled) == []


def test_settings_are_checked_and_described() -> None:
    with pytest.raises(ValueError, match="aspect"):
        TextPlateDetector(aspect=(5.0, 2.0))
    with pytest.raises(ValueError, match="input_width"):
        TextPlateDetector(input_width=32)
    described = TextPlateDetector(threads=1).description
    assert described["kind"] == "plate" and "ch_mul_v2_c_det.onnx" in str(described["model"])
