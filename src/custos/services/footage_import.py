"""Import footage from another recorder (a legacy NVR) as sealed, indexed, audited segments.

Decree 799 art. 14 and Xi'an art. 18 bring pre-existing systems under the rules; this is how their
footage comes under Custos (docs/design/footage-import.md). The checks run in the order the note
gives; files are written before rows, and removed again when the import does not commit.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO, Protocol

from custos.domain.access import Permission
from custos.domain.audit import AuditEvent
from custos.domain.clock import Clock
from custos.domain.errors import Conflict, FieldError, NotFound, ValidationFailed
from custos.domain.footage_import import IMPORT_SUFFIXES, FootageImport, import_run_id
from custos.domain.recording import Segment
from custos.domain.users import Principal
from custos.services.ports import RecordingUnitOfWork
from custos.services.recording import segment_event
from custos.services.refusals import refusals_logged

IMPORT_SEGMENT_SECONDS = 60
_CHUNK = 1 << 20


class CutFailedError(Exception):
    """ffmpeg could not cut the source (its last words are the message)."""


@dataclass(frozen=True)
class SourceMedia:
    duration_s: float
    codec: str
    width: int | None
    height: int | None
    format_name: str


@dataclass(frozen=True)
class CutPiece:
    path: Path
    start_s: float  # offset of the piece's first frame from the source's first frame
    end_s: float


class MediaCutter(Protocol):
    def probe(self, source: Path) -> SourceMedia | None: ...
    def cut(self, source: Path, out_dir: Path, segment_seconds: int) -> list[CutPiece]: ...


class Sealed(Protocol):
    @property
    def bytes(self) -> int: ...
    @property
    def sha256(self) -> str: ...


class SegmentFiles(Protocol):
    def run_dir(self, camera_id: int, run_id: str, volume: int = 0) -> Path: ...
    def seal(self, path: Path) -> Sealed: ...
    def relative(self, path: Path) -> str: ...


class FootageImports(Protocol):
    def add(self, record: FootageImport) -> FootageImport: ...
    def find(self, camera_id: int | None = None) -> list[FootageImport]: ...


class ImportUnitOfWork(RecordingUnitOfWork, Protocol):
    @property
    def footage_imports(self) -> FootageImports: ...


@dataclass(frozen=True)
class ImportRequest:
    camera_id: int
    source: Path  # a local file; the service reads it and leaves it where it is
    source_name: str  # the name the operator gave it (for the record)
    start_at: datetime  # wall-clock time of the source's first frame
    purpose: str


@dataclass(frozen=True)
class ImportResult:
    record: FootageImport
    segments: list[Segment]
    # when the first of its segments leaves retention: imported footage ages from its own time,
    # so old footage may be due for the purge at once (place an evidence hold first)
    keep_until: datetime | None = None
    past_retention: bool = False


class FootageImportService:
    def __init__(
        self,
        uow: Callable[[], ImportUnitOfWork],
        clock: Clock,
        files: SegmentFiles,
        cutter: MediaCutter,
        work_dir: Path,
        segment_seconds: int = IMPORT_SEGMENT_SECONDS,
        keep_until: Callable[[int, datetime], datetime] | None = None,
    ) -> None:
        self._keep_until = keep_until  # (camera id, segment end) → end of its retention
        self._uow = uow
        self._work_dir = work_dir  # uploads wait here while they are imported
        self._clock = clock
        self._files = files
        self._cutter = cutter
        self._segment_seconds = segment_seconds

    def import_upload(
        self,
        actor: Principal,
        upload: BinaryIO,
        source_name: str,
        camera_id: int,
        start_at: datetime,
        purpose: str,
        max_bytes: int,
    ) -> ImportResult:
        """Import an uploaded file: copied (at most ``max_bytes``) to the work directory, then
        as :meth:`import_file`; the copy is removed either way."""
        actor.require(Permission.FOOTAGE_IMPORT)
        self._work_dir.mkdir(parents=True, exist_ok=True)
        suffix = Path(source_name).suffix.lower()[:8]
        with tempfile.NamedTemporaryFile(dir=self._work_dir, suffix=suffix, delete=False) as f:
            copy = Path(f.name)
            size = 0
            while chunk := upload.read(_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    break
                f.write(chunk)
        try:
            if size > max_bytes:
                raise ValidationFailed(FieldError("file", f"at most {max_bytes} bytes"))
            req = ImportRequest(camera_id, copy, source_name, start_at, purpose)
            return self.import_file(actor, req)
        finally:
            copy.unlink(missing_ok=True)

    def import_file(self, actor: Principal, req: ImportRequest) -> ImportResult:
        actor.require(Permission.FOOTAGE_IMPORT)
        now = self._clock.now()
        logged = refusals_logged(
            self._uow, self._clock, actor, "footage.import", "camera", req.camera_id,
            {"source_name": req.source_name[:255]},
        )  # fmt: skip
        with logged:
            _check_input(req, now)
            sha256, size = _hash(req.source)
            with self._uow() as uow:
                if uow.cameras.get(req.camera_id) is None:
                    raise NotFound("camera", req.camera_id)
                if any(i.source_sha256 == sha256 for i in uow.footage_imports.find(req.camera_id)):
                    raise Conflict("file", f"this file (SHA-256 {sha256}) was already imported")
            media = self._cutter.probe(req.source)
            if media is None:
                raise ValidationFailed(
                    FieldError("file", "ffprobe finds no video stream with a duration in it")
                )
            end_at = req.start_at + timedelta(seconds=media.duration_s)
            self._check_range(req, end_at, now)
            run_dir = self._files.run_dir(req.camera_id, import_run_id(sha256))
            try:
                return self._index(actor, req, sha256, size, media, run_dir, now)
            except BaseException:
                shutil.rmtree(run_dir, ignore_errors=True)  # files before rows: undo the files
                raise

    def _check_range(self, req: ImportRequest, end_at: datetime, now: datetime) -> None:
        if end_at > now:
            raise ValidationFailed(
                FieldError("start_at", f"the footage would end at {end_at.isoformat()}, after now")
            )
        with self._uow() as uow:
            overlapping = uow.segments.find(req.camera_id, req.start_at, end_at, limit=1)
        if overlapping:
            seg = overlapping[0]
            raise ValidationFailed(
                FieldError(
                    "start_at",
                    f"camera {req.camera_id} already has footage from {seg.start_at.isoformat()} "
                    f"to {seg.end_at.isoformat()} inside {req.start_at.isoformat()} – "
                    f"{end_at.isoformat()}",
                )
            )

    def _index(
        self,
        actor: Principal,
        req: ImportRequest,
        sha256: str,
        size: int,
        media: SourceMedia,
        run_dir: Path,
        now: datetime,
    ) -> ImportResult:
        try:
            pieces = self._cutter.cut(req.source, run_dir, self._segment_seconds)
        except CutFailedError as exc:
            raise ValidationFailed(
                FieldError("file", f"cannot be cut into segments: {exc}")
            ) from None
        run_id = import_run_id(sha256)
        segments = []
        for seq, piece in enumerate(pieces):
            sealed = self._files.seal(piece.path)
            segments.append(
                Segment(
                    None, req.camera_id, run_id, seq, self._files.relative(piece.path),
                    req.start_at + timedelta(seconds=piece.start_s),
                    req.start_at + timedelta(seconds=piece.end_s),
                    piece.end_s - piece.start_s, sealed.bytes, sealed.sha256, media.codec,
                    media.width, media.height, now,
                )
            )  # fmt: skip
        record = FootageImport(
            None, req.camera_id, req.source_name[:255], sha256, size, segments[0].start_at,
            segments[-1].end_at, len(segments), req.purpose.strip(), actor.username, now,
        )  # fmt: skip
        with self._uow() as uow:
            record = uow.footage_imports.add(record)
            saved = [uow.segments.add(s) for s in segments]
            for s in saved:  # as the recorder's ``segment.seal``, marked imported
                uow.audit.append(
                    segment_event(
                        now, actor.username, "segment.import", s, imported=True,
                        import_id=record.id, source_sha256=record.source_sha256,
                    )
                )  # fmt: skip
            uow.audit.append(
                AuditEvent(
                    now, actor.username, "footage.import", "footage_import", str(record.id),
                    detail={**record.as_dict(), "format": media.format_name},
                )
            )  # fmt: skip
            uow.commit()
        first_end = saved[0].end_at
        keep = self._keep_until(req.camera_id, first_end) if self._keep_until else None
        return ImportResult(record, saved, keep, keep is not None and keep <= now)


def _check_input(req: ImportRequest, now: datetime) -> None:
    errors: list[FieldError] = []
    if not req.purpose.strip():
        errors.append(FieldError("purpose", "say why this footage is imported"))
    if req.start_at.tzinfo is None or req.start_at.utcoffset() is None:
        errors.append(FieldError("start_at", "must carry a time zone"))
    elif req.start_at > now:
        errors.append(FieldError("start_at", "is in the future"))
    if Path(req.source_name).suffix.lower() not in IMPORT_SUFFIXES:
        errors.append(FieldError("file", "an MP4 (.mp4) or MPEG-TS (.ts) file is needed"))
    if not req.source.is_file() or req.source.stat().st_size == 0:
        errors.append(FieldError("file", "is empty"))
    if errors:
        raise ValidationFailed(errors)


def _hash(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size
