"""``POST /footage/import``: a legacy recorder's footage brought in (docs/design/footage-import.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile
from pydantic import AwareDatetime, BaseModel, Field

from custos.domain.access import Permission
from custos.entrypoints.api.body_limit import max_body
from custos.entrypoints.api.bounds import Id
from custos.entrypoints.api.deps import Caller, ContainerDep, needs
from custos.entrypoints.api.routers.recording import SegmentOut

router = APIRouter(prefix="/footage", tags=["footage"])
Importer = Annotated[Caller, needs(Permission.FOOTAGE_IMPORT)]
MAX_IMPORT_BYTES = 4 * 1024**3  # a few hours of a legacy NVR's main stream
FORM_OVERHEAD_BYTES = 64 * 1024


class ImportOut(BaseModel):
    record: dict[str, Any]
    segments: list[SegmentOut]
    keep_until: datetime | None = Field(
        description="when its first segment leaves retention (it ages from its own time)"
    )
    past_retention: bool = Field(
        description="already due for the purge: place an evidence hold if it is evidence"
    )


@router.post(
    "/import",
    response_model=ImportOut,
    status_code=201,
    openapi_extra=max_body(MAX_IMPORT_BYTES + FORM_OVERHEAD_BYTES),
)
def import_footage(
    caller: Importer,
    c: ContainerDep,
    camera_id: Annotated[Id, Form()],
    start_at: Annotated[AwareDatetime, Form(description="wall-clock time of the first frame")],
    purpose: Annotated[str, Form(max_length=2000)],
    file: Annotated[UploadFile, File(description="an MP4 or MPEG-TS file")],
) -> ImportOut:
    """Cut an MP4/TS file into sealed segments of ``camera_id`` from ``start_at``: hashed,
    indexed and logged like recorded footage, marked imported with the source file's SHA-256."""
    done = c.imports.import_upload(
        caller.principal,
        file.file,
        file.filename or "upload",
        camera_id,
        start_at,
        purpose,
        MAX_IMPORT_BYTES,
    )
    return ImportOut(
        record=done.record.as_dict(),
        segments=[SegmentOut.of(s) for s in done.segments],
        keep_until=done.keep_until,
        past_retention=done.past_retention,
    )
