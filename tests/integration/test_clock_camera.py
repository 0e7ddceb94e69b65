"""The time-code camera of the live-delay bench: it serves RTSP, and the time burnt into a frame
decoded by PyAV is the time it was captured (within a second of now, on one machine)."""

from __future__ import annotations

import itertools
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import av
import pytest
import time_machine

from custos.adapters.media.simcam import clock_camera
from custos.adapters.media.simcam.clip import SYSTEM_PYTHON
from tests.ports import free_port

SCRIPT = Path(clock_camera.__file__)


@pytest.fixture
def camera_port() -> Iterator[int]:
    port = free_port()
    argv = [SYSTEM_PYTHON, str(SCRIPT), "--port", str(port), "--mounts", "2", "--gop-s", "1"]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        try:
            assert proc.stdout is not None and proc.stderr is not None
            line = proc.stdout.readline().strip()
            assert line == b"ready", proc.stderr.read().decode()
            yield port
        finally:
            proc.terminate()
            proc.wait(10)


def luma(frame: av.VideoFrame) -> bytes:
    """The Y plane without its row padding."""
    plane = frame.planes[0]
    data = bytes(plane)
    return b"".join(
        data[r * plane.line_size : r * plane.line_size + frame.width] for r in range(frame.height)
    )


def test_code_round_trip_and_bad_reads_refused() -> None:
    ms = 1_796_686_046_300
    frame = clock_camera.ClockFrame(320, 180)
    y = frame.stamp(ms)[: 320 * 180]
    assert clock_camera.read_code(y, 320) == ms
    s = clock_camera.cell_size(320)
    flipped = bytearray(y)
    x, row = s + 10 * s + s // 2, s + s // 2  # one data cell of the top row, flipped
    for dy in range(-1, 2):
        at = (row + dy) * 320 + x
        flipped[at - 1 : at + 2] = bytes([255 - flipped[at]]) * 3
    assert clock_camera.read_code(bytes(flipped), 320) is None


def machine_time() -> float:
    """The machine's own wall clock, even where scripts/test-at moved this process's."""
    hatch = time_machine.escape_hatch
    return hatch.time.time() if hatch.is_travelling() else time.time()


def test_served_frame_carries_the_time_it_was_made(camera_port: int) -> None:
    url = f"rtsp://127.0.0.1:{camera_port}/clock2"
    with av.open(url, options={"rtsp_transport": "tcp", "stimeout": "5000000"}) as c:
        stream = c.streams.video[0]
        assert (stream.codec_context.name, stream.width, stream.height) == ("h264", 640, 360)
        keyframes, codes, delays = [], [], []
        for frame in c.decode(stream):
            # the machine's own clock, as the camera's (Debian's python, outside time-machine)
            # reads it: scripts/test-at moves this process's clock only
            now = machine_time() * 1000
            code = clock_camera.read_code(luma(frame), frame.width)
            if code is not None:
                codes.append(code)
                delays.append(now - code)
            keyframes.append(frame.key_frame)
            if len(keyframes) >= 50:
                break
    assert len(codes) >= 45, f"only {len(codes)} of 50 frames had a readable time code"
    steps = [b - a for a, b in itertools.pairwise(codes)]
    assert all(0 < step < 500 for step in steps), steps  # 40 ms apart at 25 fps, give or take
    # PyAV's probe holds the first second of frames back; the frames after it are fresh
    assert all(0 <= d < 1000 for d in delays[-10:]), delays
    assert sum(keyframes) >= 1  # a keyframe every second: 50 frames hold at least one
