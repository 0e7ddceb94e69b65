"""The text-line proposer finds the yellow and green plates that the plate detector misses."""

from __future__ import annotations

import numpy as np

from custos.adapters.masking.detectors import PlateDetector, TextPlateDetector
from custos.domain.masking import Box
from tests.integration.masking.clips import background, faces_and_plates

WIDTH, HEIGHT = 1280, 720


def test_plates_of_every_colour_are_proposed_on_a_frame() -> None:
    frame = background(WIDTH, HEIGHT)
    faces, plates = faces_and_plates(WIDTH, HEIGHT)
    truth: list[Box] = []
    for index, mover in enumerate(faces + plates):
        x, y = mover.position(0, WIDTH, HEIGHT)  # no plate hides another
        h, w = mover.image.shape[:2]
        frame[y : y + h, x : x + w] = mover.image
        if index >= len(faces):
            truth.append(Box(x, y, x + w, y + h))
    frame = np.ascontiguousarray(frame)
    proposed = [d.box for d in TextPlateDetector(threads=1).detect(frame)]
    for colour, plate in zip(("blue", "yellow", "green"), truth, strict=True):
        # the whole plate, border included, not only its characters
        assert plate.covered_by(proposed) >= 0.95, (colour, plate, proposed)
    assert len(proposed) <= 4  # the faces and the background are not text
    found = [d.box for d in PlateDetector(threads=1).detect(frame)]
    # the reason for a second proposer: the yellow and green plates on this background
    assert sum(plate.covered_by(found) >= 0.95 for plate in truth[1:]) == 0
