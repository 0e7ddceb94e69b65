"""The duty wall's sub streams and H.265 (docs/design/live.md, section 2), through the
WebSocket: a sub stream pulled from GStreamer's RTSP server and shared by its viewers, the
main stream when it cannot be pulled, and H.265 for a browser without it (the sub stream if it
is H.264, else a transcode, within the server's limit)."""

from __future__ import annotations

import io
import logging
import time
from pathlib import Path

import av
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from custos.adapters.media.simcam.clip import make_clip
from custos.bootstrap import Container, _open_live_pull
from custos.services.live_feed import is_hevc
from custos.services.live_pull import LivePulls
from custos.services.live_transcode import TranscodeSlots
from tests.api import live_wall_support as wall
from tests.api.builders import API
from tests.api.conftest import LoginAs
from tests.api.live_wall_support import SUB_PASSWORD, TapRig, camera, frames, receive, until
from tests.integration.recorder.conftest import CameraServer
from tests.ports import free_port

# the shared fixtures, used here by name
backend = wall.backend
samples = wall.samples
rigs = wall.rigs
deadline = wall.deadline


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


def test_h265_main_and_sub_without_h265_transcode_the_main_stream(
    client: TestClient,
    container: Container,
    admin: dict[str, str],
    login_as: LoginAs,
    samples: dict[str, Path],
    rigs: list[TapRig],
    tmp_path: Path,
    deadline: None,
) -> None:
    clip = make_clip(tmp_path / "sub.h265", seconds=4, size="320x180", kbps=200, codec="h265")
    server = CameraServer(clip, ["sub"], codec="h265")
    server.start()
    try:
        cid, duty = camera(client, admin, login_as, sub_stream_url=server.url("sub"))
        container.live_feeds.pulls = LivePulls(_open_live_pull, linger_s=0.1)
        rigs.append(TapRig(samples["h265"], container.live_feeds.tap_path(cid, "main")))
        url = f"{API}/live/cameras/{cid}/stream?stream=main&hevc=0"
        with client.websocket_connect(url, headers=duty) as ws:
            init = until(ws, "init")  # the sub stream was looked at: H.265 as well
            assert (init["path"], init["codec"][:4]) == ("transcoded", "avc1")
            head = receive(ws)
            assert isinstance(head, bytes)
            video = head + b"".join(frames(ws, 3))
        assert is_hevc(container.live_feeds.codec_seen(cid, "sub"))
        with av.open(io.BytesIO(video), "r") as played:  # the main stream's size, not the sub's
            frame = next(played.decode(video=0))
            assert (frame.width, frame.height) == (320, 240)
    finally:
        server.kill()
