"""The masked copy as a ``custos-evidence/1`` package of kind ``publication``.

What it states, taken from the reviewed case and the original package's manifest (read from
the original, never written): the original's SHA-256, name, register entry and range; the
camera, whose file is now the masked MP4; the original video as the one source (its hash as
the original's manifest lists it); what the packs required; the masking settings (detectors
and versions, thresholds, tracks, regions, zones, reviewer, approval time).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from custos.domain.audit_chain import canonical_time
from custos.domain.errors import FieldError, ValidationFailed
from custos.domain.evidence import (
    CameraEntry,
    PackageKind,
    PackedFile,
    SourceSegment,
    TimeRange,
    UnitInfo,
)
from custos.domain.publication import PUBLICATION_FORMAT, PublicationCase
from custos.services.evidence_seal import SealOrder

_HEX64 = re.compile(r"\A[0-9a-f]{64}\Z")


def publication_order(
    case: PublicationCase,
    original: Mapping[str, Any],
    member: str,
    masked: tuple[PackedFile, Path],
    register_entry_id: int | None,
    name: str,
) -> SealOrder:
    """The order for :class:`~custos.services.evidence_seal.EvidenceSealer`; refuses (field
    ``source.manifest``) an original whose manifest does not describe ``member``."""
    assert case.id is not None
    try:
        camera = next(c for c in original["cameras"] if c.get("file") == member)
        delivered = _range(camera["range_delivered"])
        listed = next(f for f in original["files"] if f.get("name") == member)
        unit = original.get("unit") or {}
        asked = _range(original["range_asked"])
        sha = str(listed["sha256"])
        if not _HEX64.match(sha):
            raise ValueError(sha)
        entry = CameraEntry(
            str(camera["id"]), str(camera["address_code"]), str(camera.get("name", "")),
            str(camera.get("site", "")), delivered, file_name=masked[0].name,
        )  # fmt: skip
        source = SourceSegment(
            entry.camera_id, member, sha, delivered.start, delivered.end, None, None
        )
    except (KeyError, TypeError, ValueError, StopIteration, AttributeError):
        raise ValidationFailed(
            FieldError("source.manifest", f"the original's manifest does not describe {member}")
        ) from None
    extra = {
        "original": {
            "package_sha256": case.source_sha256,
            "package_name": case.source_name,
            "manifest_kind": original.get("kind"),
            "register_entry_id": original.get("register_entry_id"),
            "video": member,
            "video_sha256": sha,
        },
        "publication_id": case.id,
        "video": {
            "width": case.video.width,
            "height": case.video.height,
            "fps": case.video.fps,
            "frames": case.video.frames,
        },
        "required": {t.value: list(r) for t, r in sorted(case.required.items())},
        "masking": case.masking_settings(),
        "requested_by": case.requested_by_name,
    }
    return SealOrder(
        name=name,
        kind=PackageKind.PUBLICATION,
        object_type="publication",
        object_id=str(case.id),
        unit=UnitInfo(str(unit.get("name", "")), unit.get("credit_code")),
        range_asked=asked,
        cameras=[entry],
        sources=[source],
        files=[masked],
        purpose=case.purpose,
        register_entry_id=register_entry_id,
        extra=extra,
        detail={
            "original_sha256": case.source_sha256,
            "reviewer": case.reviewer_name,
            "publication_id": case.id,
        },
    )


def legacy_manifest(
    case: PublicationCase, member: str, masked: PackedFile, now: datetime, export_key: str
) -> dict[str, Any]:
    """The older ``custos-publication/1`` manifest (signed, no log proof): what a service
    without an :class:`~custos.services.evidence_seal.EvidenceSealer` still writes."""
    return {
        "format": PUBLICATION_FORMAT,
        "kind": "publication",
        "created_at": canonical_time(now),
        "publication_id": case.id,
        "original": {
            "package_sha256": case.source_sha256,
            "package_name": case.source_name,
            "video": member,
        },
        "files": [masked.as_dict()],
        "video": {
            "width": case.video.width,
            "height": case.video.height,
            "fps": case.video.fps,
            "frames": case.video.frames,
        },
        "required": {t.value: list(r) for t, r in sorted(case.required.items())},
        "masking": case.masking_settings(),
        "purpose": case.purpose,
        "requested_by": case.requested_by_name,
        "export_key": export_key,
    }


def _range(d: Mapping[str, Any]) -> TimeRange:
    return TimeRange(_time(d["start"]), _time(d["end"]))


def _time(s: Any) -> datetime:
    t = datetime.fromisoformat(str(s).replace("Z", "+00:00"))
    if t.tzinfo is None:
        raise ValueError("a time without its zone")
    return t
