"""Both engines record a program stream served on ``tcp://`` (what the GB/T 28181 relay
serves them), with the demuxer named (``input_format="mpeg"``), and end on their own when the
stream stops: FFmpeg's ``timeout`` is in microseconds for the tcp protocol as for RTSP.

Fails (never skips) without ffmpeg."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from custos.adapters.media import fmp4
from custos.domain.clock import SystemClock
from custos.recorder.engines.ffmpeg import FfmpegEngine
from custos.recorder.engines.pyav import ShardPool
from custos.recorder.port import RecordingEngine, SessionRequest
from custos.recorder.run_state import RunState

#: A silent peer is noticed after a few of these: probing and the demuxer's resync each wait
#: one socket time-out (measured with ffmpeg 5.1: about 10 of them, 5.5 s for 0.5 s).
IO_TIMEOUT_S = 0.5


@pytest.fixture(scope="module")
def program_stream(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    if shutil.which("ffmpeg") is None:
        pytest.fail("ffmpeg is needed: run scripts/setup")
    path = tmp_path_factory.mktemp("ps") / "clip.ps"
    source = ["-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-t", "3"]
    h264 = ["-c:v", "libx264", "-g", "25", "-bf", "0"]
    subprocess.run(
        [
            "ffmpeg",
            "-hide_banner",
            "-loglevel",
            "error",
            *source,
            *h264,
            "-f",
            "mpeg",
            "-y",
            str(path),
        ],
        check=True,
    )
    return path.read_bytes()


@pytest.fixture
def silent_after(program_stream: bytes) -> Iterator[str]:
    """A TCP peer on 127.0.0.1 that sends 3 s of PS at once, then keeps the connection open
    and says nothing more (a device that vanished behind the relay)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    done = threading.Event()

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            conn.sendall(program_stream)
            done.wait(60)

    threading.Thread(target=serve, daemon=True).start()
    yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    done.set()
    server.close()


@pytest.mark.parametrize("engine_name", ["ffmpeg", "pyav"])
def test_a_program_stream_on_tcp_is_recorded_and_its_end_noticed(
    engine_name: str, silent_after: str, tmp_path: Path
) -> None:
    engine: RecordingEngine = (
        FfmpegEngine() if engine_name == "ffmpeg" else ShardPool(open_timeout_s=5)
    )
    try:
        run = RunState(SystemClock())
        request = SessionRequest(1, silent_after, tmp_path, 10, IO_TIMEOUT_S, "mpeg")
        started = time.monotonic()
        session = engine.start(request, run, lambda: None)
        listed = list(session.listed())
        session.wait()
        took = time.monotonic() - started
    finally:
        engine.close()
    assert took < 20, f"a silent tcp peer took {took:.1f} s to notice"
    assert "Connection timed out" in "\n".join(run.log_tail)
    assert run.video is not None and run.video.codec == "h264"
    assert [s.name for s in listed] == ["000000.mp4"]
    assert listed[0].media_end - listed[0].media_start == pytest.approx(3.0, abs=0.2)
    found = fmp4.scan(tmp_path / "000000.mp4")
    assert found.has_media and not found.torn
