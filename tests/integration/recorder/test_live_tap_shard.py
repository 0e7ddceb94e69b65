"""A recording shard's live tap against GStreamer's RTSP server (docs/design/live.md, section 1):
a viewer on the session's socket gets the init, then one fragment per frame as the camera sends
them, and the segments recorded meanwhile are whole."""

from __future__ import annotations

import io
import itertools
import os
import socket
import statistics
import subprocess
import time
from pathlib import Path

import av
import pytest

from custos.adapters.media.live_tap_server import live_socket_path
from custos.bootstrap import Container
from custos.domain.clock import SystemClock
from custos.recorder.engines.pyav import ShardPool
from custos.recorder.port import SessionRequest
from custos.recorder.run_state import RunState
from custos.services.live_relay import BoxRelay, Fragments, Init
from tests.integration.recorder.conftest import (
    CameraServer,
    RecorderProcess,
    register,
    wait_until,
)

pytestmark = pytest.mark.slow  # it times frames: run with the other timed tests, alone

FRAME_S = 1 / 25  # the clip's rate
WATCH_S = 3.0


def _connect(path: Path) -> socket.socket:
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        conn.connect(f"/proc/self/fd/{fd}/{path.name}")
    finally:
        os.close(fd)
    return conn


def _probe_frames(path: Path) -> list[float]:
    """Each video packet's time in the file, as ffprobe reads it."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=dts_time",
         "-of", "csv=p=0", str(path)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return [float(line) for line in out.split()]


def test_a_viewer_of_a_shard_gets_each_frame_as_it_comes_and_the_segments_stay_whole(
    cameras: CameraServer, tmp_path: Path
) -> None:
    live = live_socket_path(tmp_path / "live", 1)
    run_dir = tmp_path / "run"
    pool = ShardPool(open_timeout_s=5, shard_dir=tmp_path / "shards")
    run = RunState(SystemClock())
    try:
        request = SessionRequest(1, cameras.url("cam1"), run_dir, 2, 5.0, live_socket=live)
        session = pool.start(request, run, lambda: None)
        wait_until(live.exists, 15, 0.05)
        conn = _connect(live)
        conn.settimeout(5)
        relay = BoxRelay()
        init: Init | None = None
        arrivals: list[float] = []
        stream = b""
        end = time.monotonic() + WATCH_S
        while time.monotonic() < end:
            chunk = conn.recv(1 << 20)
            assert chunk, "the tap ended while the camera sends"
            now = time.monotonic()
            for piece in relay.pieces(chunk):
                if isinstance(piece, Init):
                    assert init is None, "one init per session"
                    init = piece
                    stream += piece.data
                elif isinstance(piece, Fragments):
                    stream += piece.data
                    arrivals += [now] * piece.data.count(b"moof")
        session.terminate()
        listed = list(session.listed())
        session.wait()
        while conn.recv(1 << 20):  # the session ended: end of file
            pass
        conn.close()
    finally:
        pool.close()
    assert init is not None and init.codec is not None and init.codec.startswith("avc1.")
    with av.open(io.BytesIO(stream), "r") as container:
        frames = [f.key_frame for f in container.decode(video=0)]
    assert frames[0] and len(frames) == len(arrivals)
    # Live, not a GOP at a time: after the cached GOP's burst, one fragment per frame.
    live_gaps = [b - a for a, b in itertools.pairwise(arrivals[-40:])]
    assert 0.5 * FRAME_S < statistics.median(live_gaps) < 1.5 * FRAME_S
    assert max(live_gaps) < 0.5
    assert len(frames) >= (WATCH_S - 1) / FRAME_S
    assert not live.exists()  # the session's socket went with it
    # The segments are the recording's own, every frame there, none lost to the tap.
    assert listed and all((run_dir / s.name).exists() for s in listed)
    times: list[float] = []
    for segment in listed:
        found = _probe_frames(run_dir / segment.name)
        assert found, segment.name
        times += [segment.media_start + t for t in found]
    steps = [b - a for a, b in itertools.pairwise(times)]
    assert max(steps) < 2.5 * FRAME_S and min(steps) > 0
    # (the shard counts the packets before the first keyframe too, which no file can hold)
    assert run.frames - 50 <= len(times) <= run.frames


def test_the_recorder_gives_each_camera_a_live_socket_in_the_data_directory(
    site: Container, cameras: CameraServer, recorder: RecorderProcess
) -> None:
    """The whole path: settings -> camera worker -> shard -> tap, for the camera's main stream."""
    camera, _ = register(site, cameras.urls())
    live = site.settings.resolved_live_dir() / f"{camera}.main.sock"
    recorder.start()
    wait_until(live.exists, 40, 0.1)
    conn = _connect(live)
    conn.settimeout(10)
    relay = BoxRelay()
    pieces: list[object] = []
    while not any(isinstance(p, Fragments) for p in pieces):
        chunk = conn.recv(1 << 20)
        assert chunk
        pieces += relay.pieces(chunk)
    conn.close()
    assert any(isinstance(p, Init) for p in pieces)
    recorder.assert_running()
    recorder.stop()
    assert not live.exists()  # the session closed with the recorder's stop
