"""The recorder against a real RTSP peer (GStreamer's server): files, index, crashes, outages."""

from __future__ import annotations

import hashlib
import itertools
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from custos.adapters.media.ffmpeg_segmenter import END_OF_STREAM
from custos.adapters.storage.segment_files import SegmentStore
from custos.bootstrap import Container
from custos.domain.calendar import shanghai_date
from custos.domain.kinds import LifecycleState
from custos.domain.recording import OfflineReason, RecorderState, Segment
from custos.domain.users import SYSTEM
from custos.recorder.reconcile import check
from tests.integration.processes import alive, children
from tests.integration.recorder.conftest import (
    ENGINES,
    SEGMENT_SECONDS,
    CameraServer,
    RecorderProcess,
    register,
    wait_until,
)

pytestmark = pytest.mark.slow


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    """Every test here runs on each engine: they are what any engine must do."""
    return str(request.param)


def _store(site: Container) -> SegmentStore:
    return SegmentStore(site.settings.resolved_media_dir())


def _segments(site: Container, camera_id: int) -> list[Segment]:
    return site.recording.timeline(camera_id, None, None).segments


def _ffprobe_packets(path: Path) -> tuple[str, int, float]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets", "-show_entries",
         "stream=codec_name,nb_read_packets:format=duration", "-of", "json", str(path)],
        capture_output=True, check=True, text=True,
    ).stdout  # fmt: skip
    info = json.loads(out)
    stream = info["streams"][0]
    return stream["codec_name"], int(stream["nb_read_packets"]), float(info["format"]["duration"])


def _recording(site: Container, camera_id: int) -> bool:
    h = site.recording.health(camera_id)
    return h is not None and h.state is RecorderState.RECORDING


def test_segments_are_valid_mp4_whose_hashes_match_the_index(
    site: Container, cameras: CameraServer, recorder: RecorderProcess
) -> None:
    ids = register(site, cameras.urls())
    recorder.start()
    wait_until(lambda: all(len(_segments(site, i)) >= 2 for i in ids), 3 * SEGMENT_SECONDS + 10)
    recorder.stop()
    store = _store(site)
    for camera_id in ids:
        segs = _segments(site, camera_id)
        assert len({s.run_id for s in segs}) == 1
        assert [s.sequence for s in segs] == list(range(len(segs)))
        for s in segs:
            path = store.absolute(s.path)
            assert hashlib.sha256(path.read_bytes()).hexdigest() == s.sha256
            codec, packets, duration = _ffprobe_packets(path)
            assert codec == s.codec == "h264" and (s.width, s.height) == (640, 360)
            assert packets > 0 and abs(duration - s.duration_s) < 0.5
            # the camera clock's drift is kept (not trusted); a first segment anchors at 0
            assert s.clock_drift_s is not None and abs(s.clock_drift_s) < 5
        full = segs[:-1]  # the last one was cut short by the stop
        assert all(abs(s.duration_s - SEGMENT_SECONDS) < 2.5 for s in full)
        for a, b in itertools.pairwise(segs):
            assert abs((b.start_at - a.end_at).total_seconds()) < 0.5  # no hole inside a run
    assert check(site.recording, store, rehash=True).clean
    argv = [sys.executable, "-m", "custos", "check", "--hash"]
    done = subprocess.run(
        [*argv, "--data-dir", str(site.settings.data_dir)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_kill_9_mid_segment_loses_at_most_one_fragment(
    site: Container, cameras: CameraServer, recorder: RecorderProcess, engine: str
) -> None:
    [camera_id] = register(site, cameras.urls()[:1])
    recorder.start()
    wait_until(lambda: len(_segments(site, camera_id)) >= 1, SEGMENT_SECONDS + 15)
    time.sleep(SEGMENT_SECONDS / 2)  # well into the second segment
    assert recorder.proc is not None
    engine_pids = children(recorder.proc.pid)  # ffmpeg processes, or recording shards
    assert engine_pids
    killed_at = time.time()
    recorder.stop(signal.SIGKILL)
    time.sleep(0.5)
    survivors = [p for p in engine_pids if alive(p)]
    if engine == "ffmpeg":
        assert survivors == [], f"{engine} children outlived the recorder"
    else:  # docs/design/recording.md, "Shards outlive their supervisor"
        assert survivors == engine_pids, "the shards outlive the recorder"
    first_run = _segments(site, camera_id)[0].run_id
    in_flight = [
        p for p in (_store(site).root / str(camera_id) / first_run).glob("*.mp4")
        if _store(site).relative(p) not in {s.path for s in _segments(site, camera_id)}
    ]  # fmt: skip
    assert len(in_flight) == 1

    recorder.start()
    if engine == "pyav":  # the next recorder takes the session over: nothing is lost
        in_flight_rel = _store(site).relative(in_flight[0])
        wait_until(
            lambda: in_flight_rel in {s.path for s in _segments(site, camera_id)},
            SEGMENT_SECONDS + 15,
        )
        recorder.stop()
        [row] = [s for s in _segments(site, camera_id) if s.path == in_flight_rel]
        assert not row.adopted and row.duration_s >= SEGMENT_SECONDS - 1
        assert {s.run_id for s in _segments(site, camera_id)} == {first_run}
        assert check(site.recording, _store(site), rehash=True).clean
        gaps = site.recording.timeline(camera_id, None, None).gaps
        assert OfflineReason.RECORDER_RESTART not in [g.reason for g in gaps]
        return
    wait_until(lambda: any(s.adopted for s in _segments(site, camera_id)), 15)
    recorder.stop()
    adopted = next(s for s in _segments(site, camera_id) if s.adopted and s.run_id == first_run)
    assert adopted.path == _store(site).relative(in_flight[0])
    first_sealed = _segments(site, camera_id)[0]
    written = killed_at - first_sealed.end_at.timestamp()  # media that reached the in-flight file
    gop_s = 2.0  # the clip has a keyframe, hence a fragment, every 50 frames at 25 fps
    assert adopted.duration_s >= written - gop_s - 1.0
    assert check(site.recording, _store(site), rehash=True).clean
    gaps = site.recording.timeline(camera_id, None, None).gaps
    assert [g.reason for g in gaps][:1] == [OfflineReason.RECORDER_RESTART]


#: From a camera's return (its RTSP server answering again) to media on disk: one probe
#: interval (0.25 s), the RTSP set-up and the first keyframe (docs/design/recording.md).
RETURN_TO_MEDIA_S = 3.0


def test_a_camera_that_goes_away_leaves_a_gap_and_is_recorded_again_within_3_s(
    site: Container, cameras: CameraServer, recorder: RecorderProcess
) -> None:
    [camera_id] = register(site, cameras.urls()[:1])
    recorder.start()
    wait_until(lambda: _recording(site, camera_id), 15)
    resumed: list[float] = []
    for outage_s in (3.0, 1.0, 6.0):  # flaps, as a camera farm's are
        time.sleep(3)
        cameras.kill()
        wait_until(lambda: not _recording(site, camera_id), 20)
        assert site.recording.health(camera_id).reason in {  # type: ignore[union-attr]
            OfflineReason.STREAM_ENDED,
            OfflineReason.UNREACHABLE,
            OfflineReason.STALLED,
        }
        runs_before = set((_store(site).root / str(camera_id)).iterdir())
        time.sleep(outage_s)
        cameras.start()

        def new_run_has_media(before: set[Path] = runs_before) -> bool:
            runs = set((_store(site).root / str(camera_id)).iterdir()) - before
            return any(f.stat().st_size > 0 for r in runs for f in r.glob("*.mp4"))

        resumed.append(wait_until(new_run_has_media, 10, step_s=0.05))
        wait_until(lambda: _recording(site, camera_id), 10)
    print(f"media on disk after the camera's return: {resumed} s")
    assert max(resumed) <= RETURN_TO_MEDIA_S, resumed
    recorder.stop()
    timeline = site.recording.timeline(camera_id, None, None)
    assert len(timeline.gaps) == 3 and len({s.run_id for s in timeline.segments}) == 4
    for gap in timeline.gaps:
        assert gap.reason is not OfflineReason.RECORDER_RESTART
        assert gap.end_at is not None and gap.end_at > gap.start_at
        # the engine's last words: the camera closed the connection (its server was killed)
        assert gap.detail, gap
        assert "rtsp://" not in gap.detail
        if gap.reason is OfflineReason.STREAM_ENDED:
            assert gap.detail == END_OF_STREAM, gap


@pytest.mark.dates
def test_a_camera_removed_from_the_registry_stops_being_recorded(
    site: Container, cameras: CameraServer, recorder: RecorderProcess
) -> None:
    kept, removed = register(site, cameras.urls())
    recorder.start()
    wait_until(lambda: _recording(site, kept) and _recording(site, removed), 15)
    today = shanghai_date(site.clock.now())
    site.registry.transition_camera(SYSTEM, removed, LifecycleState.REMOVED, today)
    wait_until(lambda: site.recording.health(removed).reason is OfflineReason.REMOVED, 15)  # type: ignore[union-attr]
    files_then = sorted((_store(site).root / str(removed)).rglob("*.mp4"))
    sizes_then = [f.stat().st_size for f in files_then]
    time.sleep(4)
    assert sorted((_store(site).root / str(removed)).rglob("*.mp4")) == files_then
    assert [f.stat().st_size for f in files_then] == sizes_then
    assert _recording(site, kept)
    assert len(_segments(site, removed)) >= 1  # what it recorded before removal was sealed
