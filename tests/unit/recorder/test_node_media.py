"""A recorder node's media server (recorder/node_media.py) on 127.0.0.1, with a real fMP4 file
made by ffmpeg: sealed segments by index path with a Range, the live tail as it is written, and
the cluster secret's signature (docs/design/cluster.md, "Live view and playback from any server").

Needs ffmpeg with libx264 (fails, never skips, without it)."""

from __future__ import annotations

import asyncio
import http.client
import logging
import os
import shutil
import subprocess
import time
from collections.abc import AsyncGenerator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from custos.adapters.media import fmp4
from custos.adapters.storage.node_media_client import NodeMediaClient
from custos.adapters.storage.segment_files import SegmentStore
from custos.config import Settings
from custos.domain.clock import SystemClock
from custos.domain.node_requests import signed_headers, split_address
from custos.recorder.engines.fake import sample_command
from custos.recorder.node_media import NodeMediaServer, byte_range, start_node_media
from custos.services.live_relay import BoxRelay, Fragments, Init, Status, status_box
from custos.services.live_tail import complete_boxes
from custos.services.recorder_leases import NodeIdentity

SECRET = b"s" * 40
CAMERA = 7
RUN = "20261207T000000Z-abcdef"


@dataclass(frozen=True)
class Sample:
    data: bytes
    init: bytes
    fragments: list[bytes]


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    if shutil.which("ffmpeg") is None:
        pytest.fail("ffmpeg is needed for the sample: run scripts/setup")
    path = tmp_path_factory.mktemp("sample") / "sample.mp4"
    subprocess.run(sample_command(path, seconds=2), check=True)
    found = fmp4.scan(path)
    data = path.read_bytes()
    assert found.init_end is not None and len(found.fragments) >= 4
    return Sample(data, data[: found.init_end], [data[a:b] for a, b in found.fragments])


@pytest.fixture
def store(tmp_path: Path) -> SegmentStore:
    return SegmentStore(tmp_path / "media", [tmp_path / "volume1"])


@pytest.fixture
def server(store: SegmentStore) -> Iterator[NodeMediaServer]:
    s = NodeMediaServer("127.0.0.1", 0, SECRET, store, SystemClock(), heartbeat_s=0.3)
    s.start()
    yield s
    s.stop()


def sealed(store: SegmentStore, data: bytes, seq: int = 1, volume: int = 0) -> str:
    path = store.run_dir(CAMERA, RUN, volume) / f"{seq:06d}.mp4"
    path.write_bytes(data)
    store.seal(path)
    return store.relative(path)


def get(
    server: NodeMediaServer, path: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    return httpx.get(f"http://{server.address}{path}", headers=headers or {}, timeout=10)


def raw_get(server: NodeMediaServer, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
    host, port = split_address(server.address)
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        conn.request("GET", path, headers=headers)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def signed(path: str, secret: bytes = SECRET, skew_s: float = 0.0) -> dict[str, str]:
    return signed_headers(secret, "GET", path, time.time() + skew_s)


def test_a_signed_request_gets_the_sealed_file_and_a_range_of_it(
    server: NodeMediaServer, store: SegmentStore, sample: Sample, tmp_path: Path
) -> None:
    rel = sealed(store, sample.data)
    path = f"/node/v1/segments/{rel}"
    whole = get(server, path, headers=signed(path))
    assert whole.status_code == 200 and whole.content == sample.data
    assert whole.headers["accept-ranges"] == "bytes"
    part = get(server, path, headers={**signed(path), "Range": "bytes=100-1099"})
    assert part.status_code == 206
    assert part.content == sample.data[100:1100]
    assert part.headers["content-range"] == f"bytes 100-1099/{len(sample.data)}"
    tail = get(server, path, headers={**signed(path), "Range": "bytes=-50"})
    assert tail.status_code == 206 and tail.content == sample.data[-50:]
    past = get(server, path, headers={**signed(path), "Range": f"bytes={len(sample.data)}-"})
    assert past.status_code == 416 and past.content == b""
    on_volume = sealed(store, sample.data[::-1], seq=2, volume=1)  # "@v1/7/…"
    vpath = f"/node/v1/segments/{on_volume}"
    assert on_volume.startswith("@v1/")
    assert get(server, vpath, headers=signed(vpath)).content == sample.data[::-1]
    # the API's client: the whole file, byte for byte
    dest = tmp_path / "copy.mp4"
    NodeMediaClient(SECRET, SystemClock()).fetch_segment(
        server.address, rel, dest, len(sample.data)
    )
    assert dest.read_bytes() == sample.data


def test_unsigned_old_future_or_forged_requests_get_nothing(
    server: NodeMediaServer, store: SegmentStore, sample: Sample
) -> None:
    rel = sealed(store, sample.data)
    path = f"/node/v1/segments/{rel}"
    other = f"/node/v1/segments/{sealed(store, sample.data, seq=2)}"
    cases = {
        "unsigned": ({}, 401),
        "no signature": ({"X-Custos-Time": str(int(time.time()))}, 401),
        "32 s old": (signed(path, skew_s=-32), 403),  # the header holds whole seconds
        # ahead by more than the window plus any delay before the server reads the clock (a
        # request served 2 s late under load made "32 s ahead" fall inside the 30 s)
        "45 s ahead": (signed(path, skew_s=45), 403),
        "another secret": (signed(path, secret=b"t" * 40), 403),
        "signed for another path": (signed(other), 403),
        "not a time": ({**signed(path), "X-Custos-Time": "soon"}, 403),
    }
    for why, (headers, status) in cases.items():
        r = get(server, path, headers=headers)
        assert r.status_code == status, why
        assert sample.data[:64] not in r.content and len(r.content) < 100, why
    assert get(server, path, headers=signed(path, skew_s=-15)).status_code == 200  # within 30 s


def test_only_sealed_segments_inside_a_volume_are_served(
    server: NodeMediaServer, store: SegmentStore, sample: Sample, tmp_path: Path
) -> None:
    writing = store.run_dir(CAMERA, RUN) / "000003.mp4"
    writing.write_bytes(sample.data)  # not sealed: still writable
    (tmp_path / "secret.mp4").write_bytes(b"not footage")
    (store.run_dir(CAMERA, RUN) / "000004.mp4").symlink_to(tmp_path / "secret.mp4")
    (tmp_path / "secret.mp4").chmod(0o444)
    for rel in (
        f"{CAMERA}/{RUN}/000003.mp4",  # being written
        f"{CAMERA}/{RUN}/000004.mp4",  # a link out of the volume
        f"{CAMERA}/../../secret.mp4",
        f"@v9/{CAMERA}/{RUN}/000001.mp4",  # no such volume
        f"{CAMERA}/{RUN}/000001.ts",
    ):
        path = f"/node/v1/segments/{rel}"
        status, body = raw_get(server, path, signed(path))  # the path as written, unnormalised
        assert status == 404, rel
        assert b"not footage" not in body and sample.data[:64] not in body


def test_byte_ranges() -> None:
    assert byte_range(None, 100) is None
    assert byte_range("bytes=0-9", 100) == (0, 9)
    assert byte_range("bytes=90-", 100) == (90, 99)
    assert byte_range("bytes=90-500", 100) == (90, 99)
    assert byte_range("bytes=-10", 100) == (90, 99)
    assert byte_range("bytes=0-1,5-6", 100) is None  # several: the whole file
    assert byte_range("items=0-1", 100) is None
    assert byte_range("bytes=9-1", 100) is None
    with pytest.raises(ValueError, match="past 100 bytes"):
        byte_range("bytes=100-", 100)
    with pytest.raises(ValueError, match="empty suffix"):
        byte_range("bytes=-0", 100)


async def _read_live(
    client: NodeMediaClient,
    address: str,
    want: int,
    steps: dict[int, object],
) -> list[Init | Status | Fragments]:
    """Relay the node's live tail until ``want`` media pieces (init or fragments) came; before
    waiting for media piece ``n``, call ``steps[n]`` (a function that writes to the file)."""
    relay = BoxRelay()
    got: list[Init | Status | Fragments] = []
    chunks: AsyncGenerator[bytes, None] = client.live(address, CAMERA)
    try:
        async with asyncio.timeout(20):
            async for chunk in chunks:
                got.extend(relay.feed(chunk))
                media = len([p for p in got if not isinstance(p, Status)])
                for n in sorted(steps):
                    if media >= n:
                        step = steps.pop(n)
                        await asyncio.to_thread(step)  # type: ignore[arg-type]
                if media >= want:
                    return got
    finally:
        await chunks.aclose()
    return got


def _touch(path: Path) -> None:
    """Its time written now by this process's clock, which the live rule compares it with (a
    test run with a moved clock moves this process's clock, not the file system's)."""
    now = time.time()
    os.utime(path, (now, now))


def test_the_live_tail_sends_init_then_each_fragment_as_it_is_written(
    server: NodeMediaServer, store: SegmentStore, sample: Sample
) -> None:
    run = store.run_dir(CAMERA, RUN)
    first = run / "000000.mp4"
    first.write_bytes(sample.init + sample.fragments[0] + sample.fragments[1])
    _touch(first)
    second = run / "000001.mp4"

    def append(data: bytes, to: Path) -> object:
        def write() -> None:
            with to.open("ab") as f:
                f.write(data)
            _touch(to)

        return write

    def half_then_whole() -> None:  # a fragment written in two goes arrives once, whole
        frag = sample.fragments[2]
        with first.open("ab") as f:
            f.write(frag[:100])
            f.flush()
            _touch(first)
            time.sleep(0.3)
            f.write(frag[100:])
        _touch(first)

    steps: dict[int, object] = {
        2: half_then_whole,
        3: append(sample.init + sample.fragments[3], second),  # the recorder starts a new file
    }
    pieces = asyncio.run(
        _read_live(NodeMediaClient(SECRET, SystemClock()), server.address, 5, steps)
    )
    # the order of the browser's live view: init, whether it is live, then fragments
    assert isinstance(pieces[0], Init) and pieces[1] == Status(live=True)
    got = [p for p in pieces if not isinstance(p, Status)]
    assert got[0] == Init(sample.init, got[0].codec) and got[0].codec.startswith("avc1.")  # type: ignore[union-attr]
    assert got[1] == Fragments(sample.fragments[1])  # the newest complete one: a keyframe
    assert got[2] == Fragments(sample.fragments[2])
    assert isinstance(got[3], Init) and got[3].data == sample.init
    assert got[4] == Fragments(sample.fragments[3])


def test_an_idle_tail_sends_heartbeats_and_a_busy_node_refuses_more(
    store: SegmentStore, sample: Sample
) -> None:
    s = NodeMediaServer("127.0.0.1", 0, SECRET, store, SystemClock(), max_streams=1,
                        heartbeat_s=0.2)  # fmt: skip
    s.start()
    url = f"http://{s.address}/node/v1/live/{CAMERA}"

    def live_status() -> int:
        path = f"/node/v1/live/{CAMERA}"
        with httpx.stream("GET", url, headers=signed(path), timeout=10) as r:
            if r.status_code == 200:  # nothing recorded: a heartbeat comes all the same
                assert next(r.iter_raw()).startswith(status_box(live=False))
            return r.status_code

    try:
        path = f"/node/v1/live/{CAMERA}"
        with httpx.stream("GET", url, headers=signed(path), timeout=10) as r:
            assert r.status_code == 200
            assert next(r.iter_raw()).startswith(status_box(live=False))
            assert live_status() == 503  # one stream at a time here
        deadline = time.monotonic() + 5  # the reader left: noticed at the next heartbeat
        while (status := live_status()) == 503:
            assert time.monotonic() < deadline, "the stream's place was never given back"
        assert status == 200
    finally:
        s.stop()


def test_a_node_without_the_cluster_secret_serves_nothing_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    node = NodeIdentity("node-a", "127.0.0.1:0", 10, "test")
    with caplog.at_level(logging.WARNING):
        assert start_node_media(Settings(data_dir=tmp_path), node, SystemClock()) is None
    assert "CUSTOS_CLUSTER_SECRET is not set" in caplog.text
    secret = "x" * 40
    settings = Settings(data_dir=tmp_path, cluster_secret=secret)
    with caplog.at_level(logging.DEBUG):
        s = start_node_media(settings, node, SystemClock())
    assert s is not None
    try:
        path = f"/node/v1/live/{CAMERA}"
        assert get(s, path).status_code == 401
    finally:
        s.stop()
    assert secret not in caplog.text and secret not in repr(settings)


def test_the_relay_cuts_a_stream_into_the_same_pieces_however_it_is_split(
    sample: Sample,
) -> None:
    empty_free = b"\0\0\0\x08free"
    stream = (
        status_box(False) + sample.init + status_box(True) + sample.fragments[0]
        + sample.fragments[1] + empty_free + sample.init + sample.fragments[2]
    )  # fmt: skip
    whole = BoxRelay().feed(stream)
    assert whole == [
        Status(live=False),
        Init(sample.init, whole[1].codec),  # type: ignore[union-attr]
        Status(live=True),
        Fragments(sample.fragments[0] + sample.fragments[1]),
        Init(sample.init, whole[1].codec),  # type: ignore[union-attr]
        Fragments(sample.fragments[2]),
    ]
    relay = BoxRelay()
    pieces: list[Init | Status | Fragments] = []
    for i in range(0, len(stream), 997):
        pieces.extend(relay.feed(stream[i : i + 997]))
    init = b"".join(p.data for p in pieces if isinstance(p, Init))
    frags = b"".join(p.data for p in pieces if isinstance(p, Fragments))
    assert init == sample.init * 2
    assert frags == sample.fragments[0] + sample.fragments[1] + sample.fragments[2]
    assert [p for p in pieces if isinstance(p, Status)] == [Status(False), Status(True)]
    for p in pieces:  # each piece whole boxes: init ending in moov, fragments moof + mdat pairs
        if isinstance(p, Status):
            continue
        kinds = [b.kind for b in complete_boxes(p.data)]
        assert sum(b.size for b in complete_boxes(p.data)) == len(p.data)
        if isinstance(p, Init):
            assert kinds[0] == b"ftyp" and kinds[-1] == b"moov"
        else:
            assert kinds == [b"moof", b"mdat"] * (len(kinds) // 2)


def test_node_addresses() -> None:
    assert split_address("10.0.0.5:9470") == ("10.0.0.5", 9470)
    assert split_address("[::1]:9470") == ("::1", 9470)
    assert split_address("node-a.cluster:0") == ("node-a.cluster", 0)
    for bad in ("10.0.0.5", "10.0.0.5:", ":80", "host:65536", "h/x:80", "user@h:80", "h:8o"):
        with pytest.raises(ValueError, match="node address"):
            split_address(bad)
