"""Filing across systems (docs/design/filing.md D3, "Filings received from another system").

Unit side (``filing.write``): export a submission as a signed ``custos-filing/1`` zip; record
the bureau's decision, as its signed ``custos-filing-decision/1`` file (multipart ``file``) or,
for paper, as JSON. Bureau side (``supervise``, inside the supervisor's jurisdiction): import a
filing, list and read the received ones, decide, export the decision.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import Response
from pydantic import Field, ValidationError
from starlette.datastructures import UploadFile as StarletteUpload

from custos.domain.access import Permission
from custos.domain.errors import FieldError, ValidationFailed
from custos.domain.filing_case import Decision
from custos.domain.filing_exchange import MAX_FILE_BYTES, ReceivedFiling
from custos.entrypoints.api.body_limit import max_body
from custos.entrypoints.api.bounds import Id
from custos.entrypoints.api.deps import Caller, ContainerDep, needs
from custos.entrypoints.api.schemas import In
from custos.services.filing_decisions import PaperDecision
from custos.services.filing_exchange import MAX_FILING_NUMBER

router = APIRouter(tags=["filings"])
Writer = Annotated[Caller, needs(Permission.FILING_WRITE)]
Supervisor = Annotated[Caller, needs(Permission.SUPERVISE)]
Reason = Annotated[str, Field(max_length=2000)]
FORM_OVERHEAD_BYTES = 64 * 1024
ZIP = "application/zip"


class PaperDecisionIn(In):
    decision: Decision
    decided_on: date
    filing_number: str = Field(default="", max_length=MAX_FILING_NUMBER)
    reasons: list[Reason] = Field(default_factory=list, max_length=50)
    document_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")


class DecideIn(In):
    decision: Decision
    filing_number: str | None = Field(default=None, max_length=MAX_FILING_NUMBER)
    reasons: list[Reason] = Field(default_factory=list, max_length=50)


def _attachment(name: str) -> dict[str, str]:
    """A download's header: an ASCII name (anything else replaced), and the name as given
    (RFC 6266 ``filename*``); never a character a header cannot hold."""
    plain = re.sub(r"[^0-9A-Za-z._-]", "_", name) or "download"
    return {
        "Content-Disposition": f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(name, safe='')}"
    }


def _zip(name: str, data: bytes) -> Response:
    return Response(data, media_type=ZIP, headers=_attachment(name))


async def _file(upload: Any) -> bytes:
    if not isinstance(upload, StarletteUpload):
        raise ValidationFailed(FieldError("file", "a custos-filing zip as multipart field file"))
    data = await upload.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise ValidationFailed(FieldError("file", f"at most {MAX_FILE_BYTES} bytes"))
    return data


def _received(f: ReceivedFiling) -> dict[str, Any]:
    return f.as_dict()


# ---- unit side -------------------------------------------------------------------------------
@router.get("/filing-cases/{case_id}/export.zip")
def export_zip(case_id: Id, caller: Writer, c: ContainerDep) -> Response:
    """The latest submission, signed, for a bureau on another system (channel: export)."""
    name, data = c.filing_exchange.export(caller.principal, case_id)
    return _zip(name, data)


@router.post(
    "/filing-cases/{case_id}/decision",
    openapi_extra={
        **max_body(MAX_FILE_BYTES + FORM_OVERHEAD_BYTES),
        "requestBody": {
            "content": {
                "application/json": {"schema": PaperDecisionIn.model_json_schema()},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                    }
                },
            }
        },
    },
)
async def record_decision(
    case_id: Id, request: Request, caller: Writer, c: ContainerDep
) -> dict[str, Any]:
    """The bureau's decision: its signed ``custos-filing-decision/1`` file (multipart ``file``),
    or a paper decision as JSON ``{decision, decided_on, filing_number, reasons,
    document_sha256?}``."""
    kind = request.headers.get("content-type", "")
    if kind.startswith("multipart/form-data"):
        async with request.form() as form:  # closes the spooled upload
            data = await _file(form.get("file"))
        case = c.filing_decisions.record_file(caller.principal, case_id, data)
    else:
        try:
            body = PaperDecisionIn.model_validate(json.loads(await request.body() or b"null"))
        except (ValueError, ValidationError) as exc:
            raise ValidationFailed(_errors(exc)) from None
        paper = PaperDecision(
            body.decision,
            body.decided_on,
            body.filing_number,
            tuple(body.reasons),
            body.document_sha256,
        )
        case = c.filing_decisions.record_paper(caller.principal, case_id, paper)
    return c.filings.describe([case])[0]


# ---- bureau side -----------------------------------------------------------------------------
@router.post(
    "/filings/import",
    status_code=201,
    openapi_extra=max_body(MAX_FILE_BYTES + FORM_OVERHEAD_BYTES),
)
async def import_filing(
    caller: Supervisor, c: ContainerDep, file: Annotated[UploadFile, File()]
) -> dict[str, Any]:
    """A ``custos-filing/1`` file from a unit's system: checked (hashes, signature, division in
    the GB/T 2260 table and in your jurisdiction), then received."""
    data = await _file(file)
    return _received(c.filing_exchange.import_filing(caller.principal, data))


@router.get("/filings/received")
def list_received(caller: Supervisor, c: ContainerDep) -> list[dict[str, Any]]:
    return [_received(f) for f in c.filing_exchange.received(caller.principal)]


@router.get("/filings/received/{receipt_id}")
def get_received(receipt_id: Id, caller: Supervisor, c: ContainerDep) -> dict[str, Any]:
    return _received(c.filing_exchange.get_received(caller.principal, receipt_id))


@router.get("/filings/received/{receipt_id}/package.json")
def received_package_json(receipt_id: Id, caller: Supervisor, c: ContainerDep) -> Response:
    """The received package as filed (canonical JSON)."""
    name, data = c.filing_exchange.package_of(caller.principal, receipt_id, pdf=False)
    return Response(
        data,
        media_type="application/json",
        headers=_attachment(name),
    )


@router.get("/filings/received/{receipt_id}/package.pdf")
def received_package_pdf(receipt_id: Id, caller: Supervisor, c: ContainerDep) -> Response:
    name, data = c.filing_exchange.package_of(caller.principal, receipt_id, pdf=True)
    return Response(
        data,
        media_type="application/pdf",
        headers=_attachment(name),
    )


@router.post("/filings/received/{receipt_id}/decide")
def decide(receipt_id: Id, body: DecideIn, caller: Supervisor, c: ContainerDep) -> dict[str, Any]:
    f = c.filing_exchange.decide(
        caller.principal, receipt_id, body.decision, body.filing_number, list(body.reasons)
    )
    return _received(f)


@router.get("/filings/received/{receipt_id}/decision.zip")
def decision_zip(receipt_id: Id, caller: Supervisor, c: ContainerDep) -> Response:
    """The decision, signed, for the unit's system (``custos-filing-decision/1``)."""
    name, data = c.filing_exchange.decision_file(caller.principal, receipt_id)
    return _zip(name, data)


def _errors(exc: Exception) -> list[FieldError]:
    if isinstance(exc, ValidationError):
        return [
            FieldError(".".join(str(p) for p in e["loc"]) or "body", e["msg"]) for e in exc.errors()
        ] or [FieldError("body", "not a paper decision")]
    return [FieldError("body", "a JSON paper decision, or a decision file as multipart file")]
