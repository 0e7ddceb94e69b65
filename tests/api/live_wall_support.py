"""What the live feed's tests share (``test_live_wall_feed.py``, ``test_live_wall_h265.py``): a
real live tap served as the recorder serves it, real samples made by ffmpeg, and reading the
WebSocket's messages."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import av
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from custos.adapters.media.live_tap import LiveTap, codec_string
from custos.adapters.media.live_tap_server import LiveTapServer
from custos.bootstrap import Container
from custos.domain.access import Role
from custos.domain.recording import CameraHealth, OfflineReason, RecorderState
from tests.api.builders import API, camera_body, make_site, make_unit
from tests.api.conftest import LoginAs

SUB_PASSWORD = "sub-Pw-9731"


@pytest.fixture
def backend() -> str:
    return "sqlite"  # the live feed reads no footage rows: one backend is enough


@pytest.fixture(scope="session")
def samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Ten seconds of 25 fps video, a keyframe a second: H.264, H.265, and H.264 as the
    recorder's fragmented MP4 file (a fragment per GOP)."""
    d = tmp_path_factory.mktemp("live-samples")
    source = ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "10"]
    encoders = {
        "h264": ["-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-bf", "0"],
        "h265": ["-c:v", "libx265", "-preset", "ultrafast", "-tag:v", "hvc1",
                 "-x265-params", "keyint=25:min-keyint=25:bframes=0:log-level=error"],
    }  # fmt: skip
    out = {}
    for name, encode in encoders.items():
        out[name] = d / f"{name}.mp4"
        subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", *source, *encode,
                        "-pix_fmt", "yuv420p", str(out[name])], check=True)  # fmt: skip
    out["file"] = d / "recorded.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(out["h264"]), "-c",
                    "copy", "-movflags", "empty_moov+default_base_moof+frag_keyframe",
                    str(out["file"])], check=True)  # fmt: skip
    return out


@pytest.fixture
def deadline() -> Iterator[None]:
    """A test waiting on a socket fails after 60 s instead of hanging."""

    def expire(_signum: int, _frame: FrameType | None) -> None:
        raise TimeoutError("no answer within 60 s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


class TapRig:
    """A recording session's tap as the recorder serves it: packets of ``sample`` handed to a
    ``LiveTap`` at the camera's rate, served on ``path``."""

    def __init__(self, sample: Path, path: Path, queue_bytes: int = 4 << 20) -> None:
        self._in = av.open(str(sample))
        self._video = self._in.streams.video[0]
        self.tap = LiveTap(self._video, codec_string(self._video))
        self.server = LiveTapServer(self.tap, path, queue_bytes).start()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        for packet in self._in.demux(self._video):
            if self._stop.wait(0.04):
                return
            if packet.size and packet.pts is not None and packet.dts is not None:
                self.tap.packet(packet, packet.pts, packet.dts)

    def close(self) -> None:
        """The session ended: the socket goes, its viewers read the end."""
        self._stop.set()
        self._thread.join()
        self.tap.close()
        self.server.close()
        self._in.close()


@pytest.fixture
def rigs() -> Iterator[list[TapRig]]:
    made: list[TapRig] = []
    yield made
    for rig in made:
        rig.close()


def receive(ws: Any) -> dict[str, Any] | bytes:
    message = ws.receive()
    if message["type"] == "websocket.close":
        raise WebSocketDisconnect(message.get("code", 1000))
    if message.get("bytes") is not None:
        return bytes(message["bytes"])
    return dict(json.loads(message["text"]))


def until(ws: Any, kind: str, **expected: Any) -> dict[str, Any]:
    """Read (skipping binary frames and other messages) up to a message of ``kind``."""
    while True:
        m = receive(ws)
        if isinstance(m, dict) and m["type"] == kind and expected.items() <= m.items():
            return m


def frames(ws: Any, count: int) -> list[bytes]:
    """The next ``count`` binary frames that are fragments (init segments skipped)."""
    got: list[bytes] = []
    while len(got) < count:
        m = receive(ws)
        if isinstance(m, bytes) and m[4:8] == b"moof":
            got.append(m)
    return got


def camera(
    client: TestClient, admin: dict[str, str], login_as: LoginAs, **over: Any
) -> tuple[int, dict[str, str]]:
    """A camera in an operator's unit; the operator's headers."""
    unit = make_unit(client, admin)
    site = make_site(client, admin, unit)
    r = client.post(f"{API}/cameras", json=camera_body(site, **over), headers=admin)
    assert r.status_code == 201, r.text
    return int(r.json()["id"]), login_as(Role.OPERATOR, unit_id=unit, name="duty")


def health(container: Container, camera_id: int, state: RecorderState) -> None:
    now = container.clock.now()
    reason = OfflineReason.UNREACHABLE if state is RecorderState.OFFLINE else None
    container.recording.publish_health(
        [CameraHealth(camera_id, state, reason, "", now, None, None, None, now)]
    )
