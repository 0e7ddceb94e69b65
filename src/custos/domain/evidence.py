"""The signed evidence package, format ``custos-evidence/1`` (docs/design/evidence.md).

This module states the contract: the fixed names inside the ZIP, the key fingerprint, the
canonical form of the manifest, the parts the manifest is built from, and what a manifest must
hold to be well formed. It signs nothing and reads no files; the service builds a package from
these parts and the export key signs the canonical bytes.

The standalone verifier (``verifier/``) re-states these names: it never imports custos.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from custos.domain.audit_chain import canonical_json, canonical_time

FORMAT = "custos-evidence/1"

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
EXPORT_KEY = "keys/export.pub"
LOG_KEY = "keys/log.pub"
LOG_ENTRY = "log/entry.bin"
LOG_PROOF = "log/proof.json"
LOG_CHECKPOINT = "log/checkpoint.json"
CUSTODY = "custody.pdf"
VERIFY_HTML = "verify.html"
VIDEO_DIR = "video/"

# Written after the manifest, so outside its ``files`` list; each is bound by the chain itself.
# The custody sheet is rendered from the final manifest (it prints manifest.json's SHA-256), so
# it cannot be listed in it: the export's log entry names its SHA-256 (``custody_sha256``).
FIXED_NAMES = (
    MANIFEST,
    SIGNATURE,
    EXPORT_KEY,
    LOG_KEY,
    LOG_ENTRY,
    LOG_PROOF,
    LOG_CHECKPOINT,
    CUSTODY,
)
# Fixed names a package may lack: the sheet (a package built without a renderer).
OPTIONAL_NAMES = (CUSTODY,)

# The operation-log action of every package; its detail carries ``manifest_sha256`` and, when
# the package holds a custody sheet, ``custody_sha256``.
EXPORT_ACTION = "export.package"

_HEX64 = re.compile(r"\A[0-9a-f]{64}\Z")
_SAFE_NAME = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,127}\Z")
MAX_CAMERAS = 64
MAX_SOURCES = 100_000
MAX_GAPS = 100_000


def fingerprint(public_key_raw: bytes) -> str:
    """SHA-256 of the raw 32-byte public key, lower-case hex (64 characters)."""
    if len(public_key_raw) != 32:
        raise ValueError("an Ed25519 public key is 32 raw bytes")
    return hashlib.sha256(public_key_raw).hexdigest()


def key_id(fp: str) -> str:
    """The first 16 hex digits of a fingerprint."""
    if not _HEX64.match(fp):
        raise ValueError("a fingerprint is 64 lower-case hex digits")
    return fp[:16]


def grouped(fp: str) -> str:
    """A fingerprint as people read it aloud: ``ab12 cd34 …`` (groups of four)."""
    return " ".join(fp[i : i + 4] for i in range(0, len(fp), 4))


def canonical_manifest(manifest: Mapping[str, Any]) -> bytes:
    """The exact bytes of ``manifest.json``, which the export key signs."""
    return canonical_json(manifest).encode()


def video_name(address_code: str) -> str:
    """``video/<address-code>.mp4``; the code is a GB/T 28181 ID or another safe file stem."""
    if not _SAFE_NAME.match(address_code):
        raise ValueError(f"not a safe file name for a camera: {address_code!r}")
    return f"{VIDEO_DIR}{address_code}.mp4"


class PackageKind(StrEnum):
    COPY = "copy"
    RETRIEVAL = "retrieval"
    EXPORT = "export"
    PUBLICATION = "publication"


@dataclass(frozen=True)
class TimeRange:
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError("a range ends after it starts")

    def as_dict(self) -> dict[str, str]:
        return {"start": canonical_time(self.start), "end": canonical_time(self.end)}


@dataclass(frozen=True)
class SourceSegment:
    """A recorded segment used for a camera's file, as sealed at ingest, and how it was cut.

    ``cut_from_ms``/``cut_to_ms`` are offsets into the segment (None: from its start / to its
    end); both None means the segment was used whole.
    """

    camera_id: str
    path: str
    sha256: str
    start: datetime
    end: datetime
    cut_from_ms: int | None = None
    cut_to_ms: int | None = None

    def as_dict(self) -> dict[str, Any]:
        whole = self.cut_from_ms is None and self.cut_to_ms is None
        cut: dict[str, Any] = {"whole": whole}
        if not whole:
            cut["from_ms"] = self.cut_from_ms or 0
            cut["to_ms"] = self.cut_to_ms
        return {
            "camera_id": self.camera_id,
            "path": self.path,
            "sha256": self.sha256,
            "start": canonical_time(self.start),
            "end": canonical_time(self.end),
            "cut": cut,
        }


@dataclass(frozen=True)
class Gap:
    camera_id: str
    start: datetime
    end: datetime
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {
            "camera_id": self.camera_id,
            "start": canonical_time(self.start),
            "end": canonical_time(self.end),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class CameraEntry:
    camera_id: str
    address_code: str
    name: str
    site: str
    delivered: TimeRange | None  # None: nothing recorded inside the range
    file_name: str | None = None  # another name under video/ (a masked copy's)

    def __post_init__(self) -> None:
        if self.file_name is not None and not (
            self.file_name.startswith(VIDEO_DIR)
            and _SAFE_NAME.match(self.file_name.removeprefix(VIDEO_DIR))
        ):
            raise ValueError(f"not a safe file name under {VIDEO_DIR}: {self.file_name!r}")

    @property
    def file(self) -> str:
        return self.file_name or video_name(self.address_code)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.camera_id,
            "address_code": self.address_code,
            "name": self.name,
            "site": self.site,
            "file": self.file if self.delivered is not None else None,
            "range_delivered": None if self.delivered is None else self.delivered.as_dict(),
        }


@dataclass(frozen=True)
class RequestDetails:
    """The outside request behind a copy or retrieval."""

    organ: str
    legal_basis: str
    handlers: Sequence[str]
    approver: str | None
    approval_sha256: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "organ": self.organ,
            "legal_basis": self.legal_basis,
            "handlers": list(self.handlers),
            "approver": self.approver,
            "approval_sha256": self.approval_sha256,
        }


@dataclass(frozen=True)
class PackedFile:
    """A file of the package listed in the manifest (every one but the fixed names)."""

    name: str
    sha256: str
    bytes: int

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "sha256": self.sha256, "bytes": self.bytes}


@dataclass(frozen=True)
class SystemInfo:
    name: str
    version: str
    platform_id: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "platform_id": self.platform_id}


@dataclass(frozen=True)
class UnitInfo:
    name: str
    credit_code: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "credit_code": self.credit_code}


@dataclass(frozen=True)
class ManifestParts:
    """Everything a manifest states, before it is written."""

    system: SystemInfo
    unit: UnitInfo
    exported_at: datetime
    kind: PackageKind
    range_asked: TimeRange
    cameras: Sequence[CameraEntry]
    sources: Sequence[SourceSegment]
    gaps: Sequence[Gap]
    files: Sequence[PackedFile]
    export_key: str  # fingerprint
    log_key: str  # fingerprint
    register_entry_id: str | None = None
    request: RequestDetails | None = None
    purpose: str | None = None
    extra: Mapping[str, Any] | None = None  # kind-specific members (e.g. a publication's original)


def build_manifest(p: ManifestParts) -> dict[str, Any]:
    """The manifest as a JSON object; :func:`check_manifest` accepts what this returns."""
    m: dict[str, Any] = {
        "format": FORMAT,
        "system": p.system.as_dict(),
        "unit": p.unit.as_dict(),
        "exported_at": canonical_time(p.exported_at),
        "kind": p.kind.value,
        "request": None if p.request is None else p.request.as_dict(),
        "purpose": p.purpose,
        "register_entry_id": p.register_entry_id,
        "range_asked": p.range_asked.as_dict(),
        "cameras": [c.as_dict() for c in p.cameras],
        "sources": [s.as_dict() for s in p.sources],
        "gaps": [g.as_dict() for g in p.gaps],
        "files": [f.as_dict() for f in sorted(p.files, key=lambda f: f.name)],
        "export_key": p.export_key,
        "log_key": p.log_key,
    }
    if p.extra:
        for k, v in p.extra.items():
            if k in m:
                raise ValueError(f"extra member {k!r} would replace a manifest field")
            m[k] = v
    check_manifest(m)
    return m


REQUIRED = (
    "format",
    "system",
    "unit",
    "exported_at",
    "kind",
    "request",
    "purpose",
    "register_entry_id",
    "range_asked",
    "cameras",
    "sources",
    "gaps",
    "files",
    "export_key",
    "log_key",
)


class ManifestError(ValueError):
    """The manifest is not a well-formed ``custos-evidence/1`` manifest; says which member."""


def check_manifest(m: Mapping[str, Any]) -> None:
    """Structure only (hashes, signature and log are the verifier's work)."""
    for name in REQUIRED:
        if name not in m:
            raise ManifestError(f"manifest lacks {name!r}")
    if m["format"] != FORMAT:
        raise ManifestError(f"format is {m['format']!r}, not {FORMAT!r}")
    if m["kind"] not in {k.value for k in PackageKind}:
        raise ManifestError(f"unknown kind {m['kind']!r}")
    if m["kind"] in (PackageKind.COPY, PackageKind.RETRIEVAL) and m["request"] is None:
        raise ManifestError(f"a {m['kind']} names its request")
    if m["kind"] == PackageKind.EXPORT and not m["purpose"]:
        raise ManifestError("a staff export states its purpose")
    for name in ("export_key", "log_key"):
        if not isinstance(m[name], str) or not _HEX64.match(m[name]):
            raise ManifestError(f"{name} is not a fingerprint")
    cameras, sources, gaps = m["cameras"], m["sources"], m["gaps"]
    if not isinstance(cameras, list) or not 0 < len(cameras) <= MAX_CAMERAS:
        raise ManifestError(f"cameras: 1..{MAX_CAMERAS}")
    if not isinstance(sources, list) or len(sources) > MAX_SOURCES:
        raise ManifestError("sources")
    if not isinstance(gaps, list) or len(gaps) > MAX_GAPS:
        raise ManifestError("gaps")
    names: set[str] = set()
    for f in m["files"]:
        n = f.get("name")
        if not isinstance(n, str) or n in FIXED_NAMES or n.startswith(("keys/", "log/")):
            raise ManifestError(f"files lists a name it may not: {n!r}")
        if n in names:
            raise ManifestError(f"files lists {n!r} twice")
        names.add(n)
        if not _HEX64.match(str(f.get("sha256"))) or not isinstance(f.get("bytes"), int):
            raise ManifestError(f"files: {n!r} lacks its hash or size")
    for c in cameras:
        if c.get("file") is not None and c["file"] not in names:
            raise ManifestError(f"camera {c.get('id')!r} names a file not listed: {c['file']!r}")
    for s in sources:
        if not _HEX64.match(str(s.get("sha256"))):
            raise ManifestError(f"source {s.get('path')!r} lacks its sealed SHA-256")


class KeyKind(StrEnum):
    EXPORT = "export"  # signs package manifests
    LOG = "log"  # signs operation-log checkpoints


@dataclass(frozen=True)
class PublishedKey:
    """A public key as ``GET /api/v1/keys`` and ``custos keys list`` show it (no secret)."""

    kind: KeyKind
    public_key: bytes
    created_at: datetime | None
    retired_at: datetime | None = None

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public_key)

    @property
    def key_id(self) -> str:
        return key_id(self.fingerprint)

    @property
    def current(self) -> bool:
        return self.retired_at is None
