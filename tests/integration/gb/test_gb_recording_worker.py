"""A camera worker recording a GB/T 28181 channel through ``EngineRouter`` → ``GbEngine`` →
the ffmpeg engine, with a real RecordingService on SQLite: segments sealed and indexed; a device
that vanishes ends the run (BYE sent, a gap with its reason, INVITEd again); a refused INVITE
is ``unreachable`` with the refusal as the detail. Fails (never skips) without ffmpeg/ffprobe."""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from custos.adapters.db.migrate import upgrade
from custos.adapters.storage.segment_files import SegmentStore
from custos.bootstrap import Container, bootstrap
from custos.config import Settings
from custos.domain.calendar import shanghai_date
from custos.domain.gb_media import GB_SCHEME, GbSource
from custos.domain.gb_sdp import Transport
from custos.domain.recording import Gap, OfflineReason, RecorderState, Segment
from custos.domain.stream_url import StreamUrl
from custos.entrypoints.demo.cameras import register_demo_cameras
from custos.recorder.backoff import Backoff
from custos.recorder.camera_worker import CameraWorker, RecorderConfig
from custos.recorder.engines.ffmpeg import FfmpegEngine
from custos.recorder.engines.gb28181 import GbEngine
from custos.recorder.engines.router import EngineRouter
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
