"""The live tap (docs/design/live.md, section 1) on a real H.264 stream made by ffmpeg: what a
viewer gets decodes frame by frame, a late viewer starts on a keyframe, a slow one loses
fragments up to a keyframe (counted), and nothing the tap does reaches the recording."""

from __future__ import annotations

import io
import os
import socket
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import pytest

from custos.adapters.media.live_tap import LiveTap, Subscription, codec_string
from custos.adapters.media.live_tap_server import LiveTapServer, live_socket_path
from custos.services.live_relay import BoxRelay, Dropped, Fragments, Init, Status, dropped_box
from custos.services.live_tail import complete_boxes

FRAMES = 100  # 4 s at 25 fps, a keyframe every 50


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tap") / "sample.mp4"
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25",
         "-t", "4", "-c:v", "libx264", "-g", "50", "-bf", "0", "-pix_fmt", "yuv420p", str(path)],
        check=True,
    )  # fmt: skip
    return path


class Recording:
    """A camera's packets as the recording thread hands them over: each muxed into the segment
    first (as ``_SegmentWriter`` does), then given to the tap."""

    def __init__(self, sample: Path, segment: Path) -> None:
        self._in = av.open(str(sample))
        self.video = self._in.streams.video[0]
        self._packets: Iterator[Any] = (p for p in self._in.demux(self.video) if p.size)
        self._seg = av.open(str(segment), "w", format="mp4")
        self._seg_stream = self._seg.add_stream_from_template(self.video)

    def feed(self, tap: LiveTap, count: int) -> list[float]:
        """Record ``count`` packets; the time each ``tap.packet`` took."""
        took = []
        for _ in range(count):
            packet = next(self._packets)
            pts, dts = packet.pts, packet.dts
            packet.stream = self._seg_stream
            self._seg.mux(packet)
            start = time.perf_counter()
            tap.packet(packet, pts, dts)
            took.append(time.perf_counter() - start)
        return took

    def close(self) -> None:
        self._seg.close()
        self._in.close()


@pytest.fixture
def recording(sample: Path, tmp_path: Path) -> Iterator[Recording]:
    rec = Recording(sample, tmp_path / "000000.mp4")
    yield rec
    rec.close()


def _frames(data: bytes) -> list[bool]:
    """Each decoded frame of an fMP4 byte stream: whether it is a keyframe."""
    with av.open(io.BytesIO(data), "r") as container:
        return [f.key_frame for f in container.decode(video=0)]


def _drain(sub: Subscription) -> bytes:
    out = b""
    while data := sub.get(0):
        out += data
    return out


def _kinds(data: bytes) -> list[bytes]:
    return [box.kind for box in complete_boxes(data)]


def test_a_viewer_gets_the_init_then_one_fragment_per_frame_and_it_decodes(
    recording: Recording, tmp_path: Path
) -> None:
    tap = LiveTap(recording.video, codec_string(recording.video))
    assert tap.codec is not None and tap.codec.startswith("avc1.")
    sub = tap.subscribe()
    took = recording.feed(tap, FRAMES)
    data = _drain(sub)
    kinds = _kinds(data)
    assert kinds[:2] == [b"ftyp", b"moov"]
    # one moof + mdat per frame; the last frame's is written when the next comes
    assert kinds[2:] == [b"moof", b"mdat"] * (FRAMES - 1)
    assert _frames(data) == [i % 50 == 0 for i in range(FRAMES - 1)]
    assert max(took) < 0.05  # one stream-copy mux per packet
    tap.close()
    assert sub.get(1) is None  # the session ended: the viewer's end of file
    recording.close()
    with av.open(str(tmp_path / "000000.mp4")) as seg:  # the recording has every frame
        assert sum(1 for _ in seg.decode(video=0)) == FRAMES


def test_a_viewer_joining_mid_gop_starts_with_the_init_and_the_gops_keyframe(
    recording: Recording,
) -> None:
    tap = LiveTap(recording.video)
    first = tap.subscribe()
    recording.feed(tap, 60)  # keyframes at 0 and 50
    second = tap.subscribe()
    joined = second.get(0)
    assert joined is not None
    kinds = _kinds(joined)
    assert kinds[:2] == [b"ftyp", b"moov"]
    assert kinds[2:] == [b"moof", b"mdat"] * 9  # frames 50..58: 59's comes with the next
    recording.feed(tap, 20)
    frames = _frames(joined + _drain(second))
    assert frames[0] and len(frames) == 79 - 50 and not any(frames[1:])
    assert len(_frames(_drain(first))) == 79
    assert tap.codec is not None and tap.codec.startswith("avc1.")


def test_nobody_watching_means_no_muxer_and_a_late_viewer_still_starts_on_a_keyframe(
    recording: Recording,
) -> None:
    tap = LiveTap(recording.video)
    sub = tap.subscribe()
    recording.feed(tap, 10)
    sub.close()
    recording.feed(tap, 45)  # nobody: the muxer is closed at the next packet
    assert tap._out is None and not tap.watched
    late = tap.subscribe()
    assert late.get(0) == b""  # muxing starts with the next packet, from the cached GOP
    recording.feed(tap, 5)  # packet 59: the cached GOP is 50..59
    frames = _frames(_drain(late))
    assert frames == [True] + [False] * 8


def test_a_viewer_that_reads_nothing_loses_fragments_up_to_a_keyframe_and_they_are_counted(
    recording: Recording,
) -> None:
    tap = LiveTap(recording.video)
    slow = tap.subscribe(max_bytes=40_000)  # a few frames of this sample
    took = recording.feed(tap, FRAMES)
    assert slow.dropped > 0
    data = _drain(slow)
    assert len(data) <= 40_000
    frames = _frames(data)  # what it kept decodes: the newest keyframe's fragment on (the
    assert frames == [True] + [False] * (len(frames) - 1)  # stale ones queued went for it)
    assert len(frames) + slow.dropped == FRAMES - 1
    assert max(took) < 0.05  # recording never waited for it


def test_a_broken_muxer_ends_the_tap_and_never_the_recording(recording: Recording) -> None:
    tap = LiveTap(recording.video)
    sub = tap.subscribe()
    recording.feed(tap, 3)
    packet = av.Packet(b"\x00\x00\x00\x01\x65junk")
    packet.time_base = recording.video.time_base  # type: ignore[assignment]
    tap.packet(packet, 0, 0)  # a time before the last: the muxer refuses it
    assert tap.failed is not None
    assert sub.get(0) is not None  # what was queued still goes, then the end
    assert sub.get(0) is None
    recording.feed(tap, 3)  # later packets pass by a failed tap without a word
    assert tap.subscribe().get(0) is None


def test_the_socket_serves_init_fragments_status_and_ends_with_the_session(
    recording: Recording, tmp_path: Path
) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)  # past a Unix socket's 107-byte address
    path = live_socket_path(deep / "live", 3)
    tap = LiveTap(recording.video)
    server = LiveTapServer(tap, path, wait_s=0.3).start()
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    conn = _connect(path)
    conn.settimeout(5)
    time.sleep(0.1)  # the server's accepting thread subscribes it
    recording.feed(tap, 30)
    relay = BoxRelay()
    pieces: list[Any] = []
    while sum(isinstance(p, Fragments) for p in pieces) < 1 or not any(
        isinstance(p, Status) and not p.live for p in pieces
    ):
        pieces += relay.pieces(conn.recv(65536))
    assert isinstance(pieces[0], Status) and pieces[0].live
    assert isinstance(pieces[1], Init) and pieces[1].codec is not None
    assert pieces[-1] == Status(False)  # nothing for wait_s: "wait"
    recording.feed(tap, 5)  # the camera sends again: "live" before its fragments
    resumed: list[Any] = []
    while not any(isinstance(p, Fragments) for p in resumed):
        resumed += relay.pieces(conn.recv(65536))
    assert resumed[0] == Status(True)
    fragments = b"".join(p.data for p in pieces + resumed if isinstance(p, Fragments))
    assert len(_frames(pieces[1].data + fragments)) >= 30
    tap.close()
    server.close()
    tail = b""
    while chunk := conn.recv(65536):  # end of file: the session ended
        tail += chunk
    assert not path.exists()
    conn.close()


def test_the_drop_count_box_is_read_back_by_the_relay() -> None:
    assert BoxRelay().pieces(dropped_box(7)) == [Dropped(7)]
    assert BoxRelay().feed(dropped_box(7)) == []  # the file tail's readers never see it


def _connect(path: Path) -> socket.socket:
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        conn.connect(f"/proc/self/fd/{fd}/{path.name}")
    finally:
        os.close(fd)
    return conn
