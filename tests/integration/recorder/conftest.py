"""Real peers for the recorder: GStreamer's RTSP server replaying a clip, and `custos recorder`.

These tests fail (never skip) when ffmpeg, ffprobe or GStreamer's RTSP server are missing:
``scripts/setup`` installs them.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from custos.adapters.db.migrate import upgrade
from custos.adapters.media.simcam.clip import SYSTEM_PYTHON, make_clip, server_command
from custos.bootstrap import Container, bootstrap
from custos.config import Settings
from custos.demo.cameras import register_demo_cameras
from custos.domain.calendar import shanghai_date

SEGMENT_SECONDS = 10


def wait_until(check: Callable[[], bool], timeout_s: float, step_s: float = 0.2) -> float:
    """Poll ``check``; return the seconds it took, fail the test after ``timeout_s``."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout_s:
            pytest.fail(f"condition not met within {timeout_s} s")
        time.sleep(step_s)
    return time.monotonic() - start


@pytest.fixture(scope="session")
def media_tools() -> None:
    missing = [tool for tool in ("ffmpeg", "ffprobe") if shutil.which(tool) is None]
    probe = subprocess.run(
        [SYSTEM_PYTHON, "-c", "import gi; gi.require_version('GstRtspServer', '1.0')"],
        capture_output=True,
        check=False,
    ) if Path(SYSTEM_PYTHON).exists() else None  # fmt: skip
    if probe is None or probe.returncode != 0:
        missing.append("GStreamer RTSP server for /usr/bin/python3 (gir1.2-gst-rtsp-server-1.0)")
    if missing:
        pytest.fail(f"recorder tests need {', '.join(missing)}: run scripts/setup")


@pytest.fixture(scope="session")
def clip(media_tools: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("clip") / "clip.h264", seconds=10)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class CameraServer:
    """A GStreamer RTSP server with one mount per camera; killed and restarted at will."""

    def __init__(self, clip: Path, mounts: list[str]) -> None:
        self.clip, self.mounts, self.port = clip, mounts, free_port()
        self._proc: subprocess.Popen[bytes] | None = None

    def urls(self) -> list[str]:
        return [f"rtsp://127.0.0.1:{self.port}/{m}" for m in self.mounts]

    def start(self) -> None:
        argv = server_command(self.clip, self.port, self.mounts)
        self._proc = subprocess.Popen(argv, stdout=subprocess.PIPE)
        assert self._proc.stdout is not None
        assert self._proc.stdout.readline().strip() == b"ready"

    def kill(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
            assert self._proc.stdout is not None
            self._proc.stdout.close()


class RecorderProcess:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = data_dir / "recorder.log"

    def start(self) -> None:
        env = os.environ | {
            "CUSTOS_DATA_DIR": str(self.data_dir),
            "CUSTOS_RECORDER_METRICS_PORT": "0",
        }
        env.pop("CUSTOS_DATABASE_URL", None)
        argv = [sys.executable, "-m", "custos", "recorder"]
        argv += ["--segment-seconds", str(SEGMENT_SECONDS)]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(argv, env=env, stdout=log, stderr=log)

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(30)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Container]:
    settings = Settings(data_dir=tmp_path / "data", recorder_metrics_port=0)
    upgrade(settings.resolved_database_url())
    c = bootstrap(settings)
    yield c
    c.close()


@pytest.fixture
def cameras(clip: Path) -> Iterator[CameraServer]:
    server = CameraServer(clip, ["cam1", "cam2"])
    server.start()
    yield server
    server.kill()


@pytest.fixture
def recorder(site: Container) -> Iterator[RecorderProcess]:
    rec = RecorderProcess(site.settings.data_dir)
    yield rec
    rec.stop()


def register(site: Container, urls: list[str]) -> list[int]:
    today = shanghai_date(site.clock.now())
    return register_demo_cameras(site.registry, urls, today)
