"""Files vs rows: the start-up reconcile and ``custos check``.

Invariant: every row names a sealed file (or is flagged ``missing``), and every file under the media
root either has a row or is in quarantine. A crash can break it only one way: a file without a row
(the segment in flight, or one sealed whose row was not yet committed). Reconcile repairs that by
adopting the file (cut its torn tail aside, probe it, seal it, index it with ``adopted``) or, if it
holds no complete fragment or belongs to no camera, moving it to quarantine. Rows whose file is
gone are flagged, never deleted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from custos.adapters.media import fmp4
from custos.adapters.media.probe import decode_tail, probe_segment
from custos.adapters.storage.segment_files import SegmentStore, split_volume
from custos.domain.clock import Clock
from custos.domain.recording import Segment, SegmentMedia
from custos.recorder.lease_stamp import read_stamp
from custos.services.fencing import RefusedSegment
from custos.services.offload import OffloadService
from custos.services.recording import RecordingService

log = logging.getLogger(__name__)
Probe = Callable[[Path], SegmentMedia | None]
TailDecoder = Callable[[Path], str | None]  # None: the last fragment decodes without an error


@dataclass
class ReconcileReport:
    adopted: list[str] = field(default_factory=list)
    quarantined: list[str] = field(default_factory=list)
    flagged_missing: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)  # could not be handled now (no room)


def reconcile(
    service: RecordingService,
    store: SegmentStore,
    clock: Clock,
    probe: Probe = probe_segment,
    node: str | None = None,
    writing: Mapping[str, int] | None = None,
) -> ReconcileReport:
    """``node``: a recorder node reconciles only the rows of the segments it recorded (the
    others' files are on their machines). ``writing``: the run directories of sessions that
    outlived the last recorder, each with the first sequence they may still write: those files
    are left to the session's worker."""
    indexed = {s.path: s for s in service.indexed(node)}
    unindexed = [
        rel
        for rel in store.segment_files()
        if rel not in indexed and not _being_written(rel, writing or {})
    ]
    report = adopt_files(service, store, clock, unindexed, probe, node)
    for s in indexed.values():
        if not store.knows(s.path):  # a volume left out of the settings is not lost footage
            log.error("segment %s is on a volume that is not configured", s.path)
            continue
        if not s.missing and store.size_of(s.path) is None:
            service.flag_missing(s)
            report.flagged_missing.append(s.path)
            log.error("segment %s is indexed but its file is gone", s.path)
    return report


def _being_written(rel: str, writing: Mapping[str, int]) -> bool:
    run_dir, _, name = rel.rpartition("/")
    first = writing.get(run_dir)
    stem = name.removesuffix(".mp4")
    return first is not None and (not stem.isdigit() or int(stem) >= first)


def adopt_files(
    service: RecordingService,
    store: SegmentStore,
    clock: Clock,
    relatives: list[str],
    probe: Probe = probe_segment,
    node: str | None = None,
) -> ReconcileReport:
    """Adopt each file (known to have no row), or quarantine it when it cannot be indexed.
    ``node``: the recorder node whose disk this is (a file without a lease stamp is still its)."""
    report = ReconcileReport()
    for rel in relatives:
        try:
            why = _adopt(service, store, clock, probe, rel, node)
        except OSError as exc:  # no room to keep its torn tail aside: left as it is for now
            log.warning("cannot adopt %s yet (%s); it is tried again later", rel, exc.strerror)
            report.deferred.append(rel)
            continue
        if why is None:
            report.adopted.append(rel)
        else:
            moved = store.quarantine(rel)
            service.note_quarantined(rel, moved, why)
            report.quarantined.append(rel)
            log.warning("quarantined %s: %s", rel, why)
    return report


def _adopt(
    service: RecordingService,
    store: SegmentStore,
    clock: Clock,
    probe: Probe,
    rel: str,
    node: str | None = None,
) -> str | None:
    """Index a file found without a row; return why not if it cannot be."""
    parts = split_volume(rel)[1].split("/")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[2].removesuffix(".mp4").isdigit():
        return "not a segment name"
    camera_id, run_id, sequence = int(parts[0]), parts[1], int(parts[2].removesuffix(".mp4"))
    if not service.camera_exists(camera_id):
        return "no such camera"
    path = store.absolute(rel)
    path.chmod(0o644)  # a crash may have left it sealed but unindexed
    why = cut_torn_tail(service, store, path)
    if why is not None:
        return why
    media = probe(path)
    if media is None:
        return "holds no readable video"
    done = store.seal(path)
    end = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    stamp = read_stamp(path.parent)  # a recorder node's run: fenced by its lease token
    adopted = service.adopt(
        Segment(
            node=stamp.node if stamp else node,
            fencing_token=stamp.fencing_token if stamp else None,
            id=None,
            camera_id=camera_id,
            run_id=run_id,
            sequence=sequence,
            path=rel,
            start_at=end - timedelta(seconds=media.duration_s),
            end_at=end,
            duration_s=media.duration_s,
            bytes=done.bytes,
            sha256=done.sha256,
            codec=media.codec,
            width=media.width,
            height=media.height,
            sealed_at=clock.now(),
            adopted=True,
        ),
        store.refused_path,
    )
    if isinstance(adopted, RefusedSegment):
        store.set_aside(rel)
    return None


def cut_torn_tail(service: RecordingService, store: SegmentStore, path: Path) -> str | None:
    """Before a file is sealed: cut it back to its last complete fragment, the torn bytes kept
    in quarantine and reported (log and audit). Returns why the file cannot be a segment at
    all (no complete fragment), else None. ``OSError`` (no room to keep the tail) leaves the
    file as it was, for a later try."""
    found = fmp4.scan(path)
    if not found.has_media:
        return "no complete fragment (torn before its first)"
    if found.torn:
        kept_at = store.cut_tail(path, found.complete)
        rel = store.relative(path)
        log.warning(
            "segment %s: %d torn bytes after its last complete fragment cut off, kept at %s",
            rel,
            found.torn_bytes,
            kept_at,
        )
        service.note_torn_tail(rel, kept_at, found.torn_bytes, found.complete)
    return None


@dataclass
class CheckReport:
    rows: int = 0
    files: int = 0
    missing_files: list[str] = field(default_factory=list)
    size_mismatch: list[str] = field(default_factory=list)
    hash_mismatch: list[str] = field(default_factory=list)
    unindexed_files: list[str] = field(default_factory=list)
    # the last fragment of each segment not checked before, decoded (path: what is wrong)
    tails_checked: int = 0
    bad_tails: dict[str, str] = field(default_factory=dict)
    # index vs object store (only when one is configured; see services/offload.py)
    objects_checked: bool = False
    missing_objects: list[str] = field(default_factory=list)
    object_size_mismatch: list[str] = field(default_factory=list)
    object_hash_mismatch: list[str] = field(default_factory=list)
    object_content_mismatch: list[str] = field(default_factory=list)
    unreadable_objects: list[str] = field(default_factory=list)
    unindexed_objects: list[str] = field(default_factory=list)
    objects_pending: int = 0

    @property
    def clean(self) -> bool:
        return not (
            self.missing_files
            or self.size_mismatch
            or self.hash_mismatch
            or self.unindexed_files
            or self.bad_tails
            or self.missing_objects
            or self.object_size_mismatch
            or self.object_hash_mismatch
            or self.object_content_mismatch
            or self.unreadable_objects
            or self.unindexed_objects
        )


def check(
    service: RecordingService,
    store: SegmentStore,
    rehash: bool = False,
    objects: OffloadService | None = None,
    decode_tails: bool = False,
    decoder: TailDecoder = decode_tail,
    node: str | None = None,
) -> CheckReport:
    """Compare the index with the files (and, given ``objects``, with the object store), and,
    with ``decode_tails`` (``custos check`` asks for it), decode the last fragment of every
    segment whose tail was never checked; the only change it makes is to remember which tails
    decoded cleanly."""
    rows = service.indexed(node)
    files = set(store.segment_files())
    report = CheckReport(rows=len(rows), files=len(files))
    unchecked = service.tails_unchecked() if decode_tails else set()
    for s in rows:
        size = store.size_of(s.path)
        if size is None:
            report.missing_files.append(s.path)
        elif size != s.bytes:
            report.size_mismatch.append(s.path)
        elif rehash and store.hash_of(s.path) != s.sha256:
            report.hash_mismatch.append(s.path)
        elif s.id in unchecked:
            _check_tail(service, store, s, decoder, report)
    report.unindexed_files = sorted(files - {s.path for s in rows})
    if objects is not None:
        found = objects.check(rows, rehash)
        report.objects_checked = True
        report.missing_objects = found.missing_objects
        report.object_size_mismatch = found.object_size_mismatch
        report.object_hash_mismatch = found.object_hash_mismatch
        report.object_content_mismatch = found.object_content_mismatch
        report.unreadable_objects = found.unreadable_objects
        report.unindexed_objects = found.unindexed_objects
        report.objects_pending = found.objects_pending
    return report


def _check_tail(
    service: RecordingService,
    store: SegmentStore,
    segment: Segment,
    decode: TailDecoder,
    report: CheckReport,
) -> None:
    wrong = decode(store.absolute(segment.path))
    report.tails_checked += 1
    if wrong is not None:
        report.bad_tails[segment.path] = wrong
    elif segment.id is not None:
        service.mark_tail_checked(segment.id)
