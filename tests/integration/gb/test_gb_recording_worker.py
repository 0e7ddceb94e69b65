"""A camera worker recording a GB/T 28181 channel through ``EngineRouter`` → ``GbEngine`` →
the ffmpeg engine, with a real RecordingService on SQLite: segments sealed and indexed; a device
that vanishes ends the run (BYE sent, a gap with its reason, INVITEd again); a refused INVITE
is ``unreachable`` with the refusal as the detail; two channels recorded at once through the one
relay, where one device sends garbage and vanishes while the other's segments keep being sealed.
Fails (never skips) without ffmpeg/ffprobe."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import logging
import random
import re
import shutil
import socket
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from custos.adapters.db.migrate import upgrade
from custos.adapters.storage.segment_files import SegmentStore
from custos.bootstrap import Container, bootstrap
from custos.config import Settings
from custos.domain.calendar import shanghai_date
from custos.domain.gb_media import GB_SCHEME, GbSource, MediaAnswer, MediaOffer
from custos.domain.gb_sdp import Transport
from custos.domain.recording import Gap, OfflineReason, RecorderState, Segment
from custos.domain.stream_url import StreamUrl
from custos.entrypoints.demo.cameras import register_demo_cameras
from custos.recorder.backoff import Backoff
from custos.recorder.camera_worker import CameraWorker, RecorderConfig
from custos.recorder.engines.ffmpeg import FfmpegEngine
from custos.recorder.engines.gb28181 import GbEngine
from custos.recorder.engines.router import EngineRouter
from custos.services.recording import RecordTarget
from tests.integration.gb.gb_media_source import FakeSignalling, Knobs
from tests.integration.gb.test_gb_media import CHANNEL, DEVICE, ffprobe, wait_until

pytestmark = pytest.mark.slow

SEGMENT_S = 4
CONFIG = RecorderConfig(
    segment_seconds=SEGMENT_S,
    stall_s=3.0,
    connect_s=10.0,
    engine="ffmpeg",
    backoff=Backoff(first_s=0.5, fast_max_s=1.0, max_s=1.0),
)


@pytest.fixture(scope="module", autouse=True)
def media_tools() -> None:
    missing = [tool for tool in ("ffmpeg", "ffprobe") if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"GB/T 28181 media tests need {', '.join(missing)}: run scripts/setup")


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Container]:
    """SQLite and the real clock, like the recorder's own integration tests (the worker times
    its segments by the wall clock)."""
    settings = Settings(data_dir=tmp_path / "data", recorder_metrics_port=0)
    upgrade(settings.resolved_database_url())
    c = bootstrap(settings)
    yield c
    c.close()


@contextmanager
def gb_worker(
    site: Container, signalling: FakeSignalling, transport: Transport = "udp"
) -> Iterator[CameraWorker]:
    """A worker for a camera whose stream is a GB/T 28181 channel, its watchdog ticking."""
    [camera_id] = register_demo_cameras(
        site.registry, ["rtsp://127.0.0.1:9/placeholder"], shanghai_date(site.clock.now())
    )
    [target] = [t for t in site.recording.targets() if t.camera_id == camera_id]
    target = dataclasses.replace(
        target, stream=StreamUrl(GbSource(DEVICE, CHANNEL, transport).url())
    )
    inner = FfmpegEngine()
    gb = GbEngine(inner, signalling, "127.0.0.1")
    router = EngineRouter(inner, {GB_SCHEME: gb})
    store = SegmentStore(site.settings.resolved_media_dir())
    worker = CameraWorker(target, CONFIG, store, site.recording, site.clock, router)
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(0.25):
            worker.check_watchdog()

    ticker = threading.Thread(target=tick, daemon=True)
    worker.start()
    ticker.start()
    try:
        yield worker
    finally:
        worker.stop()
        worker.join(15)
        stop.set()
        ticker.join(2)
        router.close()
        signalling.close()


def segments(site: Container, camera_id: int) -> list[Segment]:
    return site.recording.timeline(camera_id, None, None).segments


def gaps(site: Container, camera_id: int) -> list[Gap]:
    return site.recording.timeline(camera_id, None, None).gaps


def test_a_worker_seals_and_indexes_a_channels_segments(site: Container) -> None:
    signalling = FakeSignalling(Knobs(reorder_every=6))
    with gb_worker(site, signalling) as worker:
        cid = worker.camera_id
        wait_until(lambda: worker.health().state is RecorderState.RECORDING, 15)
        wait_until(lambda: len(segments(site, cid)) >= 2, 4 * SEGMENT_S + 10)
    store = SegmentStore(site.settings.resolved_media_dir())
    segs = segments(site, cid)
    assert len({s.run_id for s in segs}) == 1 and len(signalling.invites) == 1
    for s in segs:
        path = store.absolute(s.path)
        assert hashlib.sha256(path.read_bytes()).hexdigest() == s.sha256
        codec, packets, duration = ffprobe(path)
        assert codec == s.codec == "h264" and (s.width, s.height) == (640, 360)
        assert packets > 0 and abs(duration - s.duration_s) < 0.5
    assert all(abs(s.duration_s - SEGMENT_S) < 1.0 for s in segs[:-1])
    assert signalling.byes == ["call-1@127.0.0.1"]  # the worker's stop hung up


@pytest.mark.parametrize(
    ("transport", "reason", "detail"),
    [
        ("udp", OfflineReason.STALLED, "no new frame for 3 s"),
        (
            "tcp-passive",
            OfflineReason.STREAM_ENDED,
            "GB/T 28181: the device closed the media connection",
        ),
        (
            "tcp-active",
            OfflineReason.STREAM_ENDED,
            "GB/T 28181: the device closed the media connection",
        ),
    ],
)
def test_a_device_that_vanishes_ends_the_run_with_a_bye_and_a_gap_then_is_invited_again(
    site: Container, transport: Transport, reason: OfflineReason, detail: str
) -> None:
    signalling = FakeSignalling(Knobs())
    with gb_worker(site, signalling, transport) as worker:
        cid = worker.camera_id
        wait_until(lambda: worker.health().state is RecorderState.RECORDING, 15)
        wait_until(lambda: len(segments(site, cid)) >= 1, 2 * SEGMENT_S + 10)
        signalling.last_sender().vanish()
        wait_until(lambda: worker.health().state is RecorderState.OFFLINE, 15)
        wait_until(lambda: "call-1@127.0.0.1" in signalling.byes, 10)
        [gap] = gaps(site, cid)
        assert (gap.reason, gap.detail) == (reason, detail)
        wait_until(lambda: len(signalling.invites) >= 2, 15)  # after the back-off
        wait_until(lambda: worker.health().state is RecorderState.RECORDING, 15)
    assert gaps(site, cid)[0].end_at is not None  # recording again closed it


def test_a_device_offline_is_unreachable_with_the_sip_servers_words(site: Container) -> None:
    signalling = FakeSignalling(refuse=("device_offline", "not registered"))
    with gb_worker(site, signalling) as worker:
        cid = worker.camera_id
        wait_until(lambda: worker.health().state is RecorderState.OFFLINE, 10)
        health = worker.health()
        assert health.reason is OfflineReason.UNREACHABLE
        assert health.detail == "GB/T 28181: device offline: not registered"
        wait_until(lambda: len(signalling.invites) >= 2, 10)  # tried again after the back-off
    assert [g.reason for g in gaps(site, cid)] == [OfflineReason.UNREACHABLE]
    assert signalling.byes == [] and segments(site, cid) == []


# ---- one device misbehaves, the other keeps recording (issue 12 §3) ---------------------------

GOOD = ("34020000001320000011", "34020000001320000012")  # (device, channel)
BAD = ("34020000001320000021", "34020000001320000022")


@dataclasses.dataclass
class TwoDevices:
    """One SIP server for two devices: each channel's INVITE and BYE go to its own fake device
    (their call IDs told apart by the channel)."""

    by_channel: dict[str, FakeSignalling]

    def invite(self, offer: MediaOffer, timeout_s: float) -> MediaAnswer:
        answer = self.by_channel[offer.channel_id].invite(offer, timeout_s)
        return dataclasses.replace(answer, call_id=f"{offer.channel_id}/{answer.call_id}")

    def bye(self, call_id: str) -> None:
        channel, _, call = call_id.partition("/")
        self.by_channel[channel].bye(call)

    def close(self) -> None:
        for signalling in self.by_channel.values():
            signalling.close()


@contextmanager
def gb_workers(site: Container, signalling: TwoDevices) -> Iterator[list[CameraWorker]]:
    """A worker for each device's channel, both through the one GB engine and relay thread, as
    in the recorder."""
    sources = [GbSource(*GOOD), GbSource(*BAD)]
    ids = register_demo_cameras(
        site.registry, [f"rtsp://127.0.0.1:9/placeholder{n}" for n in range(len(sources))],
        shanghai_date(site.clock.now()),
    )  # fmt: skip
    targets = {t.camera_id: t for t in site.recording.targets()}
    inner = FfmpegEngine()
    router = EngineRouter(inner, {GB_SCHEME: GbEngine(inner, signalling, "127.0.0.1")})
    store = SegmentStore(site.settings.resolved_media_dir())
    workers = [
        CameraWorker(
            _as_gb(targets[cid], source), CONFIG, store, site.recording, site.clock, router
        )
        for cid, source in zip(ids, sources, strict=True)
    ]
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(0.25):
            for worker in workers:
                worker.check_watchdog()

    ticker = threading.Thread(target=tick, daemon=True)
    for worker in workers:
        worker.start()
    ticker.start()
    try:
        yield workers
    finally:
        for worker in workers:
            worker.stop()
        for worker in workers:
            worker.join(15)
        stop.set()
        ticker.join(2)
        router.close()
        signalling.close()


def _as_gb(target: RecordTarget, source: GbSource) -> RecordTarget:
    return dataclasses.replace(target, stream=StreamUrl(source.url()))


def blast_garbage(to: tuple[str, int], ssrc: int, seconds: float) -> int:
    """What a broken device sends to its media port: bytes that are not RTP (short, long, the
    wrong version), RTP of another SSRC, and RTP of the right SSRC carrying no program stream
    (any sequence number); returns how many datagrams."""
    rng = random.Random(12)
    sent = 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            noise = rng.randbytes(rng.randint(20, 1400))
            seq, stamp = rng.randrange(65536), rng.randrange(2**32)
            for datagram in (
                bytes([rng.randrange(0x80)]) + noise,  # version 0 or 1
                noise[:5],
                bytes(60_000),
                struct.pack("!BBHII", 0x80, 96, seq, stamp, ssrc ^ 0x0F0F0F0F) + noise,
                struct.pack("!BBHII", 0x80, 96, seq, stamp, ssrc) + noise,
                struct.pack("!BBHII", 0x8F, 96, seq, stamp, ssrc),  # 15 CSRCs announced, none
            ):
                sock.sendto(datagram, to)
                sent += 1
            time.sleep(0.005)
    return sent


def test_other_devices_keep_recording_while_one_sends_garbage_and_vanishes(
    site: Container, caplog: pytest.LogCaptureFixture
) -> None:
    """Two channels recorded at once through the one relay: one device's media port gets
    garbage, RTP of another SSRC and RTP that is not a program stream, then the device goes
    silent. Its run stalls, is hung up and has its gap; the other's run goes on without a
    break, its segments sealed one after the other, each read by ffprobe."""
    caplog.set_level(logging.INFO, logger="custos.recorder.engines.gb28181")
    good, bad = FakeSignalling(Knobs()), FakeSignalling(Knobs())
    with gb_workers(site, TwoDevices({GOOD[1]: good, BAD[1]: bad})) as (gw, bw):
        for worker in (gw, bw):
            wait_until(lambda w=worker: w.health().state is RecorderState.RECORDING, 15)
            wait_until(lambda w=worker: len(segments(site, w.camera_id)) >= 1, 2 * SEGMENT_S + 10)
        before = len(segments(site, gw.camera_id))
        states: list[RecorderState] = []
        stop_watch = threading.Event()

        def watch() -> None:
            while not stop_watch.wait(0.1):
                states.append(gw.health().state)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        [offer] = bad.invites
        sent = blast_garbage((offer.ip, offer.port), int(bad.answer_ssrc), 3.0)
        bad.last_sender().vanish()
        wait_until(lambda: bw.health().state is RecorderState.OFFLINE, 15)
        wait_until(lambda: "call-1@127.0.0.1" in bad.byes, 10)
        wait_until(lambda: len(segments(site, gw.camera_id)) >= before + 3, 3 * SEGMENT_S + 10)
        stop_watch.set()
        watcher.join(2)
        assert set(states) == {RecorderState.RECORDING}, states
        assert gw.health().state is RecorderState.RECORDING
        wait_until(lambda: len(bad.invites) >= 2, 15)  # the bad one is INVITEd again
        wait_until(lambda: bw.health().state is RecorderState.RECORDING, 15)
        bad_gaps = gaps(site, bw.camera_id)
    assert sent > 1000
    assert [g.reason for g in bad_gaps] == [OfflineReason.STALLED]
    # the good device: one call, one run, no gap, segments back to back, each readable
    assert len(good.invites) == 1 and gaps(site, gw.camera_id) == []
    segs = segments(site, gw.camera_id)
    assert len(segs) >= before + 3 and len({s.run_id for s in segs}) == 1
    store = SegmentStore(site.settings.resolved_media_dir())
    for s in segs:
        path = store.absolute(s.path)
        assert hashlib.sha256(path.read_bytes()).hexdigest() == s.sha256
        codec, packets, duration = ffprobe(path)
        assert codec == s.codec == "h264" and packets > 0 and abs(duration - s.duration_s) < 0.5
    for a, b in itertools.pairwise(segs):
        assert abs((b.start_at - a.end_at).total_seconds()) < 0.5, (a, b)
    assert all(abs(s.duration_s - SEGMENT_S) < 1.0 for s in segs[:-1])
    # the bad device's run counted what it dropped; the good one's saw none of it
    runs = [m for m in caplog.messages if "GB/T 28181 media:" in m]
    bad_run = next(m for m in runs if BAD[1] in m)
    numbers = STATS_DROPPED.search(bad_run)
    assert numbers is not None, bad_run
    assert int(numbers["other"]) > 0 and int(numbers["malformed"]) > 0, bad_run
    [good_run] = [m for m in runs if GOOD[1] in m]
    assert ", 0 lost," in good_run and STATS_CLEAN.search(good_run), good_run


STATS_DROPPED = re.compile(r"(?P<other>\d+) of another SSRC, (?P<malformed>\d+) malformed")
STATS_CLEAN = re.compile(r" 0 of another SSRC, 0 malformed")
