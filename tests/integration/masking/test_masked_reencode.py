"""Masked re-encode of a clip with moving faces: every face masked on every frame, H.264 720p25."""

from __future__ import annotations

import hashlib
from pathlib import Path

import av
import numpy as np
import pytest

from custos.adapters.masking.detectors import CenterFaceDetector, PlateDetector
from custos.adapters.masking.video import boxes_from_tracks, mask_clip, propose, render
from custos.domain.masking import Box, MaskMode, StaticZone
from tests.integration.masking.clips import faces_and_plates, write_clip

pytestmark = pytest.mark.slow  # detection and H.264 encoding of 720p clips
WIDTH, HEIGHT = 1280, 720


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_clip(tmp_path_factory.mktemp("mask") / "faces.mp4", seconds=1.2)


def _face_boxes(index: int) -> list[Box]:
    faces, _ = faces_and_plates(WIDTH, HEIGHT)
    found = []
    for mover in faces:
        x, y = mover.position(index, WIDTH, HEIGHT)
        h, w = mover.image.shape[:2]
        # the face inside the pasted head (hair and neck left out)
        found.append(Box(x + w // 5, y + h // 6, x + w * 4 // 5, y + h * 3 // 4))
    return found


def _decoded(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.width, stream.height) == ("h264", WIDTH, HEIGHT)
        assert stream.average_rate == 25
        return [f.to_ndarray(format="rgb24") for f in container.decode(stream)]


def test_every_face_is_masked_on_every_frame_and_the_source_is_untouched(
    clip: Path, tmp_path: Path
) -> None:
    before = hashlib.sha256(clip.read_bytes()).hexdigest()
    target = tmp_path / "masked.mp4"
    done = mask_clip(clip, target, [CenterFaceDetector()], detect_every=5, keep_boxes=True)
    assert done.frames == 30
    for index, boxes in enumerate(done.per_frame):
        for face in _face_boxes(index):
            assert face.covered_by(boxes) >= 0.98, (index, face, boxes)
    original, masked = _decoded(clip), _decoded(target)
    assert len(masked) == 30
    for index in (0, 13, 29):
        for face in _face_boxes(index):
            region = np.s_[face.y0 : face.y1, face.x0 : face.x1]
            diff = np.abs(original[index][region].astype(int) - masked[index][region].astype(int))
            assert diff.mean() > 8, (index, face)  # pixelated, not the face
    assert hashlib.sha256(clip.read_bytes()).hexdigest() == before


def test_a_reviewed_proposal_renders_its_tracks_and_the_static_zones(
    clip: Path, tmp_path: Path
) -> None:
    proposal = propose(clip, [CenterFaceDetector(), PlateDetector()], detect_every=5)
    assert proposal.frames == 30 and (proposal.width, proposal.height) == (WIDTH, HEIGHT)
    kinds = {track.kind.value for track in proposal.tracks}
    assert "face" in kinds
    per_frame = boxes_from_tracks(proposal.tracks)
    sign = StaticZone(0.0, 0.0, 0.25, 0.1, "shop sign")
    target = tmp_path / "reviewed.mp4"
    done = render(clip, target, lambda i, _: per_frame.get(i, []), zones=[sign], mode=MaskMode.FILL)
    assert done.frames == 30
    masked = _decoded(target)
    zone = masked[5][0:72, 0:320].astype(int)
    assert abs(zone.mean() - 128) < 4 and zone.std() < 4  # filled grey
