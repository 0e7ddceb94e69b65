"""Real peers for the recorder: GStreamer's RTSP server replaying a clip, a TCP server that
answers with junk, and `custos recorder`.

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
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from custos.adapters.db.migrate import upgrade
from custos.adapters.media.simcam.clip import SYSTEM_PYTHON, make_clip, server_command
from custos.bootstrap import Container, bootstrap
from custos.config import Settings
from custos.domain.calendar import shanghai_date
from custos.entrypoints.demo.cameras import register_demo_cameras
from tests.ports import free_port

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
    elements = {  # element: the Debian package that has it
        "appsrc": "gstreamer1.0-plugins-base",
        "h264parse": "gstreamer1.0-plugins-bad",
        "rtph264pay": "gstreamer1.0-plugins-good",
        "h265parse": "gstreamer1.0-plugins-bad",
        "rtph265pay": "gstreamer1.0-plugins-good",
        "audiotestsrc": "gstreamer1.0-plugins-base",
        "opusenc": "gstreamer1.0-plugins-base",
        "rtpopuspay": "gstreamer1.0-plugins-good",
    }
    for element, package in elements.items():
        found = shutil.which("gst-inspect-1.0") and subprocess.run(
            ["gst-inspect-1.0", "--exists", element], capture_output=True, check=False
        ).returncode == 0  # fmt: skip
        if not found:
            missing.append(f"GStreamer element {element} ({package}, gstreamer1.0-tools)")
    encoders = subprocess.run(
        ["ffmpeg", "-hide_banner", "-encoders"], capture_output=True, text=True, check=False
    ).stdout if "ffmpeg" not in missing else ""  # fmt: skip
    missing += [f"ffmpeg encoder {e}" for e in ("libx264", "libx265") if f" {e} " not in encoders]
    if missing:
        pytest.fail(f"recorder tests need {', '.join(missing)}: run scripts/setup")


@pytest.fixture(scope="session")
def clip(media_tools: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("clip") / "clip.h264", seconds=10)


@pytest.fixture(scope="session")
def clip_h265(media_tools: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("clip") / "clip.h265", seconds=10, codec="h265")


class CameraServer:
    """A GStreamer RTSP server with one mount per camera; killed, restarted, frozen at will."""

    def __init__(
        self,
        clip: Path,
        mounts: list[str],
        codec: str = "h264",
        audio_mounts: list[str] | None = None,
        user: str | None = None,
        password: str = "",
    ) -> None:
        self.clip, self.mounts, self.port = clip, mounts, free_port()
        self.codec, self.audio_mounts = codec, audio_mounts or []
        self.user, self.password = user, password
        self._proc: subprocess.Popen[bytes] | None = None

    def urls(self) -> list[str]:
        return [self.url(m) for m in self.mounts]

    def url(self, mount: str, user: str | None = None, password: str = "") -> str:
        auth = f"{user}:{password}@" if user else ""
        return f"rtsp://{auth}127.0.0.1:{self.port}/{mount}"

    def start(self) -> None:
        argv = server_command(
            self.clip,
            self.port,
            self.mounts,
            user=self.user,
            password=self.password,
            codec=self.codec,
            audio_mounts=self.audio_mounts,
        )
        self._proc = subprocess.Popen(argv, stdout=subprocess.PIPE)
        assert self._proc.stdout is not None
        assert self._proc.stdout.readline().strip() == b"ready"

    def toggle_freeze(self) -> None:
        """Freeze (or thaw) every stream: connections stay open, no media is sent."""
        assert self._proc is not None and self._proc.poll() is None
        self._proc.send_signal(signal.SIGUSR1)

    def kill(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
            assert self._proc.stdout is not None
            self._proc.stdout.close()


@dataclass
class JunkConnection:
    accepted: float  # time.monotonic()
    closed: float | None = None  # when the client hung up


class JunkServer:
    """A TCP server at a camera's address that does not speak RTSP.

    ``garbage``: reads the request, answers with 1 KiB of random bytes and hangs up.
    ``endless``: reads the request, then sends random bytes until the client hangs up.
    ``http``: reads the request and answers like a web server (``HTTP/1.1 400``), then waits.
    Connections that send a request (ffmpeg's, not the recorder's bare TCP probe) are recorded.
    """

    def __init__(self, mode: str) -> None:
        assert mode in {"garbage", "endless", "http"}
        self.mode = mode
        self.connections: list[JunkConnection] = []
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._sock.getsockname()[1])
        self._closing = False
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}/stream"

    def _accept(self) -> None:
        while not self._closing:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        record = JunkConnection(time.monotonic())
        with conn:
            try:
                if not conn.recv(4096):
                    return  # the recorder's TCP probe: connect, then close
                self.connections.append(record)
                if self.mode == "garbage":
                    conn.sendall(os.urandom(1024))
                elif self.mode == "http":
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                    conn.settimeout(None)
                    while conn.recv(4096):
                        pass
                else:
                    conn.settimeout(0.01)
                    while True:
                        try:
                            if conn.recv(4096) == b"":
                                break  # the client hung up
                        except TimeoutError:
                            pass
                        conn.sendall(os.urandom(1024))
            except OSError:
                pass
            finally:
                record.closed = time.monotonic()

    def close(self) -> None:
        self._closing = True
        self._sock.close()


class RecorderProcess:
    def __init__(self, data_dir: Path, engine: str) -> None:
        self.data_dir = data_dir
        self.engine = engine
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = data_dir / "recorder.log"
        self.env: dict[str, str] = {}  # more environment for the next start

    def start(self) -> None:
        env = (
            os.environ
            | {
                "CUSTOS_DATA_DIR": str(self.data_dir),
                "CUSTOS_RECORDER_METRICS_PORT": "0",
                "CUSTOS_RECORDER_ENGINE": self.engine,
                # a shard left by a recorder killed here ends soon after the test
                "CUSTOS_RECORDER_ORPHAN_S": "10",
            }
            | self.env
        )
        env.pop("CUSTOS_DATABASE_URL", None)
        argv = [sys.executable, "-m", "custos", "recorder"]
        argv += ["--segment-seconds", str(SEGMENT_SECONDS)]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(argv, env=env, stdout=log, stderr=log)

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(30)

    def assert_running(self) -> None:
        """The recorder has not crashed (nor logged a traceback) so far."""
        assert self.proc is not None
        assert self.proc.poll() is None, f"the recorder exited with {self.proc.returncode}"
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        assert "Traceback" not in text, text[-3000:]


def shard_pids(data_dir: Path) -> list[int]:
    """The recording shards that listen under ``data_dir`` (each on ``shards/<pid>.sock``),
    whichever recorder started them."""
    found = []
    for sock in sorted((data_dir / "shards").glob("*.sock")):
        pid = int(sock.stem)
        cmdline = Path(f"/proc/{pid}/cmdline")
        if cmdline.exists() and b"custos.recorder.shard" in cmdline.read_bytes():
            found.append(pid)
    return found


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
def engine() -> str:
    """The recording engine under test: the default one. Modules that test what each engine
    must do alike override this fixture with both (see ``ENGINES``)."""
    return str(Settings.model_fields["recorder_engine"].default)


#: Every engine, for ``@pytest.fixture(params=ENGINES)`` overrides of ``engine``.
ENGINES = ["pyav", "ffmpeg"]


@pytest.fixture
def recorder(site: Container, engine: str) -> Iterator[RecorderProcess]:
    rec = RecorderProcess(site.settings.data_dir, engine)
    yield rec
    rec.stop()
    if rec.log.exists():  # shown by pytest only when the test failed
        print(f"---- {rec.log} (tail)")
        print("\n".join(rec.log.read_text(errors="replace").splitlines()[-40:]))


def register(site: Container, urls: list[str]) -> list[int]:
    today = shanghai_date(site.clock.now())
    return register_demo_cameras(site.registry, urls, today)
