"""Files torn by kill -9 and by a sudden ENOSPC: cut back to their last whole fragment before
sealing, the torn bytes kept in quarantine and audited, and every file sealed decodes without
an error (``ffmpeg -v error``). See docs/design/recording.md, "Torn tails"."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import av
import pytest

from custos.adapters.media import fmp4
from custos.adapters.media.pyav_segmenter import RECORDING_OPTIONS
from custos.adapters.storage.segment_files import SegmentStore
from custos.bootstrap import Container
from custos.domain.recording import OfflineReason, RecorderState, Segment
from custos.recorder.reconcile import check
from tests.integration.processes import children
from tests.integration.recorder.conftest import (
    ENGINES,
    SEGMENT_SECONDS,
    CameraServer,
    RecorderProcess,
    register,
    shard_pids,
    wait_until,
)

pytestmark = pytest.mark.slow


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _segments(site: Container) -> dict[str, Segment]:
    return {s.path: s for s in site.recording.indexed()}


def _recording(site: Container, camera_id: int) -> bool:
    h = site.recording.health(camera_id)
    return h is not None and h.state is RecorderState.RECORDING


def _unindexed(site: Container, store: SegmentStore) -> dict[str, int]:
    """Files without a row (the segments in flight), with their sizes now."""
    rows = _segments(site)
    return {
        rel: store.absolute(rel).stat().st_size for rel in store.segment_files() if rel not in rows
    }


def _decode_errors(path: Path) -> str:
    """What ``ffmpeg -v error`` says while decoding the whole file ("" when nothing). Decoded
    to raw video, a muxer that keeps no timestamps: ``-f null`` (ffmpeg 5.1) also complains
    about frame times, which is not what a torn file is about."""
    done = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-map", "0:v:0",
         "-f", "rawvideo", "-y", "/dev/null"],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    return done.stderr.strip() or ("" if done.returncode == 0 else f"exit {done.returncode}")


def _torn_kept(store: SegmentStore) -> dict[str, int]:
    """Torn tails kept in quarantine: the segment they were cut from, and their size."""
    found = {}
    for volume in store.volumes:
        for p in (volume / "quarantine").rglob("*.torn*"):
            inner = p.relative_to(volume / "quarantine").as_posix().partition(".mp4.torn")[0]
            found[store.relative(volume / (inner + ".mp4"))] = p.stat().st_size
    return found


def _torn_audited(site: Container) -> dict[str, int]:
    with site.uow() as uow:
        events = [e for _, e in uow.audit.find(limit=10_000) if e.action == "segment.torn_tail"]
    return {str(e.detail["path"]): int(e.detail["torn_bytes"]) for e in events}


def _assert_every_file_is_whole_and_indexed(site: Container, store: SegmentStore) -> None:
    rows = _segments(site)
    files = set(store.segment_files())
    assert files == set(rows), "files and rows differ"
    errors = {rel: _decode_errors(store.absolute(rel)) for rel in sorted(files)}
    assert {rel: e for rel, e in errors.items() if e} == {}
    report = check(site.recording, store, rehash=True, decode_tails=True)
    assert report.clean, report
    assert report.tails_checked == len(rows)


def test_files_torn_by_kill_9_are_cut_to_their_last_whole_fragment_before_sealing(
    site: Container, cameras: CameraServer, recorder: RecorderProcess, engine: str
) -> None:
    ids = register(site, cameras.urls())
    store = SegmentStore(site.settings.resolved_media_dir())
    recorder.start()
    wait_until(lambda: all(site.recording.timeline(i, None, None).segments for i in ids), 40)
    time.sleep(SEGMENT_SECONDS / 2)  # well into the next segment: several fragments written

    # 1. kill -9 of the recorder: its ffmpeg children die with it, and their files are adopted
    # at start-up; shards outlive it, and the next recorder's workers take their sessions over
    # (docs/design/recording.md, "Shards outlive their supervisor")
    recorder.stop(signal.SIGKILL)
    time.sleep(0.5)
    at_kill = _unindexed(site, store)
    assert len(at_kill) == len(ids)
    recorder.start()
    wait_until(lambda: set(at_kill) <= set(_segments(site)), 30)

    # 2. kill -9 of one engine process while the recorder runs: its worker adopts the file
    wait_until(lambda: all(_recording(site, i) for i in ids), 30)
    if engine == "pyav":  # the runs went on across the kill: a segment just begun
        sealed = len(_segments(site))
        wait_until(lambda: len(_segments(site)) > sealed, 2 * SEGMENT_SECONDS, step_s=0.1)
    time.sleep(4)  # a couple of fragments into the new runs (or segments)
    assert recorder.proc is not None
    # an ffmpeg, or the recording shard (the last recorder's: not this one's child)
    victim = (
        children(recorder.proc.pid) if engine == "ffmpeg" else shard_pids(site.settings.data_dir)
    )[0]
    in_flight = _unindexed(site, store)
    os.kill(victim, signal.SIGKILL)
    wait_until(lambda: any(rel in _segments(site) for rel in in_flight), 30)
    wait_until(lambda: all(_recording(site, i) for i in ids), 30)
    recorder.assert_running()
    recorder.stop()

    rows = _segments(site)
    kept, audited = _torn_kept(store), _torn_audited(site)
    print(f"{engine}: torn tails cut: {audited}")
    # Every cut is kept aside and audited, and nothing else is. (Since each fragment is
    # flushed once written, a kill rarely tears one: only inside the write itself.)
    assert kept == audited
    for rel, size in at_kill.items():  # nothing dropped: sealed bytes + kept bytes = the file
        if engine == "ffmpeg":
            assert rows[rel].adopted
            assert rows[rel].bytes + kept.get(rel, 0) == size
        else:  # recorded on to its end by the shard that outlived the kill, and sealed as listed
            assert not rows[rel].adopted and rel not in kept
            assert rows[rel].bytes > size
    _assert_every_file_is_whole_and_indexed(site, store)
    argv = [sys.executable, "-m", "custos", "check", "--hash"]
    done = subprocess.run(
        [*argv, "--data-dir", str(site.settings.data_dir)],
        capture_output=True, text=True, check=False,
        env=os.environ | {"CUSTOS_MEDIA_DIR": str(store.root)},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_pyav_writer_puts_each_fragment_on_disk_as_soon_as_it_is_written(
    tmp_path: Path, clip: Path
) -> None:
    """What a kill -9 finds: without a flush per fragment, FFmpeg's I/O buffer holds up to
    256 kB (seconds of video) that never reach the file, and the file ends inside a fragment."""
    source = tmp_path / "source.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(clip), "-c", "copy", str(source)], check=True
    )
    target = tmp_path / "out.mp4"
    with av.open(str(source)) as inp:
        video = inp.streams.video[0]
        out = av.open(
            str(target), "w", format="mp4", options=dict(o.split("=", 1) for o in RECORDING_OPTIONS)
        )
        stream = out.add_stream_from_template(video)
        keyframes = 0
        for packet in inp.demux(video):
            if packet.dts is None:
                continue
            keyframes += packet.is_keyframe
            packet.stream = stream
            out.mux(packet)
            if keyframes >= 3:  # two fragments finished by now (and handed to the muxer)
                break
        on_disk = fmp4.scan(target)  # before close: what a kill -9 would leave
        out.close()
    assert not on_disk.torn and len(on_disk.fragments) == 2


# ---- a sudden ENOSPC -------------------------------------------------------------------------
VOLUME_MIB = 48
MIN_FREE_MIB = 8


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs of VOLUME_MIB that only this test fills (mounted before, so unmounted after,
    the recorder). The test machine runs as root: a mount that fails fails the test."""
    point = tmp_path / "disk"
    point.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={VOLUME_MIB}m,mode=0755", "tmpfs", str(point)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs at {point} (the test needs root): {done.stderr}")
    try:
        yield point
    finally:
        if subprocess.run(["umount", str(point)], capture_output=True, check=False).returncode:
            subprocess.run(["umount", "-l", str(point)], capture_output=True, check=False)


def _fill_to_the_last_byte(path: Path) -> None:
    """Take every free byte of the file system at once (another program filling the disk)."""
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
    try:
        size = 0
        while True:
            free = os.statvfs(path.parent).f_bavail * os.statvfs(path.parent).f_frsize
            if free == 0:
                return
            try:
                os.posix_fallocate(fd, size, free)
                size += free
            except OSError:  # the recorder wrote meanwhile: take what is left
                free = 0
            if free == 0:
                size = os.fstat(fd).st_size
    finally:
        os.close(fd)


def test_files_torn_by_a_sudden_enospc_are_cut_sealed_later_and_all_decode(
    site: Container, cameras: CameraServer, recorder: RecorderProcess, tmpfs: Path, engine: str
) -> None:
    ids = register(site, cameras.urls())
    store = SegmentStore(tmpfs / "media")
    recorder.env["CUSTOS_MEDIA_DIR"] = str(store.root)
    recorder.env["CUSTOS_RECORDER_MIN_FREE_MB"] = str(MIN_FREE_MIB)
    recorder.start()
    wait_until(lambda: all(_recording(site, i) for i in ids), 30)
    time.sleep(2.5)  # a keyframe, hence a fragment, is in every file in flight
    ballast = tmpfs / "ballast"
    _fill_to_the_last_byte(ballast)
    try:
        for i in ids:
            wait_until(
                lambda c=i: site.recording.health(c).reason is OfflineReason.STORAGE_FULL,  # type: ignore[union-attr,misc]
                15,
            )
        time.sleep(3)
        recorder.assert_running()
    finally:
        ballast.unlink()
    for i in ids:
        wait_until(lambda c=i: _recording(site, c), 20)  # type: ignore[misc]
    wait_until(lambda: not _unindexed_but_in_flight(site, store), 20)
    time.sleep(2)
    recorder.assert_running()
    recorder.stop()
    log = recorder.log.read_text(errors="replace")
    deferred = log.count("it is tried again later")  # no room even for the torn tail, at first
    print(f"{engine}: torn tails cut at ENOSPC: {_torn_audited(site)}, {deferred} deferred")
    assert _torn_audited(site), "the full disk tore no file: nothing was tested"
    assert _torn_kept(store) == _torn_audited(site)
    _assert_every_file_is_whole_and_indexed(site, store)


def _unindexed_but_in_flight(site: Container, store: SegmentStore) -> list[str]:
    """Files without a row other than the one each camera is writing now (the newest run's
    newest file): left over from the full disk, still to be adopted."""
    newest: set[str] = set()
    for camera_dir in (p for p in store.root.iterdir() if p.name.isdigit()):
        runs = sorted(r for r in camera_dir.iterdir() if r.is_dir())
        files = sorted(runs[-1].glob("*.mp4")) if runs else []
        newest.update(store.relative(f) for f in files[-1:])
    return [rel for rel in _unindexed(site, store) if rel not in newest]
