"""The duty wall's live feed (docs/design/live.md, "Messages"), end to end through the WebSocket:
a real live tap (``LiveTap`` + ``LiveTapServer`` on the data directory's socket) fed from a real
H.264 sample made by ffmpeg, the recorder's file when there is no tap, the recorder's health
when there is nothing, and a recorder node's tail that is its tap."""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient

from custos.adapters.media import fmp4
from custos.adapters.storage.node_media_client import NodeMediaClient
from custos.adapters.storage.segment_files import SegmentStore
from custos.bootstrap import Container
from custos.domain.clock import SystemClock
from custos.domain.recording import RecorderState
from custos.recorder.node_media import NodeMediaServer
from custos.services.live_relay import BoxRelay, Fragments, Init
from tests.api import live_wall_support as wall
from tests.api.builders import API
from tests.api.conftest import LoginAs
from tests.api.live_wall_support import TapRig, camera, frames, health, receive, until

# the shared fixtures, used here by name
backend = wall.backend
samples = wall.samples
rigs = wall.rigs
deadline = wall.deadline


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


def written_now(path: Path) -> None:
    """The file's time is now by this process's wall clock: scripts/test-at moves Python's clock,
    not the times the kernel stamps on files (docs/design/time.md, "Tests"); the recorder's own
    files are written and judged by one machine clock."""
    now = time.time()
    os.utime(path, (now, now))


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
    written_now(writing)
    with client.websocket_connect(f"{API}/live/cameras/{cid}/stream", headers=duty) as ws:
        init = until(ws, "init")
        assert (init["path"], init["source"]) == ("main", "file")
        assert receive(ws) == data[: found.init_end]
        assert until(ws, "status")["state"] == "live"
        assert receive(ws) == frags[1]  # the newest whole GOP
        with writing.open("ab") as f:
            f.write(frags[2])
        written_now(writing)
        assert receive(ws) == frags[2]
        rigs.append(TapRig(samples["h264"], container.live_feeds.tap_path(cid, "main")))
        assert until(ws, "init")["source"] == "tap"  # the tap is preferred once it is there
        assert len(frames(ws, 2)) == 2


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
