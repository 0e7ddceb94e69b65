"""What the recorder learns from ffmpeg's standard error while it runs."""

from __future__ import annotations

import threading

from custos.domain.clock import ManualClock
from custos.recorder.run_state import RunState
from tests.conftest import START


def test_progress_blocks_advance_frames_and_last_frame_time() -> None:
    run = RunState(ManualClock(START))
    for line in ("frame=25\n", "fps=25.0\n", "progress=continue\n"):
        run.feed(line)
    assert run.frames == 25 and run.last_frame_at == START
    assert run.stalled_for() < 1


def test_a_segment_counts_as_closed_once_ffmpeg_opens_the_next() -> None:
    run = RunState(ManualClock(START))
    assert not run.wait_closed(0, timeout_s=0.01)
    threading.Timer(
        0.05, run.feed, ["[segment @ 0x1] Opening '/m/000001.mp4' for writing\n"]
    ).start()
    assert run.wait_closed(0, timeout_s=5)


def test_a_segment_counts_as_closed_when_ffmpeg_exits() -> None:
    run = RunState(ManualClock(START))
    run.mark_exited()
    assert run.wait_closed(7, timeout_s=0.01)


def test_log_lines_are_kept_but_progress_lines_are_not() -> None:
    run = RunState(ManualClock(START))
    run.feed("frame=1\n")
    run.feed("rtsp://x: Connection refused\n")
    assert list(run.log_tail) == ["rtsp://x: Connection refused"]
