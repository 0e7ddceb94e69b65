"""Building a signed evidence package (format ``custos-evidence/1``, docs/design/evidence.md).

Called inside the transaction that registers the copy, retrieval or staff export, so that the
package, its register entries and its operation-log entry commit or roll back together:

1. per camera, one MP4 cut exactly to the range from the sealed segments;
2. the manifest (sources with their sealed SHA-256, gaps, request or purpose, register entry,
   ranges, the hash of every file but the fixed ones), signed with the export key;
3. the custody sheet, rendered from that final manifest (so it prints manifest.json's SHA-256);
   it is a fixed name outside the manifest's ``files``;
4. the entry ``export.package`` carrying ``manifest_sha256`` and the sheet's ``custody_sha256``,
   then a checkpoint signed (forced) in the same transaction, and the entry's inclusion proof in
   that checkpoint's tree: the proof binds the sheet as it binds the manifest;
5. the ZIP, written member by member from files on disk.

The checkpoint is signed before the transaction commits, not after: a package whose
transaction rolled back then also loses its checkpoint, and its file is removed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from custos import __version__
from custos.domain.access_requests import AccessRequest, FootageScope
from custos.domain.audit import AuditEvent
from custos.domain.audit_chain import Checkpoint, canonical_entry, canonical_json
from custos.domain.clock import Clock
from custos.domain.errors import Conflict, FieldError, ValidationFailed
from custos.domain.evidence import (
    CUSTODY,
    EXPORT_ACTION,
    EXPORT_KEY,
    LOG_CHECKPOINT,
    LOG_ENTRY,
    LOG_KEY,
    LOG_PROOF,
    MANIFEST,
    SIGNATURE,
    VERIFY_HTML,
    CameraEntry,
    Gap,
    ManifestParts,
    PackageKind,
    PackedFile,
    RequestDetails,
    SourceSegment,
    SystemInfo,
    TimeRange,
    UnitInfo,
    build_manifest,
    canonical_manifest,
    fingerprint,
    key_id,
    video_name,
)
from custos.domain.merkle import inclusion_path, leaf_hash
from custos.domain.recording import Segment
from custos.domain.register import RegisterKind
from custos.domain.users import Principal
from custos.services.ports import AccessUnitOfWork

GAP_TOLERANCE = timedelta(seconds=1)  # segments closer than this are back to back
_KINDS = {
    RegisterKind.COPY: PackageKind.COPY,
    RegisterKind.RETRIEVE: PackageKind.RETRIEVAL,
    RegisterKind.EXPORT: PackageKind.EXPORT,
}


@dataclass(frozen=True)
class ConcatPart:
    path: Path
    offset_ms: int  # where this segment starts, from the first part's start
    duration_ms: int | None  # until the next part starts; None for the last part


class Written(Protocol):
    @property
    def path(self) -> Path: ...
    @property
    def sha256(self) -> str: ...
    @property
    def bytes(self) -> int: ...


@dataclass(frozen=True)
class FileDigest:
    """A file read once: its SHA-256 (the manifest's), its size and its CRC-32 (the ZIP's)."""

    sha256: str
    bytes: int
    crc32: int


class PackageFiles(Protocol):
    """Cutting, hashing and zipping (adapters/export/evidence_files.py)."""

    def cut_camera(
        self, parts: Sequence[ConcatPart], from_ms: int, to_ms: int, dst: Path
    ) -> None: ...
    def digest(self, path: Path) -> FileDigest: ...
    def write(self, path: Path, data: bytes) -> None: ...
    def write_zip(
        self,
        dst: Path,
        members: Sequence[tuple[str, Path]],
        digested: Mapping[str, FileDigest] | None = None,
    ) -> Written:
        """``digested``: members (by name) whose files were read by :meth:`digest` and have
        not changed since; their CRC-32 is taken from there instead of read again."""
        ...

    def remove_tree(self, path: Path) -> None: ...


class ExportSigner(Protocol):
    @property
    def public_key(self) -> bytes: ...
    def sign(self, message: bytes) -> bytes: ...


class ExportKeys(Protocol):
    def current(self) -> ExportSigner: ...


@runtime_checkable
class ProvableLog(Protocol):
    """What the package needs of the transaction's operation log."""

    def append(self, e: AuditEvent) -> int: ...
    def checkpoint(self, force: bool = True) -> Checkpoint | None: ...
    def latest_checkpoint(self) -> Checkpoint | None: ...
    def leaves(self, upto: int) -> list[bytes]: ...


@dataclass(frozen=True)
class PackageOrder:
    """One package to build: what, for whom, and under which export row and register entry."""

    export_id: int
    name: str  # the ZIP's file name, without .zip
    kind: RegisterKind
    scope: FootageScope
    purpose: str
    request: AccessRequest | None
    register_entry_id: int | None
    #: the custody sheet's language ("zh": Chinese; "en": Chinese with English), the asker's UI
    #: language; None: the builder's own
    language: str | None = None


@dataclass(frozen=True)
class BuiltEvidence:
    path: Path
    sha256: str
    bytes: int
    segment_count: int
    manifest_sha256: str
    seq: int  # the export.package entry
    manifest: dict[str, Any]


@dataclass(frozen=True)
class _Camera:
    entry: CameraEntry
    segments: list[Segment]


class EvidenceBuilder:
    def __init__(
        self,
        clock: Clock,
        files: PackageFiles,
        keys: ExportKeys,
        log_public_key: bytes,
        exports_root: Path,
        system: SystemInfo | None = None,
        custody: Callable[[dict[str, Any], str], bytes] | None = None,
        verify_html: Callable[[], bytes | None] | None = None,
        language: str = "zh",
    ) -> None:
        self._clock = clock
        self._files = files
        self._keys = keys
        self._log_key = log_public_key
        self._root = exports_root
        self._system = system or SystemInfo("Custos", __version__, None)
        self._custody = custody
        self._verify_html = verify_html
        self._language = language

    def build(
        self,
        uow: AccessUnitOfWork,
        actor: Principal,
        order: PackageOrder,
        source: Callable[[Segment], Path],
    ) -> BuiltEvidence:
        log = uow.audit
        if not isinstance(log, ProvableLog):
            raise RuntimeError("this unit of work's log cannot sign checkpoints or give proofs")
        now = self._clock.now()
        work = self._root / ".work" / order.name
        dst = self._root / f"{order.name}.zip"
        try:
            cameras, unit = self._cameras(uow, order.scope)
            cut = self._cut(cameras, order.scope, source, work)
            packed = [PackedFile(name, d.sha256, d.bytes) for name, d in cut.items()]
            signer = self._keys.current()
            parts = ManifestParts(
                system=self._system,
                unit=unit,
                exported_at=now,
                kind=_KINDS[order.kind],
                range_asked=TimeRange(order.scope.start, order.scope.end),
                cameras=[c.entry for c in cameras],
                sources=[s for c in cameras for s in _sources(c, order.scope)],
                gaps=[g for c in cameras for g in _gaps(c, order.scope, uow)],
                files=packed,
                export_key=fingerprint(signer.public_key),
                log_key=fingerprint(self._log_key),
                register_entry_id=_text(order.register_entry_id),
                request=_request(order.request),
                purpose=order.purpose,
            )
            packed += self._verify_page(work)
            manifest = build_manifest(_with_files(parts, packed))
            body = canonical_manifest(manifest)
            manifest_sha256 = hashlib.sha256(body).hexdigest()
            sheet = (
                self._custody(manifest, order.language or self._language) if self._custody else None
            )
            custody_sha256 = hashlib.sha256(sheet).hexdigest() if sheet is not None else None
            seq, event = self._log_entry(
                log, actor, order, manifest, manifest_sha256, custody_sha256, now
            )
            fixed = proven_members(log, seq, event, body, signer, self._log_key)
            if sheet is not None:
                fixed[CUSTODY] = sheet
            members: list[tuple[str, Path]] = []
            for name, data in fixed.items():
                self._files.write(work / "fixed" / name, data)
                members.append((name, work / "fixed" / name))
            members += [(f.name, work / f.name) for f in packed]
            written = self._files.write_zip(dst, members, cut)
        finally:
            self._files.remove_tree(work)
        count = sum(len(c.segments) for c in cameras)
        return BuiltEvidence(
            written.path, written.sha256, written.bytes, count, manifest_sha256, seq, manifest
        )

    # ---- parts ------------------------------------------------------------------------------
    def _cameras(
        self, uow: AccessUnitOfWork, scope: FootageScope
    ) -> tuple[list[_Camera], UnitInfo]:
        cameras: list[_Camera] = []
        unit = UnitInfo("", None)
        codes: set[str] = set()
        for cid in scope.camera_ids:
            cam = uow.cameras.get(cid)
            site = uow.sites.get(cam.site_id) if cam else None
            if cam is None or site is None:
                raise ValidationFailed(FieldError("camera_ids", f"no camera {cid}"))
            if not unit.name:
                u = uow.units.get(site.unit_id)
                unit = UnitInfo(u.name, u.credit_code or None) if u else unit
            code = _file_stem(cam.address_code, cid, codes)
            codes.add(code)
            segs = sorted(uow.segments.find(cid, scope.start, scope.end), key=lambda s: s.start_at)
            delivered = None
            if segs:
                delivered = TimeRange(
                    max(scope.start, segs[0].start_at), min(scope.end, segs[-1].end_at)
                )
            entry = CameraEntry(str(cid), code, cam.name, site.name, delivered)
            cameras.append(_Camera(entry, segs))
        if not any(c.segments for c in cameras):
            raise ValidationFailed(
                FieldError("scope", "no recorded footage in that range for those cameras")
            )
        return cameras, unit

    def _cut(
        self,
        cameras: Sequence[_Camera],
        scope: FootageScope,
        source: Callable[[Segment], Path],
        work: Path,
    ) -> dict[str, FileDigest]:
        """Each camera's exact cut, read once for its SHA-256 and CRC-32, by file name. A cut
        is read in a second thread while ffmpeg cuts the next camera (two cores at work)."""
        reading: dict[str, Future[FileDigest]] = {}
        with ThreadPoolExecutor(1, thread_name_prefix="evidence-digest") as reader:
            for c in cameras:
                d = c.entry.delivered
                if not c.segments or d is None:
                    continue
                first = c.segments[0].start_at
                dst = work / c.entry.file
                self._files.cut_camera(
                    _concat_parts(c.segments, source), _ms(d.start - first), _ms(d.end - first), dst
                )
                reading[c.entry.file] = reader.submit(self._files.digest, dst)
        return {name: f.result() for name, f in reading.items()}

    def _verify_page(self, work: Path) -> list[PackedFile]:
        """verify.html, listed in the manifest like the videos (the custody sheet is not: it is
        made from the final manifest, and the log entry names its hash)."""
        html = self._verify_html() if self._verify_html else None
        if html is None:
            return []
        self._files.write(work / VERIFY_HTML, html)
        return [PackedFile(VERIFY_HTML, hashlib.sha256(html).hexdigest(), len(html))]

    def _log_entry(
        self,
        log: ProvableLog,
        actor: Principal,
        order: PackageOrder,
        manifest: dict[str, Any],
        manifest_sha256: str,
        custody_sha256: str | None,
        now: datetime,
    ) -> tuple[int, AuditEvent]:
        detail: dict[str, Any] = {
            "manifest_sha256": manifest_sha256,
            "kind": manifest["kind"],
            "name": f"{order.name}.zip",
            "register_entry_id": order.register_entry_id,
            "request_id": order.request.id if order.request else None,
            "export_key": key_id(manifest["export_key"]),
            "segments": len(manifest["sources"]),
            "scope": {
                "camera_ids": list(order.scope.camera_ids),
                "start": order.scope.start.isoformat(),
                "end": order.scope.end.isoformat(),
            },
        }
        if custody_sha256 is not None:  # absent when no sheet was made: the verifier needs none
            detail["custody_sha256"] = custody_sha256
        event = AuditEvent(
            now, actor.username, EXPORT_ACTION, "export", str(order.export_id), detail=detail
        )
        return log.append(event), event


def proven_members(
    log: ProvableLog,
    seq: int,
    event: AuditEvent,
    body: bytes,
    signer: ExportSigner,
    log_key: bytes,
) -> dict[str, bytes]:
    """The fixed members every package carries, from the signed manifest to the checkpoint:
    the manifest, its signature, both public keys, the export's entry as the log hashed it, its
    inclusion proof and the checkpoint that proof reaches (signed now)."""
    cp, path = _proof(log, seq, event)
    proof = {"seq": seq, "leaf_index": seq - 1, "tree_size": cp.tree_size,
             "path": [h.hex() for h in path]}  # fmt: skip
    return {
        MANIFEST: body,
        SIGNATURE: f"{signer.sign(body).hex()}\n".encode(),
        EXPORT_KEY: f"{signer.public_key.hex()}\n".encode(),
        LOG_KEY: f"{log_key.hex()}\n".encode(),
        LOG_ENTRY: canonical_entry(seq, event),
        LOG_PROOF: canonical_json(proof).encode(),
        LOG_CHECKPOINT: canonical_json(cp.as_dict()).encode(),
    }


def _proof(log: ProvableLog, seq: int, event: AuditEvent) -> tuple[Checkpoint, list[bytes]]:
    """Sign a checkpoint now (or take the one the append already signed) and prove ``seq``."""
    cp = log.checkpoint(force=True) or log.latest_checkpoint()
    if cp is None or cp.tree_size < seq:
        raise Conflict("audit_events", "no checkpoint covers the export's entry")
    leaves = log.leaves(cp.tree_size)
    if len(leaves) != cp.tree_size or leaves[seq - 1] != leaf_hash(canonical_entry(seq, event)):
        raise Conflict("audit_events", "the stored log does not hold the export's entry")
    return cp, inclusion_path(leaves, seq - 1)


def _concat_parts(
    segments: Sequence[Segment], source: Callable[[Segment], Path]
) -> list[ConcatPart]:
    first = segments[0].start_at
    return [
        ConcatPart(
            source(s),
            _ms(s.start_at - first),
            _ms(segments[i + 1].start_at - s.start_at) if i + 1 < len(segments) else None,
        )
        for i, s in enumerate(segments)
    ]


def _sources(c: _Camera, scope: FootageScope) -> list[SourceSegment]:
    return [
        SourceSegment(
            c.entry.camera_id,
            s.path,
            s.sha256,
            s.start_at,
            s.end_at,
            _ms(scope.start - s.start_at) if s.start_at < scope.start else None,
            _ms(scope.end - s.start_at) if s.end_at > scope.end else None,
        )
        for s in c.segments
    ]


def _gaps(c: _Camera, scope: FootageScope, uow: AccessUnitOfWork) -> list[Gap]:
    """Stretches of the range with no segment, each with the recorder's reason if it has one."""
    cid = int(c.entry.camera_id)
    holes: list[tuple[datetime, datetime]] = []
    at = scope.start
    for s in c.segments:
        if s.start_at - at > GAP_TOLERANCE:
            holes.append((at, s.start_at))
        at = max(at, s.end_at)
    if scope.end - at > GAP_TOLERANCE:
        holes.append((at, scope.end))
    if not holes:
        return []
    known = uow.gaps.find(cid, scope.start, scope.end)
    out = []
    for start, end in holes:
        reasons = [
            g.reason.value + (f": {g.detail}" if g.detail else "")
            for g in known
            if g.start_at < end and (g.end_at is None or g.end_at > start)
        ]
        out.append(Gap(c.entry.camera_id, start, end, "; ".join(reasons) or "not recorded"))
    return out


def _request(req: AccessRequest | None) -> RequestDetails | None:
    if req is None:
        return None
    organ = f"{req.organ} {req.organ_unit}".strip()
    approvers = ", ".join(a.approver_username for a in req.approvals) or None
    doc = req.document.sha256 if req.document else None
    return RequestDetails(organ, req.legal_basis, [h.name for h in req.handlers], approvers, doc)


def _with_files(parts: ManifestParts, files: Sequence[PackedFile]) -> ManifestParts:
    return replace(parts, files=list(files))


def camera_members(cameras: Sequence[tuple[int, str]]) -> dict[int, str]:
    """Each camera's video member (``video/<stem>.mp4``) as a package of ``cameras`` (id,
    address code; in the scope's order) names it."""
    taken: set[str] = set()
    found: dict[int, str] = {}
    for cid, code in cameras:
        stem = _file_stem(code, cid, taken)
        taken.add(stem)
        found[cid] = video_name(stem)
    return found


def _file_stem(address_code: str, camera_id: int, taken: set[str]) -> str:
    """The camera's address code, unless it is not a safe file name or is taken already."""
    try:
        video_name(address_code)
    except ValueError:
        return f"camera-{camera_id}"
    return address_code if address_code not in taken else f"{address_code}-{camera_id}"


def _ms(d: timedelta) -> int:
    return round(d / timedelta(milliseconds=1))


def _text(v: int | None) -> str | None:
    return None if v is None else str(v)
