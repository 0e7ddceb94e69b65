"""The threaded decode → detect → mask → encode pipeline: late boxes, failures, progress."""

from __future__ import annotations

import threading
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from custos.adapters.masking.detectors import Frame
from custos.adapters.masking.video import mask_clip, propose, render
from custos.domain.masking import Box, Detection, MaskKind, TrackerSettings

WIDTH, HEIGHT, FRAMES = 320, 240, 23


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("pipeline") / "grey.mp4"
    with av.open(str(target), "w", format="mp4") as output:
        stream = output.add_stream("libx264", rate=Fraction(25))
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        for index in range(FRAMES):
            image = np.full((HEIGHT, WIDTH, 3), 90 + index, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            for packet in stream.encode(frame.reformat(format="yuv420p")):
                output.mux(packet)
        for packet in stream.encode(None):
            output.mux(packet)
    return target


class Appears:
    """A fake detector: a plate seen from the ``from_call``-th run on; may fail on a call."""

    kind = MaskKind.PLATE
    input_width = 160

    def __init__(
        self, from_call: int, fail_on: int | None = None, meet: threading.Barrier | None = None
    ) -> None:
        self.from_call, self.fail_on, self.calls, self.meet = from_call, fail_on, 0, meet
        self.description: dict[str, object] = {"kind": "plate", "model": "fake"}
        self.threads: set[str] = set()

    def detect(self, frame: Frame) -> list[Detection]:
        raise AssertionError("the pipeline gives the detector its input size")

    def detect_input(self, image: Frame, width: int, height: int) -> list[Detection]:
        self.calls += 1
        self.threads.add(threading.current_thread().name)
        if self.meet is not None and self.calls == 1:
            self.meet.wait()  # broken (an error) unless the other detector runs at the same time
        if self.calls == self.fail_on:
            raise RuntimeError("detector broke")
        if self.calls < self.from_call:
            return []
        return [Detection(self.kind, Box(100, 100, 160, 120), 0.9)]


def test_a_plate_first_seen_at_a_run_is_masked_from_the_frame_after_the_run_before(
    clip: Path, tmp_path: Path
) -> None:
    detector = Appears(from_call=3)  # runs at frames 0, 5, 10: first seen at 10
    done = mask_clip(clip, tmp_path / "m.mp4", [detector], detect_every=5, keep_boxes=True)
    assert done.frames == FRAMES and len(done.per_frame) == FRAMES
    assert all(name.startswith("mask-detect") for name in detector.threads)
    masked = [i for i, boxes in enumerate(done.per_frame) if boxes]
    assert masked == list(range(6, FRAMES))  # 6..9 carried back, 10 on seen and held
    for index in range(6, FRAMES):
        assert Box(100, 100, 160, 120).covered_by(done.per_frame[index]) == 1.0
    # without backfill the frames before the run stay unmasked, as a proposal's would
    plain = mask_clip(
        clip, tmp_path / "p.mp4", [Appears(from_call=3)], detect_every=5,
        tracking=TrackerSettings(backfill=False), keep_boxes=True,
    )  # fmt: skip
    assert next(i for i, boxes in enumerate(plain.per_frame) if boxes) == 10
    proposal = propose(clip, [Appears(from_call=3)], detect_every=5)
    (track,) = proposal.tracks
    assert [f for f, _ in track.frames][:5] == [6, 7, 8, 9, 10]


def test_a_failing_detector_or_box_source_stops_the_copy_with_its_error(
    clip: Path, tmp_path: Path
) -> None:
    before = threading.active_count()
    with pytest.raises(RuntimeError, match="detector broke"):
        mask_clip(clip, tmp_path / "f.mp4", [Appears(1, fail_on=3)], detect_every=5)

    def boxes_for(index: int, _: object) -> list[Box]:
        if index == 7:
            raise KeyboardInterrupt
        return []

    with pytest.raises(KeyboardInterrupt):
        render(clip, tmp_path / "s.mp4", boxes_for)
    assert threading.active_count() == before  # the decoder and encoder threads ended


def test_two_detectors_run_at_the_same_time_and_their_results_stay_in_frame_order(
    clip: Path, tmp_path: Path
) -> None:
    meet = threading.Barrier(2, timeout=10)
    early, late = Appears(1, meet=meet), Appears(2, meet=meet)
    done = mask_clip(clip, tmp_path / "t.mp4", [early, late], detect_every=5, keep_boxes=True)
    # frame 0, then every 5th frame from 0 and from 2
    assert not meet.broken and (early.calls, late.calls) == (5, 6)
    assert all(len(boxes) == 2 for boxes in done.per_frame[3:])  # one track from each


def test_progress_counts_every_frame_and_may_stop_the_copy(clip: Path, tmp_path: Path) -> None:
    counted: list[int] = []
    done = render(clip, tmp_path / "r.mp4", lambda i, _: [], progress=counted.append)
    assert counted == list(range(1, FRAMES + 1)) and done.frames == FRAMES

    def stop(done: int) -> None:
        if done == 7:
            raise KeyboardInterrupt

    before = threading.active_count()
    with pytest.raises(KeyboardInterrupt):
        render(clip, tmp_path / "s.mp4", lambda i, _: [], progress=stop)
    assert threading.active_count() == before
