"""The segment index, gaps and the files-vs-rows reconcile, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import stat
from datetime import timedelta
from pathlib import Path

import pytest

from custos.adapters.storage.segment_files import SegmentStore
from custos.bootstrap import Container
from custos.domain.calendar import shanghai_date
from custos.domain.clock import ManualClock
from custos.domain.recording import OfflineReason, Segment, SegmentMedia
from custos.entrypoints.demo.cameras import register_demo_cameras
from custos.recorder.reconcile import check, reconcile
from tests.unit.recorder.boxes import INIT, fragment

VIDEO = INIT + fragment(1)  # a fragmented MP4's boxes (the probe is faked)


@pytest.fixture
def camera_id(container: Container) -> int:
    today = shanghai_date(container.clock.now())
    return register_demo_cameras(container.registry, ["rtsp://127.0.0.1:1/cam1"], today)[0]


@pytest.fixture
def store(tmp_path: Path) -> SegmentStore:
    return SegmentStore(tmp_path / "media")


def _write(store: SegmentStore, rel: str, payload: bytes) -> Path:
    path = store.absolute(rel)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(payload)
    return path


def _segment(clock: ManualClock, camera_id: int, rel: str, sealed_bytes: int, sha: str) -> Segment:
    end = clock.now()
    return Segment(
        None, camera_id, rel.split("/")[1], int(Path(rel).stem), rel, end - timedelta(seconds=10), end, 10.0,
        sealed_bytes, sha, "h264", 640, 360, end,
    )  # fmt: skip


def test_sealing_makes_the_file_read_only_and_its_hash_reaches_index_and_audit(
    container: Container, clock: ManualClock, store: SegmentStore, camera_id: int
) -> None:
    rel = f"{camera_id}/run/000000.mp4"
    path = _write(store, rel, b"fragment" * 100)
    done = store.seal(path)
    assert done.sha256 == hashlib.sha256(b"fragment" * 100).hexdigest()
    assert not path.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    saved = container.recording.seal(_segment(clock, camera_id, rel, done.bytes, done.sha256))
    assert container.recording.indexed() == [saved]
    with container.uow() as uow:
        events = [e for _, e in uow.audit.find(limit=1000) if e.action == "segment.seal"]
    assert [e.detail["sha256"] for e in events] == [done.sha256]


def test_a_gap_starts_where_footage_ends_and_the_next_segment_closes_it(
    container: Container, clock: ManualClock, camera_id: int
) -> None:
    first = _segment(clock, camera_id, f"{camera_id}/run/000000.mp4", 1, "a" * 64)
    container.recording.seal(first)
    clock.advance(timedelta(seconds=30))
    container.recording.open_gap(camera_id, clock.now(), OfflineReason.STREAM_ENDED, "")
    container.recording.open_gap(camera_id, clock.now(), OfflineReason.UNREACHABLE, "")
    clock.advance(timedelta(seconds=30))
    container.recording.seal(_segment(clock, camera_id, f"{camera_id}/r2/000000.mp4", 1, "b" * 64))
    gaps = container.recording.timeline(camera_id, None, None).gaps
    assert len(gaps) == 1
    assert gaps[0].reason is OfflineReason.STREAM_ENDED
    assert gaps[0].start_at == first.end_at
    assert gaps[0].end_at == clock.now() - timedelta(seconds=10)


def test_a_restart_opens_a_gap_from_the_last_segment(
    container: Container, clock: ManualClock, camera_id: int
) -> None:
    last = _segment(clock, camera_id, f"{camera_id}/run/000000.mp4", 1, "a" * 64)
    container.recording.seal(last)
    container.recording.note_restart([camera_id])
    gaps = container.recording.timeline(camera_id, None, None).gaps
    assert [(g.reason, g.start_at, g.end_at) for g in gaps] == [
        (OfflineReason.RECORDER_RESTART, last.end_at, None)
    ]


def test_reconcile_adopts_a_playable_stray_quarantines_junk_and_flags_lost_files(
    container: Container, clock: ManualClock, store: SegmentStore, camera_id: int
) -> None:
    gone = _segment(clock, camera_id, f"{camera_id}/old/000000.mp4", 5, "c" * 64)
    container.recording.seal(gone)
    torn = fragment(2)[:70]  # the writer was killed inside the second fragment
    _write(store, f"{camera_id}/run/000001.mp4", VIDEO + torn)
    _write(store, f"{camera_id}/run/000002.mp4", b"junk")
    _write(store, f"{camera_id}/run/000003.mp4", INIT + torn)  # torn inside its first fragment
    _write(store, "999/run/000000.mp4", VIDEO)

    def probe(path: Path) -> SegmentMedia | None:
        return SegmentMedia(4.0, "h264", 640, 360) if path.read_bytes() == VIDEO else None

    report = reconcile(container.recording, store, clock, probe)
    assert report.adopted == [f"{camera_id}/run/000001.mp4"]
    assert sorted(report.quarantined) == sorted(
        ["999/run/000000.mp4", f"{camera_id}/run/000002.mp4", f"{camera_id}/run/000003.mp4"]
    )
    assert report.flagged_missing == [gone.path]
    rows = {s.path: s for s in container.recording.indexed()}
    adopted = rows[f"{camera_id}/run/000001.mp4"]
    assert adopted.adopted and rows[gone.path].missing
    # sealed without its torn tail, which is kept aside in quarantine and in the audit log
    assert adopted.bytes == len(VIDEO)
    assert adopted.sha256 == hashlib.sha256(VIDEO).hexdigest()
    kept = store.root / "quarantine" / f"{camera_id}/run/000001.mp4.torn"
    assert kept.read_bytes() == torn
    with container.uow() as uow:
        events = [e for _, e in uow.audit.find(limit=1000) if e.action == "segment.torn_tail"]
    assert [(e.detail["path"], e.detail["torn_bytes"]) for e in events] == [
        (adopted.path, len(torn))
    ]
    after = check(container.recording, store, rehash=True)
    assert after.missing_files == [gone.path] and not after.unindexed_files


def test_check_decodes_each_segment_tail_once_and_reports_a_bad_one(
    container: Container, clock: ManualClock, store: SegmentStore, camera_id: int
) -> None:
    for seq in (1, 2):
        rel = f"{camera_id}/run/{seq:06d}.mp4"
        done = store.seal(_write(store, rel, VIDEO))
        container.recording.seal(_segment(clock, camera_id, rel, done.bytes, done.sha256))
    bad = f"{camera_id}/run/000002.mp4"
    decoded: list[Path] = []

    def decode(path: Path) -> str | None:
        decoded.append(path)
        return "Invalid NAL unit size" if path == store.absolute(bad) else None

    first = check(container.recording, store, decode_tails=True, decoder=decode)
    assert first.tails_checked == 2 and first.bad_tails == {bad: "Invalid NAL unit size"}
    assert not first.clean
    again = check(container.recording, store, decode_tails=True, decoder=decode)
    assert again.tails_checked == 1 and again.bad_tails == {bad: "Invalid NAL unit size"}
    assert decoded == [store.absolute(f"{camera_id}/run/000001.mp4"), *[store.absolute(bad)] * 2]


def test_check_reports_a_file_changed_after_sealing(
    container: Container, clock: ManualClock, store: SegmentStore, camera_id: int
) -> None:
    rel = f"{camera_id}/run/000000.mp4"
    path = _write(store, rel, b"original")
    done = store.seal(path)
    container.recording.seal(_segment(clock, camera_id, rel, done.bytes, done.sha256))
    assert check(container.recording, store, rehash=True).clean
    path.chmod(0o644)
    path.write_bytes(b"tampered")  # same size, other bytes
    assert check(container.recording, store).clean  # sizes alone cannot see it
    assert check(container.recording, store, rehash=True).hash_mismatch == [rel]
