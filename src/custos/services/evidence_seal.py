"""Sealing a package whose files were made elsewhere (a masked copy for publication).

The same ``custos-evidence/1`` chain as :class:`~custos.services.evidence.EvidenceBuilder`
builds for an export, for files it did not cut: the manifest (built and checked by
``domain/evidence.py``), signed with the export key; the custody sheet rendered from that final
manifest, when a renderer is given; the entry ``export.package`` carrying ``manifest_sha256``
and the sheet's ``custody_sha256``; a checkpoint signed in the same transaction and the
entry's inclusion proof; then the ZIP, member by member from files on disk. Called inside the
transaction that registers the package, as the builder is.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from custos import __version__
from custos.domain.audit import AuditEvent
from custos.domain.clock import Clock
from custos.domain.evidence import (
    CUSTODY,
    EXPORT_ACTION,
    VERIFY_HTML,
    CameraEntry,
    ManifestParts,
    PackageKind,
    PackedFile,
    SourceSegment,
    SystemInfo,
    TimeRange,
    UnitInfo,
    build_manifest,
    canonical_manifest,
    fingerprint,
    key_id,
)
from custos.domain.users import Principal
from custos.services.evidence import (
    BuiltEvidence,
    ExportKeys,
    PackageFiles,
    ProvableLog,
    proven_members,
)
from custos.services.ports import AccessUnitOfWork


@dataclass(frozen=True)
class SealOrder:
    """A package of given files: what it is, for whom, under which register entry."""

    name: str  # the ZIP's file name, without .zip
    kind: PackageKind
    object_type: str  # the log entry's object ("publication") and its id
    object_id: str
    unit: UnitInfo
    range_asked: TimeRange
    cameras: Sequence[CameraEntry]
    sources: Sequence[SourceSegment]
    files: Sequence[tuple[PackedFile, Path]]  # listed in the manifest, read from disk
    purpose: str | None
    register_entry_id: int | None
    extra: Mapping[str, Any]  # kind-specific manifest members
    detail: Mapping[str, Any]  # more of the log entry's detail


class EvidenceSealer:
    def __init__(
        self,
        clock: Clock,
        files: PackageFiles,
        keys: ExportKeys,
        log_public_key: bytes,
        system: SystemInfo | None = None,
        verify_html: Callable[[], bytes | None] | None = None,
        custody: Callable[[dict[str, Any], str], bytes] | None = None,
        language: str = "zh",
    ) -> None:
        self._clock, self._files, self._keys = clock, files, keys
        self._log_key = log_public_key
        self._system = system or SystemInfo("Custos", __version__, None)
        self._verify_html = verify_html
        self._custody, self._language = custody, language

    def seal(
        self, uow: AccessUnitOfWork, actor: Principal, order: SealOrder, dst: Path, work: Path
    ) -> BuiltEvidence:
        log = uow.audit
        if not isinstance(log, ProvableLog):
            raise RuntimeError("this unit of work's log cannot sign checkpoints or give proofs")
        now = self._clock.now()
        signer = self._keys.current()
        given = list(order.files)
        html = self._verify_html() if self._verify_html else None
        if html is not None:  # the offline page, listed like the video
            self._files.write(work / VERIFY_HTML, html)
            packed = PackedFile(VERIFY_HTML, hashlib.sha256(html).hexdigest(), len(html))
            given.append((packed, work / VERIFY_HTML))
        parts = ManifestParts(
            system=self._system,
            unit=order.unit,
            exported_at=now,
            kind=order.kind,
            range_asked=order.range_asked,
            cameras=order.cameras,
            sources=order.sources,
            gaps=[],
            files=[f for f, _ in given],
            export_key=fingerprint(signer.public_key),
            log_key=fingerprint(self._log_key),
            register_entry_id=None
            if order.register_entry_id is None
            else str(order.register_entry_id),
            purpose=order.purpose,
            extra=order.extra,
        )
        manifest = build_manifest(parts)
        body = canonical_manifest(manifest)
        manifest_sha256 = hashlib.sha256(body).hexdigest()
        sheet = self._custody(manifest, self._language) if self._custody else None
        detail: dict[str, Any] = {
            **order.detail,
            "manifest_sha256": manifest_sha256,
            "kind": manifest["kind"],
            "name": f"{order.name}.zip",
            "register_entry_id": order.register_entry_id,
            "export_key": key_id(manifest["export_key"]),
        }
        if sheet is not None:  # bound like an export's: the verifier checks it against this
            detail["custody_sha256"] = hashlib.sha256(sheet).hexdigest()
        event = AuditEvent(
            now, actor.username, EXPORT_ACTION, order.object_type, order.object_id, detail=detail
        )
        seq = log.append(event)
        fixed = proven_members(log, seq, event, body, signer, self._log_key)
        if sheet is not None:
            fixed[CUSTODY] = sheet
        fixed_dir = work / "fixed"
        try:
            members: list[tuple[str, Path]] = []
            for name, data in fixed.items():
                self._files.write(fixed_dir / name, data)
                members.append((name, fixed_dir / name))
            members += [(f.name, p) for f, p in given]
            written = self._files.write_zip(dst, members)
        finally:
            self._files.remove_tree(fixed_dir)
            (work / VERIFY_HTML).unlink(missing_ok=True)
        return BuiltEvidence(
            written.path, written.sha256, written.bytes, 0, manifest_sha256, seq, manifest
        )
