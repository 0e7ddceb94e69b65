"""Recording shards (the pyav engine) against GStreamer's RTSP server: a shard that dies takes
only its own cameras, for a few seconds, and loses nothing that reached the disk."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from custos.adapters.storage.segment_files import SegmentStore
from custos.bootstrap import Container
from custos.domain.recording import OfflineReason, RecorderState
from custos.recorder.reconcile import check
from tests.integration.recorder.conftest import (
    SEGMENT_SECONDS,
    CameraServer,
    RecorderProcess,
    register,
    wait_until,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def engine() -> str:
    return "pyav"


def _shards(recorder_pid: int) -> list[int]:
    out = subprocess.run(
        ["pgrep", "-P", str(recorder_pid)], capture_output=True, text=True, check=False
    )
    return [
        int(p)
        for p in out.stdout.split()
        if b"custos.recorder.shard" in Path(f"/proc/{p}/cmdline").read_bytes()
    ]


def _writes_under(pid: int, directory: Path) -> bool:
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            if os.readlink(fd).startswith(f"{directory}/"):
                return True
        except OSError:  # closed meanwhile
            continue
    return False


def test_a_shard_killed_mid_segment_costs_only_its_own_cameras_a_few_seconds(
    site: Container, cameras: CameraServer, recorder: RecorderProcess
) -> None:
    recorder.env["CUSTOS_RECORDER_SHARD_CAMERAS"] = "1"  # one camera per shard: two shards
    victim_cam, other_cam = register(site, cameras.urls())
    store = SegmentStore(site.settings.resolved_media_dir())

    def segments(camera_id: int) -> list[object]:
        return list(site.recording.timeline(camera_id, None, None).segments)

    def recording(camera_id: int) -> bool:
        h = site.recording.health(camera_id)
        return h is not None and h.state is RecorderState.RECORDING

    recorder.start()
    wait_until(lambda: all(len(segments(c)) >= 1 for c in (victim_cam, other_cam)), 40)
    time.sleep(SEGMENT_SECONDS / 2)  # well into the next segment
    assert recorder.proc is not None
    shards = _shards(recorder.proc.pid)
    assert len(shards) == 2
    [victim] = [p for p in shards if _writes_under(p, store.root / str(victim_cam))]
    runs_before = set((store.root / str(victim_cam)).iterdir())
    os.kill(victim, signal.SIGKILL)

    def new_run_has_media() -> bool:
        runs = set((store.root / str(victim_cam)).iterdir()) - runs_before
        return any(f.stat().st_size > 0 for r in runs for f in r.glob("*.mp4"))

    back_after = wait_until(new_run_has_media, 15, step_s=0.1)
    print(f"media on disk again {back_after:.2f} s after the shard's kill")
    assert back_after <= 3.0  # the fast probe back-off, a new shard, RTSP set-up (issue 16)
    wait_until(lambda: recording(victim_cam), 10)
    recorder.assert_running()
    assert recording(other_cam)
    time.sleep(2)
    recorder.stop()

    other = site.recording.timeline(other_cam, None, None)
    assert len({s.run_id for s in other.segments}) == 1  # never interrupted
    assert other.gaps == [] or all(g.start_at >= other.segments[-1].end_at for g in other.gaps)
    hit = site.recording.timeline(victim_cam, None, None)
    assert len({s.run_id for s in hit.segments}) == 2
    assert [g.reason for g in hit.gaps][:1] == [OfflineReason.RECORDER_RESTART]
    # the file the dead shard was writing is indexed (adopted), nothing is left unindexed
    on_disk = {store.relative(p) for p in (store.root / str(victim_cam)).rglob("*.mp4")}
    assert on_disk == {s.path for s in hit.segments}
    assert any(s.adopted for s in hit.segments)
    assert check(site.recording, store, rehash=True).clean
