"""The camera worker through the recorder port, with the fake engine (real fMP4 files, no
network): segments sealed and indexed, a refused start, a stall, and a stop. Every decision
here is the worker's and holds for every engine behind the port.

The sample needs ffmpeg with libx264 (fails, never skips, without it)."""

from __future__ import annotations

import dataclasses
import shutil
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from custos.adapters.media import fmp4
from custos.adapters.storage.segment_files import SegmentStore
from custos.bootstrap import Container
from custos.domain.calendar import shanghai_date
from custos.domain.clock import SystemClock
from custos.domain.gb_media import GbSource
from custos.domain.recording import OfflineReason, RecorderState
from custos.domain.stream_url import StreamUrl
from custos.entrypoints.demo.cameras import register_demo_cameras
from custos.recorder.backoff import Backoff
from custos.recorder.camera_worker import CameraWorker, RecorderConfig
from custos.recorder.engines.fake import KILLED, FakeEngine, FakePlan, sample_command
from custos.recorder.port import SessionRequest
from custos.recorder.run_state import RunState
from custos.services.recording import Timeline

FAST = Backoff(probe_fast_s=0.05, first_s=0.1, fast_max_s=0.2, max_s=0.2, refused_max_s=0.2)
CONFIG = RecorderConfig(segment_seconds=2, stall_s=1.0, connect_s=2.0, backoff=FAST)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("ffmpeg") is None:
        pytest.fail("ffmpeg is needed for the fake engine's sample: run scripts/setup")
    path = tmp_path_factory.mktemp("sample") / "sample.mp4"
    subprocess.run(sample_command(path), check=True)
    return path


@pytest.fixture
def camera_url() -> Iterator[str]:
    """A listening port, so the worker's TCP probe passes (nothing is ever read from it)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield f"rtsp://user:pw@127.0.0.1:{listener.getsockname()[1]}/main"


def _wait(check: Callable[[], bool], timeout_s: float = 10.0) -> None:
    done = threading.Event()
    for _ in range(int(timeout_s / 0.05)):
        if check():
            return
        done.wait(0.05)
    pytest.fail("condition not met in time")


class Rig:
    def __init__(
        self,
        container: Container,
        url: str,
        engine: FakeEngine,
        media: Path,
        stream: StreamUrl | None = None,
    ) -> None:
        today = shanghai_date(container.clock.now())
        self.camera_id = register_demo_cameras(container.registry, [url], today)[0]
        (target,) = [t for t in container.recording.targets() if t.camera_id == self.camera_id]
        if stream is not None:
            target = dataclasses.replace(target, stream=stream)
        self.container = container
        self.store = SegmentStore(media)
        self.engine = engine
        self.worker = CameraWorker(
            target, CONFIG, self.store, container.recording, container.clock, engine
        )
        self._watching = threading.Event()

    def start(self) -> None:
        self.worker.start()
        threading.Thread(target=self._watchdog, daemon=True).start()

    def _watchdog(self) -> None:  # the supervisor's tick
        while not self._watching.wait(0.1):
            self.worker.check_watchdog()

    def stop(self) -> None:
        self.worker.stop()
        self.worker.join(10)
        self._watching.set()
        assert not self.worker.is_alive()

    def timeline(self) -> Timeline:
        return self.container.recording.timeline(self.camera_id, None, None)


@pytest.fixture
def rig(
    container: Container, camera_url: str, sample: Path, tmp_path: Path
) -> Iterator[Callable[..., Rig]]:
    made: list[Rig] = []

    def make(engine: FakeEngine, stream: StreamUrl | None = None) -> Rig:
        made.append(Rig(container, camera_url, engine, tmp_path / "media", stream))
        return made[-1]

    yield make
    for r in made:
        if r.worker.is_alive():
            r.stop()


def test_segments_are_sealed_and_indexed_then_the_end_of_the_stream_opens_a_gap(
    rig: Callable[..., Rig], sample: Path
) -> None:
    engine = FakeEngine(sample, segment_wall_s=0.2)
    engine.script(FakePlan(segments=2), FakePlan(refuse="Connection refused"))
    r = rig(engine)
    r.start()
    _wait(lambda: len(engine.started) >= 2 and engine.sessions[1].poll() is not None)
    _wait(lambda: r.worker.offline_reason is OfflineReason.UNREACHABLE)
    r.stop()
    segments = r.timeline().segments
    assert [s.sequence for s in segments] == [0, 1]
    for s in segments:
        assert s.codec == "h264" and (s.width, s.height) == (320, 240)
        assert len(s.sha256) == 64 and s.bytes > 0
        assert s.duration_s == pytest.approx(2.0, abs=0.05)
        found = fmp4.scan(r.store.absolute(s.path))
        assert found.has_media and not found.torn
    assert r.worker.sealed == 2
    # the stream's end opened a gap; it stays open (the gap's first reason counts) until
    # footage is sealed again
    (gap,) = r.timeline().gaps
    assert gap.reason is OfflineReason.STREAM_ENDED


def test_a_refused_start_opens_a_gap_with_its_reason_and_is_tried_again(
    rig: Callable[..., Rig], sample: Path
) -> None:
    engine = FakeEngine(sample, segment_wall_s=0.2)
    engine.script(FakePlan(refuse="tcp://127.0.0.1:554: Connection refused"), FakePlan(segments=1))
    r = rig(engine)
    r.start()
    _wait(lambda: r.worker.sealed >= 1)
    r.stop()
    gaps = r.timeline().gaps
    assert gaps[0].reason is OfflineReason.UNREACHABLE
    assert "Connection refused" in gaps[0].detail
    assert gaps[0].end_at is not None  # closed by the segment sealed after the retry
    assert len(engine.started) >= 2
    assert not list(engine.started[0].run_dir.parent.glob(engine.started[0].run_dir.name))


def test_a_stall_ends_the_run_seals_its_segment_and_the_worker_starts_again(
    rig: Callable[..., Rig], sample: Path
) -> None:
    engine = FakeEngine(sample, segment_wall_s=0.2)
    engine.script(FakePlan(segments=1, then="stall"))
    r = rig(engine)
    r.start()
    _wait(lambda: r.worker.offline_reason is OfflineReason.STALLED)
    _wait(lambda: len(engine.started) >= 2 and r.worker.health().state is RecorderState.RECORDING)
    r.stop()
    first_run = [s for s in r.timeline().segments if s.run_id == engine.started[0].run_dir.name]
    # the whole segment, and the one in flight closed with its first fragment by the SIGTERM
    assert [s.sequence for s in first_run] == [0, 1]
    assert not any(s.adopted for s in first_run)  # listed and sealed, not found and adopted
    assert first_run[1].duration_s < first_run[0].duration_s
    stalls = [g for g in r.timeline().gaps if g.reason is OfflineReason.STALLED]
    assert stalls and "no new frame for 1 s" in stalls[0].detail
    assert engine.started[1].run_dir != engine.started[0].run_dir


def test_stopping_seals_the_segment_in_flight(rig: Callable[..., Rig], sample: Path) -> None:
    engine = FakeEngine(sample, segment_wall_s=30)  # one segment would take 30 s
    r = rig(engine)
    r.start()
    _wait(lambda: r.worker.health().state is RecorderState.RECORDING)
    r.stop()
    (segment,) = r.timeline().segments
    assert 0 < segment.duration_s < 2.0
    assert not segment.adopted  # listed at the stop, sealed as listed
    assert r.worker.sealed == 1
    assert engine.sessions[0].poll() == 0


def test_a_killed_session_lists_nothing_and_leaves_its_written_fragments(
    sample: Path, tmp_path: Path
) -> None:
    engine = FakeEngine(sample, segment_wall_s=30)
    run = RunState(SystemClock())
    session = engine.start(SessionRequest(1, "rtsp://cam/1", tmp_path, 2, 1.0), run, lambda: None)
    _wait(lambda: run.frames > 0)
    session.kill()
    assert list(session.listed()) == []
    session.wait()
    assert session.poll() == KILLED and run.exited
    found = fmp4.scan(tmp_path / "000000.mp4")
    assert found.has_media and not found.torn and len(found.fragments) == 1


def test_a_gb28181_channel_is_started_without_a_tcp_probe(
    rig: Callable[..., Rig], sample: Path
) -> None:
    """Nothing listens for a channel's URL: the GB engine (here the fake) says whether the
    device answers, at once."""
    engine = FakeEngine(sample, segment_wall_s=0.2)
    engine.script(FakePlan(segments=1))
    source = GbSource("34020000001320000001", "34020000001310000001")
    r = rig(engine, StreamUrl.gb(source))
    r.start()
    _wait(lambda: r.worker.sealed >= 1)
    r.stop()
    assert engine.started[0].source == source.url()
