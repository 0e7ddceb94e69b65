"""The ffmpeg cut of a segment for a playback session: holds only the range, is killed when it
runs out of time, and dies with the process that asked for it (SIGKILL included), even when a
request thread of the server started it."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from custos.adapters.media.segment_cut import FfmpegSegmentCutter
from tests.api.access_world import make_clip
from tests.integration.processes import alive


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False


def _stuck_ffmpeg(tmp_path: Path) -> tuple[Path, Path]:
    """An 'ffmpeg' that notes its pid and then never finishes."""
    pid_file = tmp_path / "ffmpeg.pid"
    script = tmp_path / "ffmpeg"
    script.write_text(f"#!/bin/sh\necho $$ > {pid_file}\nexec sleep 60\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script, pid_file


def _wait_for(path: Path, seconds: float = 10) -> int:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return int(path.read_text())
        time.sleep(0.05)
    raise AssertionError(f"{path} never appeared")


def test_a_cut_holds_only_the_range_asked_for(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "segment.mp4")
    cut = tmp_path / "cut.mp4"
    FfmpegSegmentCutter().cut(clip, cut, 2.0, 5.0)
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", str(cut)],
        capture_output=True,
        check=True,
    )
    assert 2.5 <= float(json.loads(probe.stdout)["format"]["duration"]) <= 3.5


def test_a_cut_that_fails_says_so_and_names_the_segment(tmp_path: Path) -> None:
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video")
    with pytest.raises(OSError, match=r"cannot cut broken\.mp4"):
        FfmpegSegmentCutter().cut(broken, tmp_path / "cut.mp4", None, 5.0)


def test_a_cut_that_runs_out_of_time_is_killed(tmp_path: Path) -> None:
    ffmpeg, pid_file = _stuck_ffmpeg(tmp_path)
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="was killed"):
        FfmpegSegmentCutter(str(ffmpeg), timeout_s=0.5).cut(
            tmp_path / "in.mp4", tmp_path / "out.mp4", None, 5.0
        )
    assert time.monotonic() - started < 5
    assert not alive(int(pid_file.read_text()))


_CUT_IN_A_REQUEST_THREAD = """
import sys, threading
from pathlib import Path
from custos.adapters.media.segment_cut import FfmpegSegmentCutter

work = Path(sys.argv[2])
cutter = FfmpegSegmentCutter(sys.argv[1], timeout_s=120)
t = threading.Thread(target=cutter.cut, args=(work / "in.mp4", work / "out.mp4", None, 5.0))
t.start()
t.join()
"""


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=lambda s: s.name)
def test_a_cut_dies_with_the_server_that_started_it(tmp_path: Path, sig: signal.Signals) -> None:
    ffmpeg, pid_file = _stuck_ffmpeg(tmp_path)
    server = subprocess.Popen(
        [sys.executable, "-c", _CUT_IN_A_REQUEST_THREAD, str(ffmpeg), str(tmp_path)],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        cutting = _wait_for(pid_file)
        assert alive(cutting)
        server.send_signal(sig)
        server.wait(10)
        assert _gone_within(cutting, 5), f"ffmpeg {cutting} outlived its server"
    finally:
        server.kill()
        server.wait()
        if pid_file.exists() and alive(int(pid_file.read_text())):
            os.kill(int(pid_file.read_text()), signal.SIGKILL)
