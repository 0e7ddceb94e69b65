"""The duty wall's live feed (docs/design/live.md, "Messages"), end to end through the WebSocket:
a real live tap (``LiveTap`` + ``LiveTapServer`` on the data directory's socket) fed from real
H.264 and H.265 samples made by ffmpeg, the recorder's file when there is no tap, a sub stream
pulled from GStreamer's RTSP server, and the transcode for a browser without H.265."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

import av
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from custos.adapters.media import fmp4
from custos.adapters.media.live_tap import LiveTap, codec_string
from custos.adapters.media.live_tap_server import LiveTapServer
from custos.adapters.media.simcam.clip import make_clip
from custos.adapters.storage.node_media_client import NodeMediaClient
from custos.adapters.storage.segment_files import SegmentStore
from custos.bootstrap import Container, _open_live_pull
from custos.domain.access import Role
from custos.domain.clock import SystemClock
from custos.domain.recording import CameraHealth, OfflineReason, RecorderState
from custos.recorder.node_media import NodeMediaServer
from custos.services.live_feed import is_hevc
from custos.services.live_pull import LivePulls
from custos.services.live_relay import BoxRelay, Fragments, Init
from custos.services.live_transcode import TranscodeSlots
from tests.api.builders import API, camera_body, make_site, make_unit
from tests.api.conftest import LoginAs
from tests.integration.recorder.conftest import CameraServer
from tests.ports import free_port

SUB_PASSWORD = "sub-Pw-9731"


@pytest.fixture
def backend() -> str:
    return "sqlite"  # the live feed reads no footage rows: one backend is enough


@pytest.fixture(scope="module")
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
    import signal

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


def test_the_taps_frames_one_by_one_then_the_next_session_after_reconnecting(
    client: TestClient,
    container: Container,
    admin: dict[str, str],
    login_as: LoginAs,
    samples: dict[str, Path],
    rigs: list[TapRig],
    deadline: None,
) -> None:
    cid, duty = camera(client, admin, login_as)
    health(container, cid, RecorderState.RECORDING)
    socket_path = container.live_feeds.tap_path(cid, "main")
    rigs.append(TapRig(samples["h264"], socket_path))
    url = f"{API}/live/cameras/{cid}/stream?stream=main&hevc=1"
    with client.websocket_connect(url, headers=duty) as ws:
        assert until(ws, "session")["session_id"] > 0
        init = receive(ws)  # first, as for the file's tail
        assert isinstance(init, dict) and init["type"] == "init"
        assert init["codec"].startswith("avc1.") and (init["path"], init["source"]) == (
            "main",
            "tap",
        )
        assert (head := receive(ws)) and isinstance(head, bytes) and head[4:8] == b"ftyp"
        later = frames(ws, 12)[2:]  # the first may hold the GOP so far, at once
        assert all(f.count(b"moof") == 1 for f in later), "one frame per binary message"
        rigs[0].close()  # the session ends: its socket goes
        status = until(ws, "status", state="reconnecting")
        assert status["reason"] is None and status["since"].endswith("Z")
        rigs.append(TapRig(samples["h264"], socket_path))  # the next session's tap
        assert until(ws, "init")["source"] == "tap"
        assert until(ws, "status")["state"] == "live"  # said with its first fragment
        assert len(frames(ws, 3)) == 3


def test_offline_says_the_recorders_reason(
    client: TestClient, container: Container, admin: dict[str, str], login_as: LoginAs,
    deadline: None,
) -> None:  # fmt: skip
    cid, duty = camera(client, admin, login_as)
    health(container, cid, RecorderState.OFFLINE)
    with client.websocket_connect(f"{API}/live/cameras/{cid}/stream", headers=duty) as ws:
        status = until(ws, "status")
        assert (status["state"], status["reason"]) == ("offline", "unreachable")
        since = datetime.fromisoformat(status["since"].replace("Z", "+00:00"))
        assert since == container.clock.now().astimezone(UTC).replace(microsecond=since.microsecond)


def test_without_a_tap_the_file_is_tailed_until_a_tap_appears(
    client: TestClient,
    container: Container,
    admin: dict[str, str],
    login_as: LoginAs,
    samples: dict[str, Path],
    rigs: list[TapRig],
    deadline: None,
) -> None:
    cid, duty = camera(client, admin, login_as)
    found = fmp4.scan(samples["file"])
    data = samples["file"].read_bytes()
    assert found.init_end is not None
    frags = [data[a:b] for a, b in found.fragments]
    run = container.settings.resolved_media_dir() / str(cid) / "run1"
    run.mkdir(parents=True)
    writing = run / "000000.mp4"
    writing.write_bytes(data[: found.init_end] + frags[0] + frags[1])
    with client.websocket_connect(f"{API}/live/cameras/{cid}/stream", headers=duty) as ws:
        init = until(ws, "init")
        assert (init["path"], init["source"]) == ("main", "file")
        assert receive(ws) == data[: found.init_end]
        assert until(ws, "status")["state"] == "live"
        assert receive(ws) == frags[1]  # the newest whole GOP
        with writing.open("ab") as f:
            f.write(frags[2])
        assert receive(ws) == frags[2]
        rigs.append(TapRig(samples["h264"], container.live_feeds.tap_path(cid, "main")))
        assert until(ws, "init")["source"] == "tap"  # the tap is preferred once it is there
        assert len(frames(ws, 2)) == 2


def test_a_sub_stream_is_pulled_once_for_its_viewers_and_h265_main_goes_to_it(
    client: TestClient,
    container: Container,
    admin: dict[str, str],
    login_as: LoginAs,
    samples: dict[str, Path],
    rigs: list[TapRig],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    deadline: None,
) -> None:
    clip = make_clip(tmp_path / "sub.h264", seconds=4, size="320x180", kbps=200)
    server = CameraServer(clip, ["sub"], user="viewer", password=SUB_PASSWORD)
    server.start()
    caplog.set_level(logging.DEBUG)
    try:
        sub_url = server.url("sub", "viewer", SUB_PASSWORD)
        cid, duty = camera(client, admin, login_as, sub_stream_url=sub_url)
        pulls = LivePulls(_open_live_pull, linger_s=0.5)
        container.live_feeds.pulls = pulls
        rigs.append(TapRig(samples["h265"], container.live_feeds.tap_path(cid, "main")))
        base = f"{API}/live/cameras/{cid}/stream"
        with (
            client.websocket_connect(f"{base}?stream=sub", headers=duty) as tile,
            client.websocket_connect(f"{base}?stream=main&hevc=0", headers=duty) as big,
        ):
            for ws in (tile, big):
                init = until(ws, "init")
                assert (init["path"], init["source"]) == ("sub", "tap")
                assert init["codec"].startswith("avc1.")
                assert len(frames(ws, 5)) == 5
            assert pulls.open_count() == 1  # one connection to the camera for both
        with client.websocket_connect(f"{base}?stream=main&hevc=1", headers=duty) as ws:
            init = until(ws, "init")  # a browser with H.265 gets the main stream as it is
            assert is_hevc(init["codec"]) and init["path"] == "main"
        time.sleep(1.0)
        assert pulls.open_count() == 0  # closed after the last viewer left
    finally:
        server.kill()
    assert SUB_PASSWORD not in caplog.text


def test_h265_is_transcoded_for_a_browser_without_it_within_the_limit(
    client: TestClient,
    container: Container,
    admin: dict[str, str],
    login_as: LoginAs,
    samples: dict[str, Path],
    rigs: list[TapRig],
    deadline: None,
) -> None:
    cid, duty = camera(client, admin, login_as)  # no sub stream
    container.live_feeds.slots = TranscodeSlots(1)
    rigs.append(TapRig(samples["h265"], container.live_feeds.tap_path(cid, "main")))
    url = f"{API}/live/cameras/{cid}/stream?hevc=0"
    with client.websocket_connect(url, headers=duty) as ws:
        init = until(ws, "init")
        assert (init["path"], init["source"]) == ("transcoded", "tap")
        assert init["codec"].startswith("avc1.")
        head = receive(ws)
        assert isinstance(head, bytes) and b"avcC" in head and b"hvcC" not in head
        assert len(frames(ws, 5)) == 5
        with client.websocket_connect(url, headers=duty) as second:
            refusal = until(second, "error")
            assert refusal["error"] == "transcode_busy"
            with pytest.raises(WebSocketDisconnect) as closed:
                receive(second)
            assert closed.value.code == 4429
    assert container.live_feeds.slots.used == 0 or _freed(container)


def _freed(container: Container) -> bool:
    """The slot comes back once the server saw the socket close."""
    end = time.monotonic() + 5
    while container.live_feeds.slots.used and time.monotonic() < end:
        time.sleep(0.05)
    return container.live_feeds.slots.used == 0


def test_a_nodes_live_tail_is_its_tap_while_there_is_one(
    samples: dict[str, Path], rigs: list[TapRig], tmp_path: Path, deadline: None
) -> None:
    """In a cluster the node serving a camera relays its tap (a fragment per frame), and the
    response ends with the recording session."""
    secret = b"n" * 40
    live_dir = tmp_path / "live"
    node = NodeMediaServer(
        "127.0.0.1", 0, secret, SegmentStore(tmp_path / "media"), SystemClock(),
        live_dir=live_dir,
    )  # fmt: skip
    node.start()
    rigs.append(TapRig(samples["h264"], live_dir / "7.main.sock"))
    client = NodeMediaClient(secret, SystemClock())

    async def read() -> list[object]:
        """Until the response ends (a response that does not fails the test's deadline)."""
        relay = BoxRelay()
        pieces: list[object] = []
        async for chunk in client.live(node.address, 7):
            pieces += relay.pieces(chunk)
            if sum(isinstance(p, Fragments) for p in pieces) == 8:
                rigs[0].close()  # the session ends: so does the node's response
        return pieces

    try:
        pieces = asyncio.run(read())
    finally:
        node.stop()
    inits = [p for p in pieces if isinstance(p, Init)]
    assert len(inits) == 1 and inits[0].codec is not None and inits[0].codec.startswith("avc1")
    later = [p.data for p in pieces if isinstance(p, Fragments)][2:]
    assert later and all(f.count(b"moof") == 1 for f in later)


def test_a_sub_stream_that_cannot_be_pulled_gives_the_main_stream(
    client: TestClient,
    container: Container,
    admin: dict[str, str],
    login_as: LoginAs,
    samples: dict[str, Path],
    rigs: list[TapRig],
    deadline: None,
) -> None:
    closed_port = free_port()  # nobody listens there
    sub_url = f"rtsp://viewer:{SUB_PASSWORD}@127.0.0.1:{closed_port}/sub"
    cid, duty = camera(client, admin, login_as, sub_stream_url=sub_url)
    container.live_feeds.pulls = LivePulls(_open_live_pull, linger_s=0.1)
    rigs.append(TapRig(samples["h264"], container.live_feeds.tap_path(cid, "main")))
    url = f"{API}/live/cameras/{cid}/stream?stream=sub"
    with client.websocket_connect(url, headers=duty) as ws:
        init = until(ws, "init")
        assert (init["path"], init["source"]) == ("main", "tap")
        assert len(frames(ws, 3)) == 3


def test_fragments_the_tap_dropped_for_the_viewer_are_counted_to_it(
    client: TestClient,
    container: Container,
    admin: dict[str, str],
    login_as: LoginAs,
    samples: dict[str, Path],
    rigs: list[TapRig],
    deadline: None,
) -> None:
    """A tap whose queue for this viewer holds next to nothing: only keyframes get through."""
    cid, duty = camera(client, admin, login_as)
    rigs.append(TapRig(samples["h264"], container.live_feeds.tap_path(cid, "main"), 1))
    with client.websocket_connect(f"{API}/live/cameras/{cid}/stream", headers=duty) as ws:
        first = until(ws, "dropped")["count"]
        assert first > 0
        assert until(ws, "dropped")["count"] > first  # the total so far, growing
