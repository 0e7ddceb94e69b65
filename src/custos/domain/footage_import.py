"""Footage brought in from another recorder (a legacy NVR): the record of one import.

Its segments are ordinary sealed segments with run id :func:`import_run_id`; this record holds
where they came from (docs/design/footage-import.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

IMPORT_RUN_PREFIX = "import-"
IMPORT_SUFFIXES = frozenset({".mp4", ".ts"})


def import_run_id(source_sha256: str) -> str:
    """The run id of an import's segments: one per source file."""
    return IMPORT_RUN_PREFIX + source_sha256[:16]


def is_imported(run_id: str) -> bool:
    return run_id.startswith(IMPORT_RUN_PREFIX)


@dataclass(frozen=True)
class FootageImport:
    id: int | None
    camera_id: int
    source_name: str
    source_sha256: str
    source_bytes: int
    start_at: datetime
    end_at: datetime
    segments: int
    purpose: str
    imported_by: str
    imported_at: datetime

    @property
    def run_id(self) -> str:
        return import_run_id(self.source_sha256)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "camera_id": self.camera_id,
            "source_name": self.source_name,
            "source_sha256": self.source_sha256,
            "source_bytes": self.source_bytes,
            "start_at": self.start_at.isoformat(),
            "end_at": self.end_at.isoformat(),
            "segments": self.segments,
            "purpose": self.purpose,
            "imported_by": self.imported_by,
            "imported_at": self.imported_at.isoformat(),
            "run_id": self.run_id,
        }
