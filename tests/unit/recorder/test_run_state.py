"""What the recorder learns from ffmpeg's standard error while it runs."""

from __future__ import annotations

import threading

from custos.adapters.media.ffmpeg_segmenter import InputVideo
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


def test_the_input_streams_are_listed_and_the_output_section_is_not() -> None:
    run = RunState(ManualClock(START))
    for line in (
        "Input #0, rtsp, from '<stream>':\n",
        "  Stream #0:0: Audio: opus, 48000 Hz, stereo, fltp\n",
        "Output #0, segment, to '/m/%06d.mp4':\n",
        "  Stream #0:0: Video: hevc (Main), yuv420p(tv), 640x360, q=2-31, 25 fps\n",
    ):
        run.feed(line)
    assert run.input_streams == ["audio opus"]
    assert run.video is None  # the output's stream is not the input's


def test_the_stall_clock_restarts_when_the_input_is_described_after_a_slow_connect() -> None:
    """A connection that took most of the watchdog's time to set up (a saturated machine) is
    not called stalled before its first frames have had their full allowance."""
    for describe in (
        lambda r: r.feed("  Stream #0:0: Video: h264 (High), yuv420p, 1920x1080, 25 fps\n"),
        lambda r: r.describe(["video h264"], InputVideo("h264", 1920, 1080)),
    ):
        run = RunState(ManualClock(START))
        run.last_advance -= 9  # nine seconds of RTSP set-up and probing
        assert run.stalled_for() >= 9
        describe(run)
        assert run.stalled_for() < 1
        run.progress(25)
        run.last_advance -= 9
        describe(run)  # described again (it is not): frames already flow, the clock stands
        assert run.stalled_for() >= 9
