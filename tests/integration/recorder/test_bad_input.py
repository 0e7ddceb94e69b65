"""The recorder against cameras that misbehave, each beside a healthy camera, all real processes.

Every test checks three things: the health (state and reason) the recording service shows for
the bad camera, and its gap row; that a healthy camera recorded without interruption all along
(one run, segments sealed back to back); and that the recorder never crashed.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from custos.adapters.storage.segment_files import SegmentStore
from custos.bootstrap import Container
from custos.domain.alarms import Alarm, AlarmKind
from custos.domain.recording import CameraHealth, OfflineReason, RecorderState, Segment
from custos.domain.users import SYSTEM
from custos.recorder.reconcile import check
from tests.integration.recorder.conftest import (
    ENGINES,
    SEGMENT_SECONDS,
    CameraServer,
    JunkServer,
    RecorderProcess,
    register,
    wait_until,
)

pytestmark = pytest.mark.slow


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    """Every test here runs on each engine: they are what any engine must do."""
    return str(request.param)


# ---- helpers ------------------------------------------------------------------------------------
def _store(site: Container) -> SegmentStore:
    return SegmentStore(site.settings.resolved_media_dir())


def _segments(site: Container, camera_id: int) -> list[Segment]:
    return site.recording.timeline(camera_id, None, None).segments


def _health(site: Container, camera_id: int) -> CameraHealth | None:
    return site.recording.health(camera_id)


def _recording(site: Container, camera_id: int) -> bool:
    h = _health(site, camera_id)
    return h is not None and h.state is RecorderState.RECORDING


def _offline_for(site: Container, camera_id: int, reason: OfflineReason) -> bool:
    h = _health(site, camera_id)
    return h is not None and h.state is RecorderState.OFFLINE and h.reason is reason


def _gap_reasons(site: Container, camera_id: int) -> list[OfflineReason]:
    return [g.reason for g in site.recording.timeline(camera_id, None, None).gaps]


def _ffprobe(path: Path) -> tuple[str, int, int, int]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets", "-show_entries",
         "stream=codec_name,width,height,nb_read_packets", "-of", "json", str(path)],
        capture_output=True, check=True, text=True,
    ).stdout  # fmt: skip
    s = json.loads(out)["streams"][0]
    return s["codec_name"], int(s["width"]), int(s["height"]), int(s["nb_read_packets"])


def _run_dirs(site: Container, camera_id: int) -> list[Path]:
    cam_dir = _store(site).root / str(camera_id)
    return sorted(cam_dir.iterdir()) if cam_dir.exists() else []


#: From starting the recorder to its first health rows: 2-5 s, far more on a loaded machine.
STARTUP_S = 30.0

#: Media the healthy camera may lack against the wall-clock window it was watched in: the stop
#: signal arrives while some of it is still in the socket (more so on a loaded machine).
SLACK_S = 3.0


def assert_recorded_throughout(site: Container, camera_id: int, seconds: float) -> None:
    """After the recorder stopped: the camera was recorded in one run, without a hole, for at
    least ``seconds`` of media, and nothing is wrong with its files."""
    segs = _segments(site, camera_id)
    assert segs, f"camera {camera_id} sealed nothing"
    assert len({s.run_id for s in segs}) == 1, "the healthy camera's recording was interrupted"
    assert [s.sequence for s in segs] == list(range(len(segs)))
    for a, b in itertools.pairwise(segs):
        assert abs((b.start_at - a.end_at).total_seconds()) < 0.5
    assert sum(s.duration_s for s in segs) >= seconds
    assert not _gap_reasons(site, camera_id)
    assert check(site.recording, _store(site), rehash=True).clean


@pytest.fixture
def healthy(clip: Path) -> Iterator[CameraServer]:
    """A well-behaved camera on its own server, beside the bad one."""
    server = CameraServer(clip, ["good"])
    server.start()
    yield server
    server.kill()


@pytest.fixture
def junk() -> Iterator[list[JunkServer]]:
    servers = [JunkServer("garbage"), JunkServer("endless"), JunkServer("http")]
    yield servers
    for s in servers:
        s.close()


# ---- 1. wrong credentials -------------------------------------------------------------------------
@pytest.fixture
def locked(clip: Path) -> Iterator[CameraServer]:
    server = CameraServer(clip, ["cam"], user="viewer", password="right-pass")
    server.start()
    yield server
    server.kill()


def test_a_wrong_password_shows_auth_failed_and_the_right_one_records(
    site: Container, locked: CameraServer, healthy: CameraServer, recorder: RecorderProcess
) -> None:
    good, wrong = register(site, [healthy.urls()[0], locked.url("cam", "viewer", "wrong-pass")])
    recorder.start()
    wait_until(lambda: _offline_for(site, wrong, OfflineReason.AUTH_FAILED), STARTUP_S)
    started = time.monotonic()
    assert _recording(site, good)
    h = _health(site, wrong)
    assert h is not None and "wrong-pass" not in h.detail and "401" in h.detail
    assert _gap_reasons(site, wrong) == [OfflineReason.AUTH_FAILED]
    assert not _segments(site, wrong)

    # The same camera with the right password: recorded at once (the registry change restarts
    # its worker; the long back-off after a refusal does not delay it), and its gap closes.
    site.registry.update_camera(
        SYSTEM, wrong, {"main_stream_url": locked.url("cam", "viewer", "right-pass")}
    )
    wait_until(lambda: _recording(site, wrong), 12)
    recorder.assert_running()
    recording_for = time.monotonic() - started
    recorder.stop()
    assert_recorded_throughout(site, good, recording_for - SLACK_S)
    assert _segments(site, wrong)
    [recorded] = _run_dirs(site, wrong)  # the refused tries left no (empty) run directory
    assert {s.run_id for s in _segments(site, wrong)} == {recorded.name}
    [gap] = site.recording.timeline(wrong, None, None).gaps
    assert gap.reason is OfflineReason.AUTH_FAILED and gap.end_at is not None


# ---- 2. a stream with no video -------------------------------------------------------------------
@pytest.fixture
def audio_only(clip: Path) -> Iterator[CameraServer]:
    server = CameraServer(clip, [], audio_mounts=["mic"])
    server.start()
    yield server
    server.kill()


def test_an_audio_only_stream_is_refused_as_unsupported_codec(
    site: Container, audio_only: CameraServer, healthy: CameraServer, recorder: RecorderProcess
) -> None:
    good, mic = register(site, [healthy.urls()[0], audio_only.url("mic")])
    recorder.start()
    wait_until(lambda: _recording(site, good), STARTUP_S)
    started = time.monotonic()
    wait_until(lambda: _offline_for(site, mic, OfflineReason.UNSUPPORTED_CODEC), 15)
    h = _health(site, mic)
    assert h is not None and h.detail == "no video stream (it carries audio opus)"
    assert _gap_reasons(site, mic) == [OfflineReason.UNSUPPORTED_CODEC]
    time.sleep(2)  # it stays refused (no flapping through "connecting"), the other records on
    assert _offline_for(site, mic, OfflineReason.UNSUPPORTED_CODEC)
    recorder.assert_running()
    recording_for = time.monotonic() - started
    recorder.stop()
    assert not _segments(site, mic)
    assert not _run_dirs(site, mic)  # no file, not even an empty run directory, per try
    assert not list((_store(site).root / "quarantine").rglob("*.mp4"))
    assert_recorded_throughout(site, good, recording_for - SLACK_S)


# ---- 3. H.265 ---------------------------------------------------------------------------------------
@pytest.fixture
def hevc(clip_h265: Path) -> Iterator[CameraServer]:
    server = CameraServer(clip_h265, ["hevc"], codec="h265")
    server.start()
    yield server
    server.kill()


def test_h265_is_recorded_by_stream_copy_into_valid_hevc_segments(
    site: Container, hevc: CameraServer, healthy: CameraServer, recorder: RecorderProcess
) -> None:
    good, cam = register(site, [healthy.urls()[0], hevc.urls()[0]])
    recorder.start()
    wait_until(lambda: _recording(site, cam) and _recording(site, good), STARTUP_S)
    started = time.monotonic()
    wait_until(lambda: len(_segments(site, cam)) >= 1, SEGMENT_SECONDS + 5)
    recorder.assert_running()
    recording_for = time.monotonic() - started
    recorder.stop()
    segs = _segments(site, cam)
    assert len(segs) >= 2  # one cut by time, one by the stop
    assert len({s.run_id for s in segs}) == 1
    for s in segs:
        path = _store(site).absolute(s.path)
        assert hashlib.sha256(path.read_bytes()).hexdigest() == s.sha256
        codec, width, height, packets = _ffprobe(path)
        assert codec == s.codec == "hevc"
        assert (width, height) == (s.width, s.height) == (640, 360)
        assert packets > 0
    assert abs(segs[0].duration_s - SEGMENT_SECONDS) < 2.5
    assert not _gap_reasons(site, cam)
    assert_recorded_throughout(site, good, recording_for - SLACK_S)


# ---- 4. junk on the socket ---------------------------------------------------------------------
def test_a_peer_that_does_not_speak_rtsp_is_a_protocol_error_retried_with_capped_backoff(
    site: Container, junk: list[JunkServer], healthy: CameraServer, recorder: RecorderProcess
) -> None:
    good, *bad = register(site, [healthy.urls()[0], *(j.url() for j in junk)])
    recorder.start()
    wait_until(lambda: _recording(site, good), STARTUP_S)
    started = time.monotonic()
    for cam in bad:
        wait_until(lambda c=cam: _offline_for(site, c, OfflineReason.PROTOCOL_ERROR), 25)  # type: ignore[misc]
        # The gap is written when the run has ended (a watchdog stop takes up to a few s).
        wait_until(lambda c=cam: bool(_gap_reasons(site, c)), 5)  # type: ignore[misc]
        assert _gap_reasons(site, cam) == [OfflineReason.PROTOCOL_ERROR]
    noisy = junk[0]  # ffmpeg gives up at once on this one, so it is retried the most
    wait_until(lambda: len(noisy.connections) >= 6, 25)
    recorder.assert_running()
    assert _recording(site, good)
    for cam in bad:
        h = _health(site, cam)
        assert h is not None and h.reason is OfflineReason.PROTOCOL_ERROR
        assert "rtsp://" not in h.detail
        assert "Invalid data" in h.detail or "no RTSP stream described" in h.detail, h.detail
    recording_for = time.monotonic() - started
    recorder.stop()
    tries = [c for c in noisy.connections if c.closed is not None]
    waits = [b.accepted - a.closed for a, b in itertools.pairwise(tries) if a.closed is not None]
    # 1, 2, 3, 3, 3 s (0.5 s doubling, capped at 3 s), plus the TCP probe and an ffmpeg start:
    # it backs off, and stays at the cap (uncapped, the fifth wait would be 16 s)
    assert len(waits) >= 5
    assert waits[0] < waits[2], f"no back-off: {waits}"
    assert all(0.3 < w < 3.0 + 3.0 for w in waits), waits  # +3: slack for a loaded machine
    assert all(j.connections for j in junk)
    for cam in bad:
        assert not _segments(site, cam)
        assert not _run_dirs(site, cam)
    assert_recorded_throughout(site, good, recording_for - SLACK_S)


# ---- 5. a camera that stalls without closing ---------------------------------------------------
@pytest.fixture
def staller(clip: Path) -> Iterator[CameraServer]:
    server = CameraServer(clip, ["cam"])
    server.start()
    yield server
    server.kill()


def test_a_camera_that_stops_sending_is_stalled_and_recorded_again_when_it_resumes(
    site: Container, staller: CameraServer, healthy: CameraServer, recorder: RecorderProcess
) -> None:
    good, cam = register(site, [healthy.urls()[0], staller.urls()[0]])
    recorder.start()
    wait_until(lambda: _recording(site, cam) and _recording(site, good), STARTUP_S)
    started = time.monotonic()
    staller.toggle_freeze()  # the connection stays open; no more RTP
    wait_until(lambda: _offline_for(site, cam, OfflineReason.STALLED), 30, step_s=0.1)
    noticed_at = datetime.now(UTC)
    # Counted from the last frame that arrived, not from the freeze: the simulated camera's
    # appsrc still sends what it had queued, up to a few seconds of this small clip.
    stalled = _health(site, cam)
    assert stalled is not None and stalled.last_frame_at is not None
    silent_for = (noticed_at - stalled.last_frame_at).total_seconds()
    # the watchdog's 10 s (or the socket time-out), the frame tick, the health publish
    assert silent_for < 10 + 1 + 3 + 2, silent_for  # (+2: a loaded machine)
    assert _recording(site, good)
    staller.toggle_freeze()
    wait_until(lambda: _recording(site, cam), 15)
    recorder.assert_running()
    recording_for = time.monotonic() - started
    recorder.stop()
    timeline = site.recording.timeline(cam, None, None)
    assert len({s.run_id for s in timeline.segments}) == 2  # before the stall, after it
    [gap] = timeline.gaps
    assert gap.reason is OfflineReason.STALLED and gap.end_at is not None
    # What reached the recorder before the stall was written out and sealed, not lost.
    assert not list((_store(site).root / "quarantine").rglob("*.mp4"))
    assert not any(s.adopted for s in timeline.segments)
    assert check(site.recording, _store(site), rehash=True).clean
    assert_recorded_throughout(site, good, recording_for - SLACK_S)


# ---- 6. storage full -------------------------------------------------------------------------------
SHM = Path("/dev/shm")


STORAGE_ALARM = AlarmKind.STORAGE_FULL
#: The recorder's tick (0.5 s) and a database write, with room for a loaded machine.
ALARM_LATENCY_S = 2.0
#: Space back → the next try (≤ 1 s in the first minute) → RTSP set-up → frames flowing.
RESUME_S = 4.0


def _storage_alarms(site: Container) -> list[Alarm]:
    return [a for a in site.alarms.find(SYSTEM) if a.kind is STORAGE_ALARM]


@pytest.fixture
def small_disk() -> Iterator[Path]:
    """A media directory on a tmpfs that only this test fills: the free space of the shared
    disk moves by gigabytes within seconds while other work runs (benchmarks, other suites)."""
    if not SHM.is_dir() or shutil.disk_usage(SHM).free < 64 * 2**20:
        pytest.fail("the storage test needs a tmpfs at /dev/shm with 64 MiB free")
    root = Path(tempfile.mkdtemp(prefix="custos-media-", dir=SHM))
    yield root / "media"
    shutil.rmtree(root, ignore_errors=True)


def test_storage_below_the_minimum_stops_recording_keeps_every_segment_and_resumes(
    site: Container, cameras: CameraServer, recorder: RecorderProcess, small_disk: Path
) -> None:
    ids = register(site, cameras.urls())
    store = SegmentStore(small_disk)
    media = store.root
    media.mkdir(parents=True)
    # The minimum sits half the ballast below the free space now: met until the ballast is
    # written, not met while it is there.
    free = store.free_bytes()
    ballast_bytes = min(256 * 2**20, free // 2)
    recorder.env["CUSTOS_MEDIA_DIR"] = str(media)
    recorder.env["CUSTOS_RECORDER_MIN_FREE_MB"] = str((free - ballast_bytes // 2) // 2**20)
    recorder.start()
    wait_until(lambda: all(_recording(site, i) for i in ids), STARTUP_S)
    time.sleep(2.5)  # a keyframe, hence a fragment, is in every camera's file in flight
    in_flight = [store.relative(p) for p in media.rglob("*.mp4")]
    assert len(in_flight) == len(ids)

    assert _storage_alarms(site) == []
    ballast = media.parent / "ballast"
    fd = os.open(ballast, os.O_CREAT | os.O_WRONLY, 0o600)
    try:
        os.posix_fallocate(fd, 0, ballast_bytes)
    finally:
        os.close(fd)
    try:
        # The critical alarm is raised by the recorder in the tick it stops the cameras.
        raised_after = wait_until(lambda: len(_storage_alarms(site)) == 1, 10, step_s=0.05)
        print(f"storage_full alarm raised {raised_after:.2f} s after the disk filled")
        assert raised_after <= ALARM_LATENCY_S
        # Every camera shares the disk, so every camera stops (none is "healthy" here); the
        # recorder itself keeps running.
        for i in ids:
            wait_until(lambda c=i: _offline_for(site, c, OfflineReason.STORAGE_FULL), 10)  # type: ignore[misc]
            wait_until(lambda c=i: _gap_reasons(site, c) == [OfflineReason.STORAGE_FULL], 10)  # type: ignore[misc]
        recorder.assert_running()
        files_while_full = sorted(media.rglob("*.mp4"))
        time.sleep(3)  # no new file while below the minimum
        assert sorted(media.rglob("*.mp4")) == files_while_full
        # What was in flight was finished and sealed while there was still room.
        sealed = {s.path: s for i in ids for s in _segments(site, i)}
        assert set(in_flight) <= set(sealed)
        before = {p: sealed[p].sha256 for p in in_flight}
        assert [a.detail["camera_ids"] for a in _storage_alarms(site)] == [sorted(ids)]
    finally:
        ballast.unlink()
    # Space is back: recorded again without a restart (the next try checks the free space),
    # and the alarm is cleared as soon as the last camera records again.
    cleared_after = wait_until(lambda: _storage_alarms(site) == [], 10, step_s=0.05)
    print(f"storage_full alarm cleared {cleared_after:.2f} s after space returned")
    assert cleared_after <= RESUME_S + ALARM_LATENCY_S
    for i in ids:
        wait_until(lambda c=i: _recording(site, c), 10)  # type: ignore[misc]
    recorder.assert_running()
    [alarm] = [a for a in site.alarms.find(SYSTEM, open_only=False) if a.kind is STORAGE_ALARM]
    assert alarm.cleared_at is not None and alarm.cleared_at > alarm.raised_at
    recorder.stop()
    after = {s.path: s for i in ids for s in _segments(site, i)}
    for path, sha256 in before.items():  # nothing deleted, nothing changed
        assert path in after and after[path].sha256 == sha256 and not after[path].missing
        assert store.hash_of(path) == sha256
    assert not list((media / "quarantine").rglob("*.mp4"))
    assert check(site.recording, store, rehash=True).clean
    for i in ids:
        timeline = site.recording.timeline(i, None, None)
        [gap] = timeline.gaps
        assert gap.reason is OfflineReason.STORAGE_FULL and gap.end_at is not None
        assert len({s.run_id for s in timeline.segments}) == 2
