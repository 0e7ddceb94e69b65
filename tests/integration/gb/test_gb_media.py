"""Recording a GB/T 28181 channel: a device (real ffmpeg, PS over RTP) sends to the GB engine,
which relays to the ffmpeg or PyAV engine; segments are H.264/H.265 that ffprobe reads, sealed
and indexed by a camera worker like any camera's. Fails (never skips) without ffmpeg/ffprobe."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from custos.domain.clock import SystemClock
from custos.domain.gb_media import GbSource
from custos.domain.gb_sdp import Transport
from custos.recorder.engines.ffmpeg import FfmpegEngine
from custos.recorder.engines.gb28181 import GbEngine
from custos.recorder.engines.pyav import ShardPool
from custos.recorder.port import RecordingEngine, SessionRequest
from custos.recorder.run_state import RunState
from tests.integration.gb.gb_media_source import FakeSignalling, Knobs

pytestmark = pytest.mark.slow

SEGMENT_S = 4
DEVICE, CHANNEL = "34020000001320000001", "34020000001320000002"
TRANSPORTS: list[Transport] = ["udp", "tcp-passive", "tcp-active"]
STATS = re.compile(
    r"GB/T 28181 media: (\d+) packets, (\d+) lost, (\d+) reordered, (\d+) duplicate or late, "
    r"(\d+) of another SSRC"
)


@pytest.fixture(scope="module", autouse=True)
def media_tools() -> None:
    missing = [tool for tool in ("ffmpeg", "ffprobe") if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"GB/T 28181 media tests need {', '.join(missing)}: run scripts/setup")


def inner_engine(name: str) -> RecordingEngine:
    return FfmpegEngine() if name == "ffmpeg" else ShardPool(4, 10.0, 20.0)


@pytest.fixture(params=["ffmpeg", "pyav"])
def inner(request: pytest.FixtureRequest) -> Iterator[RecordingEngine]:
    engine = inner_engine(str(request.param))
    yield engine
    engine.close()


def gb_url(transport: Transport) -> str:
    return GbSource(DEVICE, CHANNEL, transport).url()


def ffprobe(path: Path) -> tuple[str, int, float]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets", "-show_entries",
         "stream=codec_name,nb_read_packets:format=duration", "-of", "json", str(path)],
        capture_output=True, check=True, text=True,
    ).stdout  # fmt: skip
    info = json.loads(out)
    stream = info["streams"][0]
    return stream["codec_name"], int(stream["nb_read_packets"]), float(info["format"]["duration"])


def decode_errors(path: Path) -> str:
    done = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "null", "-"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stderr


def stats(run_log: list[str]) -> tuple[int, ...]:
    found = [m for line in run_log if (m := STATS.search(line))]
    assert found, run_log
    return tuple(int(g) for g in found[-1].groups())


def wait_until(check: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout_s} s")
        time.sleep(0.2)


# ---- the engine on its own -------------------------------------------------------------------


def record_for(
    engine: GbEngine, run_dir: Path, transport: Transport, seconds: float
) -> tuple[list[Path], RunState]:
    run = RunState(SystemClock())
    run_dir.mkdir(parents=True)
    request = SessionRequest(1, gb_url(transport), run_dir, SEGMENT_S, 5.0)
    session = engine.start(request, run, lambda: None)
    listed: list[str] = []
    reader = threading.Thread(target=lambda: listed.extend(s.name for s in session.listed()))
    reader.start()
    time.sleep(seconds)
    assert session.poll() is None, list(run.log_tail)
    session.terminate()
    session.wait()
    reader.join(10)
    return [run_dir / name for name in listed], run


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_channel_is_recorded_as_h264_segments_over_each_transport(
    inner: RecordingEngine, transport: Transport, tmp_path: Path
) -> None:
    signalling = FakeSignalling(Knobs())
    engine = GbEngine(inner, signalling, "127.0.0.1", ports=range(31000, 31100))
    try:
        paths, run = record_for(engine, tmp_path / "run", transport, 2 * SEGMENT_S + 1.5)
    finally:
        engine.close()
        signalling.close()
    assert [o.transport for o in signalling.invites] == [transport]
    assert 31000 <= signalling.invites[0].port < 31100 or transport == "tcp-active"
    assert signalling.byes == ["call-1@127.0.0.1"]
    assert len(paths) == 3, list(run.log_tail)
    for path in paths[:2]:
        codec, packets, duration = ffprobe(path)
        assert codec == "h264" and abs(duration - SEGMENT_S) < 0.5 and packets >= 90
    received, lost, *_ = stats(list(run.log_tail))
    # all but what the device sent between the end of receiving and the BYE reaching it
    assert lost == 0 and received >= signalling.last_sender().sent - 100


def test_h265_is_recorded_too(tmp_path: Path) -> None:
    signalling = FakeSignalling(Knobs(codec="libx265"))
    engine = GbEngine(FfmpegEngine(), signalling, "127.0.0.1")
    try:
        paths, run = record_for(engine, tmp_path / "run", "udp", SEGMENT_S + 2.5)
    finally:
        engine.close()
        signalling.close()
    codec, _, duration = ffprobe(paths[0])
    assert codec == "hevc" and abs(duration - SEGMENT_S) < 0.5, list(run.log_tail)


def test_packets_of_another_ssrc_are_dropped_while_ours_are_recorded(tmp_path: Path) -> None:
    signalling = FakeSignalling(Knobs(wrong_ssrc_every=3))
    engine = GbEngine(FfmpegEngine(), signalling, "127.0.0.1")
    try:
        paths, run = record_for(engine, tmp_path / "run", "udp", SEGMENT_S + 2.5)
    finally:
        engine.close()
        signalling.close()
    sender = signalling.last_sender()
    *_, wrong = stats(list(run.log_tail))
    assert sender.wrong_sent > 50 and wrong == sender.wrong_sent
    codec, _, duration = ffprobe(paths[0])
    assert codec == "h264" and abs(duration - SEGMENT_S) < 0.5
    assert decode_errors(paths[0]) == ""  # not one foreign pack got into the stream


def test_reordered_duplicated_and_lost_packets_are_recorded_without_a_crash(
    tmp_path: Path,
) -> None:
    knobs = Knobs(reorder_every=4, duplicate_every=9, drop_every=301)
    signalling = FakeSignalling(knobs)
    engine = GbEngine(FfmpegEngine(), signalling, "127.0.0.1")
    try:
        paths, run = record_for(engine, tmp_path / "run", "udp", 2 * SEGMENT_S + 1.5)
    finally:
        engine.close()
        signalling.close()
    sender = signalling.last_sender()
    _, lost, reordered, duplicates, _ = stats(list(run.log_tail))
    assert reordered > 100 and duplicates > 20
    assert 0 < lost <= sender.dropped
    for path in paths[:2]:
        codec, _, duration = ffprobe(path)
        assert codec == "h264" and abs(duration - SEGMENT_S) < 1.0
        decode_errors(path)  # decodable to the end (a lost packet costs one frame's slices)
