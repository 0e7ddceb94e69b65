"""The bureau's inspections and rectification notices (docs/design/filing.md D6).

Inspections: ``SUPERVISE`` in the jurisdiction. Notices: a unit's manager reads and answers its
own (``RECTIFY``); the bureau reads its jurisdiction's and verifies them (``SUPERVISE``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Path, Query, UploadFile
from fastapi.responses import Response
from pydantic import Field

from custos.domain.access import Permission
from custos.domain.errors import FieldError, ValidationFailed
from custos.domain.inspection import (
    MAX_DUE_DAYS,
    MAX_INSPECTORS,
    MAX_REMARK,
    MIN_DUE_DAYS,
    ItemResult,
)
from custos.domain.rectification import MAX_EVIDENCE, NoticeState, Outcome
from custos.entrypoints.api.body_limit import max_body
from custos.entrypoints.api.bounds import Day, Id
from custos.entrypoints.api.deps import Caller, ContainerDep, needs
from custos.entrypoints.api.language import Lang
from custos.entrypoints.api.schemas import In
from custos.entrypoints.web.messages import localize_finding
from custos.services.inspections import MAX_PHOTO_BYTES, PHOTO_MAGIC
from custos.services.rectification import MAX_EVIDENCE_BYTES, Escalation, Evidence

router = APIRouter(tags=["inspections"])
Supervisor = Annotated[Caller, needs(Permission.SUPERVISE)]
Rectifier = Annotated[Caller, needs(Permission.RECTIFY)]
FORM_OVERHEAD_BYTES = 64 * 1024
Amount = Annotated[int, Field(ge=1, le=100_000_000)]


class InspectionIn(In):
    unit_id: Id
    planned_on: Day
    inspector_ids: list[Id] = Field(min_length=1, max_length=MAX_INSPECTORS)
    site_ids: list[Id] | None = Field(default=None, min_length=1, max_length=1000)


class ItemIn(In):
    result: ItemResult
    remark: str = Field(default="", max_length=MAX_REMARK)
    due_days: Annotated[int, Field(ge=MIN_DUE_DAYS, le=MAX_DUE_DAYS)] | None = None


class PenaltyIn(In):
    amount: Amount
    subject: Literal["unit", "person", "individual"] = "unit"
    rule_id: str | None = Field(default=None, max_length=64)


class VerifyIn(In):
    outcome: Outcome
    reason: str = Field(default="", max_length=2000)
    penalty: PenaltyIn | None = None


@router.post("/inspections", status_code=201)
def plan_inspection(body: InspectionIn, caller: Supervisor, c: ContainerDep) -> dict[str, Any]:
    """Plan an inspection of a unit; the checklist comes from the packs of its sites."""
    i = c.inspections.plan(
        caller.principal, body.unit_id, body.planned_on, body.inspector_ids, body.site_ids
    )
    return i.as_dict()


@router.get("/inspections")
def list_inspections(caller: Supervisor, c: ContainerDep) -> list[dict[str, Any]]:
    """The inspections in one's jurisdiction, newest first (without their checklists)."""
    return [
        {k: v for k, v in i.as_dict().items() if k != "items"}
        for i in c.inspections.inspections(caller.principal)
    ]


@router.get("/inspections/{inspection_id}")
def get_inspection(inspection_id: Id, caller: Supervisor, c: ContainerDep) -> dict[str, Any]:
    return c.inspections.get(caller.principal, inspection_id).as_dict()


@router.put("/inspections/{inspection_id}/items/{key}")
def record_item(
    inspection_id: Id,
    key: Annotated[str, Path(max_length=64)],
    body: ItemIn,
    caller: Supervisor,
    c: ContainerDep,
) -> dict[str, Any]:
    """Record an item: pass, fail (with a deadline of 1–180 days, 30 by default) or note."""
    i = c.inspections.record(
        caller.principal, inspection_id, key, body.result, body.remark, body.due_days
    )
    return i.as_dict()


@router.post(
    "/inspections/{inspection_id}/photos",
    status_code=201,
    openapi_extra=max_body(MAX_PHOTO_BYTES + FORM_OVERHEAD_BYTES),
)
async def add_photo(
    inspection_id: Id,
    caller: Supervisor,
    c: ContainerDep,
    key: Annotated[str, Form(max_length=64)],
    file: Annotated[UploadFile, File(description="a JPEG, PNG or WebP photo")],
) -> dict[str, Any]:
    data = await file.read(MAX_PHOTO_BYTES + 1)
    _, digest = c.inspections.add_photo(
        caller.principal, inspection_id, key, data, file.content_type or ""
    )
    return {"sha256": digest, "key": key}


Sha256 = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")]


@router.get("/inspections/{inspection_id}/photos/{sha256}")
def get_photo(inspection_id: Id, sha256: Sha256, caller: Supervisor, c: ContainerDep) -> Response:
    """A photo of the inspection, by its SHA-256 (the type from its first bytes)."""
    data = c.inspections.photo(caller.principal, inspection_id, sha256)
    kind = next((t for t, magic in PHOTO_MAGIC.items() if data.startswith(magic)), None)
    return Response(data, media_type=kind or "application/octet-stream")


@router.post("/inspections/{inspection_id}/sign")
def sign_inspection(inspection_id: Id, caller: Supervisor, c: ContainerDep) -> dict[str, Any]:
    """One inspector signs; the last signature closes it (report, notices)."""
    return c.inspections.sign(caller.principal, inspection_id).as_dict()


@router.get("/inspections/{inspection_id}/report.pdf")
def inspection_report(inspection_id: Id, caller: Supervisor, c: ContainerDep) -> Response:
    data, digest = c.inspections.report(caller.principal, inspection_id)
    return Response(
        data,
        media_type="application/pdf",
        headers={
            "X-Content-SHA256": digest,
            "Content-Disposition": f'attachment; filename="inspection-{inspection_id}.pdf"',
        },
    )


@router.get("/rectifications")
def list_notices(
    caller: Annotated[Caller, needs(Permission.SELF)],  # the service: RECTIFY or SUPERVISE
    c: ContainerDep,
    state: Annotated[NoticeState | None, Query()] = None,
) -> list[dict[str, Any]]:
    """A unit's manager sees its unit's notices; a supervisor its jurisdiction's."""
    today = c.rectifications.today()
    found = c.rectifications.notices(caller.principal, None if state is None else [state])
    return [n.as_dict(today) for n in found]


@router.get("/rectifications/overdue")
def overdue_notices(
    caller: Annotated[Caller, needs(Permission.SELF)], c: ContainerDep, lang: Lang
) -> list[dict[str, Any]]:
    """``rectification.overdue`` findings with the penalty article and fine range."""
    return [
        localize_finding(f.as_dict(), lang)
        for f in c.rectifications.overdue_findings(caller.principal)
    ]


@router.get("/rectifications/{notice_id}")
def get_notice(
    notice_id: Id, caller: Annotated[Caller, needs(Permission.SELF)], c: ContainerDep
) -> dict[str, Any]:
    return c.rectifications.get(caller.principal, notice_id).as_dict(c.rectifications.today())


@router.get("/rectifications/{notice_id}/documents/{sha256}")
def get_evidence(
    notice_id: Id,
    sha256: Sha256,
    caller: Annotated[Caller, needs(Permission.SELF)],  # the service: RECTIFY or SUPERVISE
    c: ContainerDep,
) -> Response:
    """An evidence document of one of the notice's answers."""
    name, data = c.rectifications.evidence(caller.principal, notice_id, sha256)
    return Response(
        data,
        media_type="application/octet-stream",
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
    )


@router.post(
    "/rectifications/{notice_id}/respond",
    openapi_extra=max_body(MAX_EVIDENCE * MAX_EVIDENCE_BYTES + FORM_OVERHEAD_BYTES),
)
async def respond(
    notice_id: Id,
    caller: Rectifier,
    c: ContainerDep,
    text: Annotated[str, Form(min_length=1, max_length=4000)],
    files: Annotated[list[UploadFile] | None, File(description="evidence documents")] = None,
) -> dict[str, Any]:
    """The unit's answer: what it did, and evidence documents."""
    evidence = []
    for n, f in enumerate(files or []):
        data = await f.read(MAX_EVIDENCE_BYTES + 1)
        if len(data) > MAX_EVIDENCE_BYTES:
            raise ValidationFailed(FieldError(f"files[{n}]", f"at most {MAX_EVIDENCE_BYTES} bytes"))
        evidence.append(Evidence(f.filename or "document", data))
    notice = c.rectifications.respond(caller.principal, notice_id, text, evidence)
    return notice.as_dict(c.rectifications.today())


@router.post("/rectifications/{notice_id}/verify")
def verify(notice_id: Id, body: VerifyIn, caller: Supervisor, c: ContainerDep) -> dict[str, Any]:
    """The bureau's check: close, reject (reason) or escalate (penalty article and amount)."""
    penalty = body.penalty
    notice = c.rectifications.verify(
        caller.principal,
        notice_id,
        body.outcome,
        body.reason,
        None if penalty is None else Escalation(penalty.amount, penalty.subject, penalty.rule_id),
    )
    return notice.as_dict(c.rectifications.today())
