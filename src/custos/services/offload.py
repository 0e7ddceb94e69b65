"""Sealed segments copied to an object store, read back from it, and checked against it.

- **Offload**: every sealed, indexed segment not yet in the store is uploaded (with its SHA-256
  as metadata and, where the bucket has Object Lock, a retention until the segment's floor);
  each upload is recorded in ``segment_objects`` and the operation log (``segment.offload``).
  Oldest first; the local file stays (the retention purge decides when it goes).
- **Read back**: when a segment's local file is gone, playback and export get a copy fetched from
  the store into a cache, served only if it hashes to the index's SHA-256.
- **Check**: index vs objects (missing, size or hash metadata differing, bytes re-hashed with
  ``--hash``, objects no row names).

The store is a port (:class:`ObjectStore`); the S3 adapter lives in
``custos.adapters.storage.object_store`` and is wired in ``custos.bootstrap``.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from time import monotonic
from typing import Protocol

from custos.domain.audit import AuditEvent
from custos.domain.clock import Clock
from custos.domain.errors import Conflict
from custos.domain.recording import Segment
from custos.services.ports import RecordingUnitOfWork

log = logging.getLogger(__name__)

OFFLOAD_ACTOR = "offload"
_CHUNK = 1 << 20


# ---- ports ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class SegmentObject:
    """A segment's copy in the object store, as recorded when its upload was verified."""

    segment_id: int
    key: str
    sha256: str
    bytes: int
    version_id: str | None
    uploaded_at: datetime
    retain_until: datetime | None = None


class StoredObject(Protocol):
    @property
    def key(self) -> str: ...
    @property
    def bytes(self) -> int: ...
    @property
    def sha256(self) -> str | None: ...
    @property
    def version_id(self) -> str | None: ...
    @property
    def retain_until(self) -> datetime | None: ...


class ObjectUnreadableError(Exception):
    """The store has the object but cannot give its bytes now (e.g. every volume server holding
    it is down): neither missing nor proven intact."""


class ObjectConflictError(Exception):
    """The key holds an object with other content (the store never overwrites it)."""


class ObjectStore(Protocol):
    """An object store that never overwrites (see the S3 adapter for the rules)."""

    def key_for(self, relative: str) -> str: ...
    def upload(
        self, key: str, path: Path, sha256: str, size: int, retain_until: datetime | None = None
    ) -> StoredObject: ...
    def stat(self, key: str, version_id: str | None = None) -> StoredObject | None: ...
    def fetch(self, key: str, dest: Path, version_id: str | None = None) -> None: ...
    def hash_of(self, key: str, version_id: str | None = None) -> str | None: ...
    def versions(self, key: str) -> Sequence[StoredObject]: ...
    def list_keys(self) -> Iterable[str]: ...
    def delete(self, key: str) -> int: ...


class SegmentObjects(Protocol):
    def add(self, o: SegmentObject) -> None: ...
    def get(self, segment_id: int) -> SegmentObject | None: ...
    def find(self) -> list[SegmentObject]: ...
    def pending(
        self, limit: int, exclude: Iterable[int] = (), node: str | None = None
    ) -> list[Segment]: ...
    def remove(self, segment_id: int) -> None: ...


class ObjectUnitOfWork(RecordingUnitOfWork, Protocol):
    @property
    def segment_objects(self) -> SegmentObjects: ...


class ObjectUnitOfWorkFactory(Protocol):
    def __call__(self) -> ObjectUnitOfWork: ...


# ---- reports -------------------------------------------------------------------------------
@dataclass
class OffloadReport:
    uploaded: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # another object holds the key
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # no local file (reconcile flags it)


@dataclass
class ObjectCheck:
    missing_objects: list[str] = field(default_factory=list)
    object_size_mismatch: list[str] = field(default_factory=list)
    object_hash_mismatch: list[str] = field(default_factory=list)  # metadata (or record) differs
    object_content_mismatch: list[str] = field(default_factory=list)  # bytes re-hashed (--hash)
    unreadable_objects: list[str] = field(default_factory=list)  # listed, bytes not readable now
    unindexed_objects: list[str] = field(default_factory=list)
    objects_pending: int = 0  # indexed, not yet uploaded: not a disagreement

    @property
    def clean(self) -> bool:
        return not (
            self.missing_objects
            or self.object_size_mismatch
            or self.object_hash_mismatch
            or self.object_content_mismatch
            or self.unreadable_objects
            or self.unindexed_objects
        )


class OffloadService:
    def __init__(
        self,
        uow: ObjectUnitOfWorkFactory,
        store: ObjectStore,
        clock: Clock,
        local_path: Callable[[str], Path],
        cache_dir: Path,
        lock_days: int = 0,
    ) -> None:
        self._uow = uow
        self._store = store
        self._clock = clock
        self._local_path = local_path  # a segment's relative path → its file, on any volume
        self._cache_dir = cache_dir
        self._lock_days = lock_days
        self._refused: set[int] = set()  # conflicts are logged once per process, not every pass
        self._fetch_lock = threading.Lock()

    # ---- offload ---------------------------------------------------------------------------
    def retain_until(self, seg: Segment) -> datetime | None:
        """The Object Lock date of a segment: its start plus the locked days (None: no lock)."""
        return seg.start_at + timedelta(days=self._lock_days) if self._lock_days > 0 else None

    def run_once(
        self, limit: int = 100, budget_s: float | None = None, node: str | None = None
    ) -> OffloadReport:
        """Upload up to ``limit`` segments not yet in the store, oldest first: those whose files
        are here, recorder node ``node``'s (None: the one-machine recorder's)."""
        report = OffloadReport()
        started = monotonic()
        with self._uow() as uow:
            todo = uow.segment_objects.pending(limit, exclude=self._refused, node=node)
        for seg in todo:
            if budget_s is not None and monotonic() - started > budget_s:
                break
            self._offload(seg, report)
        return report

    def _offload(self, seg: Segment, report: OffloadReport) -> None:
        assert seg.id is not None
        local = self._local_path(seg.path)
        if not local.exists():
            report.skipped.append(seg.path)
            return
        key = self._store.key_for(seg.path)
        until = self.retain_until(seg)
        try:
            stored = self._store.upload(key, local, seg.sha256, seg.bytes, until)
        except ObjectConflictError as exc:
            self._refused.add(seg.id)
            report.refused.append(seg.path)
            log.error("not uploading segment %s: %s", seg.path, exc)
            self._audit("segment.offload_refused", seg, {"key": key, "why": str(exc)[:500]})
            return
        except Exception as exc:  # the store's boundary: one failure must not stop the pass
            report.failed.append(seg.path)
            log.warning("upload of segment %s failed: %s", seg.path, exc)
            return
        record = SegmentObject(
            seg.id,
            stored.key,
            seg.sha256,
            seg.bytes,
            stored.version_id,
            self._clock.now(),
            stored.retain_until,
        )
        with self._uow() as uow:
            if uow.segment_objects.get(seg.id) is None:
                uow.segment_objects.add(record)
                uow.audit.append(self._event("segment.offload", seg, _record_detail(record)))
                uow.commit()
        report.uploaded.append(seg.path)

    def records(self) -> list[SegmentObject]:
        with self._uow() as uow:
            return uow.segment_objects.find()

    def delete_object(self, seg: Segment) -> None:
        """For the retention purge only: remove the segment's object (every version) and its
        record, and any cached copy. Raises while Object Lock still protects the object."""
        assert seg.id is not None
        with self._uow() as uow:
            rec = uow.segment_objects.get(seg.id)
        key = rec.key if rec is not None else self._store.key_for(seg.path)
        self._store.delete(key)
        self.evict(seg.path)
        with self._uow() as uow:
            uow.segment_objects.remove(seg.id)
            uow.audit.append(self._event("segment.object_delete", seg, {"key": key}))
            uow.commit()

    # ---- reading back ------------------------------------------------------------------------
    def fetch(self, seg: Segment) -> Path | None:
        """A local copy of the segment from the store, served only if it hashes to the index's
        SHA-256; None when the store has none.

        The current object is tried first; if it is gone (a delete marker) or differs, older
        versions whose metadata names the index's hash are tried (with Object Lock, the upload
        is still there whatever was written over it). No database work: callers may hold a
        transaction (an export builds its package inside one)."""
        key = self._store.key_for(seg.path)
        dest = self._cache_dir / seg.path
        with self._fetch_lock:
            if dest.exists() and _sha256(dest) == seg.sha256:
                return dest
            dest.unlink(missing_ok=True)
            found = False
            for version in self._candidates(key, seg.sha256):
                try:
                    self._store.fetch(key, dest, version)
                except FileNotFoundError:
                    continue
                found = True
                if _sha256(dest) == seg.sha256:
                    dest.chmod(0o444)
                    if version is not None:
                        log.warning("segment %s: key overwritten; served version %s", key, version)
                    log.info("segment %s served from the object store", seg.path)
                    return dest
                dest.unlink(missing_ok=True)
        if not found:
            return None
        log.error("segment %s: no stored copy under %s matches the index sha256", seg.id, key)
        raise Conflict(
            "segment_id",
            f"the stored copy of segment {seg.id} does not match its indexed SHA-256;"
            " it is not served",
        )

    def _candidates(self, key: str, sha256: str) -> Iterator[str | None]:
        yield None  # the current version
        for v in self._store.versions(key):  # asked only if the current one will not do
            if v.sha256 == sha256 and v.version_id not in (None, "null"):
                yield v.version_id

    def evict(self, relative: str) -> None:
        """Drop a cached copy (the purge calls this with the segment)."""
        (self._cache_dir / relative).unlink(missing_ok=True)

    # ---- check --------------------------------------------------------------------------------
    def check(self, rows: list[Segment], rehash: bool = False) -> ObjectCheck:
        """Compare the index (``rows``) and the upload records with the store; change nothing."""
        report = ObjectCheck()
        records = {r.segment_id: r for r in self.records()}
        for s in rows:
            rec = records.get(s.id) if s.id is not None else None
            if rec is None:
                report.objects_pending += 0 if s.missing else 1
                continue
            info = self._store.stat(rec.key)
            if info is None:
                report.missing_objects.append(rec.key)
            elif info.bytes != s.bytes:
                report.object_size_mismatch.append(rec.key)
            elif info.sha256 != s.sha256 or rec.sha256 != s.sha256:
                report.object_hash_mismatch.append(rec.key)
            elif rehash:
                try:
                    if self._store.hash_of(rec.key) != s.sha256:
                        report.object_content_mismatch.append(rec.key)
                except ObjectUnreadableError:
                    report.unreadable_objects.append(rec.key)
        indexed = {self._store.key_for(s.path) for s in rows}
        report.unindexed_objects = sorted(set(self._store.list_keys()) - indexed)
        return report

    # ---- internals ----------------------------------------------------------------------------
    def _audit(self, action: str, seg: Segment, detail: dict[str, object]) -> None:
        with self._uow() as uow:
            uow.audit.append(self._event(action, seg, detail))
            uow.commit()

    def _event(self, action: str, seg: Segment, detail: dict[str, object]) -> AuditEvent:
        return AuditEvent(
            at=self._clock.now(),
            actor=OFFLOAD_ACTOR,
            action=action,
            object_type="segment",
            object_id=str(seg.id),
            detail={"path": seg.path, "sha256": seg.sha256, **detail},
        )


def _record_detail(r: SegmentObject) -> dict[str, object]:
    return {
        "key": r.key,
        "bytes": r.bytes,
        "version_id": r.version_id,
        "retain_until": r.retain_until.isoformat() if r.retain_until else None,
    }


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
