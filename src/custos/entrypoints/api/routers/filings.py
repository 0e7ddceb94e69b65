"""Filing with the police: the unit's profile, package and cases; the bureau's accept and return
(docs/design/filing.md, API section).

Unit side (``filing.write`` to change, ``base_info.read`` to read: the package is base
information, Xi'an art. 24, Chongqing art. 22); bureau side ``supervise``, inside the
supervisor's jurisdiction.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Query, UploadFile
from fastapi.responses import Response
from pydantic import Field

from custos.domain.access import Permission
from custos.domain.errors import FieldError, ValidationFailed
from custos.domain.filing_case import CaseState, Channel
from custos.domain.filing_package import (
    MAX_LONG_TEXT,
    MAX_PERSONS,
    MAX_TEXT,
    Document,
    FilingProfile,
    PartyUnit,
    ResponsiblePerson,
)
from custos.domain.rules.facts import FilingKind
from custos.entrypoints.api.body_limit import max_body
from custos.entrypoints.api.bounds import Id
from custos.entrypoints.api.deps import Caller, ContainerDep, needs
from custos.entrypoints.api.schemas import In
from custos.services.filing import MAX_DOCUMENT_BYTES, MAX_FILING_NUMBER

router = APIRouter(tags=["filings"])
Reader = Annotated[Caller, needs(Permission.BASE_INFO_READ)]
Writer = Annotated[Caller, needs(Permission.FILING_WRITE)]
Supervisor = Annotated[Caller, needs(Permission.SUPERVISE)]
Text = Annotated[str, Field(max_length=MAX_TEXT)]
LongText = Annotated[str, Field(max_length=MAX_LONG_TEXT)]
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
FORM_OVERHEAD_BYTES = 64 * 1024
Submission = Annotated[int, Field(ge=1, le=10_000)]


class PartyIn(In):
    name: Text = ""
    contact: Text = ""


class PersonIn(In):
    name: Text = Field(min_length=1)
    phone: str = Field(pattern=r"^[0-9+\- ]{5,20}$")
    role: Text = ""


class NetworkIn(In):
    kind: str = Field(default="", pattern=r"^(|isolated|private|police_video_network|internet)$")
    description: LongText = ""


class DocumentIn(In):
    sha256: Sha256
    filename: Text = ""


class ProfileIn(In):
    system_name: Text = ""
    system_purpose: LongText = ""
    owner_unit: PartyIn = Field(default_factory=PartyIn)
    builder_unit: PartyIn = Field(default_factory=PartyIn)
    maintainer_unit: PartyIn = Field(default_factory=PartyIn)
    responsible_persons: list[PersonIn] = Field(default_factory=list, max_length=MAX_PERSONS)
    network: NetworkIn = Field(default_factory=NetworkIn)
    storage_description: LongText = ""
    design_scheme: DocumentIn | None = None
    acceptance_report: DocumentIn | None = None

    def domain(self) -> FilingProfile:
        def doc(d: DocumentIn | None) -> Document | None:
            return None if d is None else Document(d.sha256, d.filename)

        return FilingProfile(
            system_name=self.system_name,
            system_purpose=self.system_purpose,
            owner_unit=PartyUnit(self.owner_unit.name, self.owner_unit.contact),
            builder_unit=PartyUnit(self.builder_unit.name, self.builder_unit.contact),
            maintainer_unit=PartyUnit(self.maintainer_unit.name, self.maintainer_unit.contact),
            responsible_persons=tuple(
                ResponsiblePerson(p.name, p.phone, p.role) for p in self.responsible_persons
            ),
            network_kind=self.network.kind,
            network_description=self.network.description,
            storage_description=self.storage_description,
            design_scheme=doc(self.design_scheme),
            acceptance_report=doc(self.acceptance_report),
        )


class OpenIn(In):
    kind: FilingKind = Field(description="initial, or a change (relocation, removal) by hand")


class SubmitIn(In):
    channel: Channel = Channel.INTERNAL


class AcceptIn(In):
    filing_number: str | None = Field(
        default=None, max_length=MAX_FILING_NUMBER, description="the bureau's; else generated"
    )


class ReturnIn(In):
    reasons: list[Annotated[str, Field(max_length=MAX_LONG_TEXT)]] = Field(max_length=50)


# ---- unit side -------------------------------------------------------------------------------
@router.get("/sites/{site_id}/filing-profile")
def get_profile(site_id: Id, caller: Reader, c: ContainerDep) -> dict[str, Any]:
    return {"site_id": site_id, **c.filings.profile(caller.principal, site_id).as_dict()}


@router.put("/sites/{site_id}/filing-profile")
def put_profile(site_id: Id, body: ProfileIn, caller: Writer, c: ContainerDep) -> dict[str, Any]:
    """What the registry does not hold: units, persons, network, storage, documents (D2)."""
    profile = c.filings.put_profile(caller.principal, site_id, body.domain())
    return {"site_id": site_id, **profile.as_dict()}


@router.post(
    "/sites/{site_id}/filing-documents",
    status_code=201,
    openapi_extra=max_body(MAX_DOCUMENT_BYTES + FORM_OVERHEAD_BYTES),
)
async def upload_document(
    site_id: Id, caller: Writer, c: ContainerDep, file: Annotated[UploadFile, File()]
) -> dict[str, str]:
    """A design scheme or acceptance report; answered with its SHA-256 for the profile."""
    data = await file.read(MAX_DOCUMENT_BYTES + 1)
    if len(data) > MAX_DOCUMENT_BYTES:
        raise ValidationFailed(FieldError("file", f"at most {MAX_DOCUMENT_BYTES} bytes"))
    doc = c.filings.upload_document(caller.principal, site_id, data, file.filename or "")
    return doc.as_dict()


@router.get("/sites/{site_id}/filing-package/preview")
def preview(site_id: Id, caller: Reader, c: ContainerDep) -> dict[str, Any]:
    """The package as it would be submitted now, its missing parts, recipient and due date."""
    return c.filings.preview(caller.principal, site_id)


@router.get("/filing-cases")
def list_cases(
    caller: Reader,
    c: ContainerDep,
    site_id: Annotated[Id | None, Query()] = None,
    state: Annotated[list[CaseState] | None, Query(max_length=5)] = None,
) -> list[dict[str, Any]]:
    found = c.filings.cases(caller.principal, site_id, state)
    return c.filings.describe(found)


@router.get("/filing-cases/{case_id}")
def get_case(case_id: Id, caller: Reader, c: ContainerDep) -> dict[str, Any]:
    return c.filings.describe([c.filings.get(caller.principal, case_id)])[0]


@router.post("/sites/{site_id}/filing-cases", status_code=201)
def open_case(site_id: Id, body: OpenIn, caller: Writer, c: ContainerDep) -> dict[str, Any]:
    return c.filings.describe([c.filings.open_case(caller.principal, site_id, body.kind)])[0]


@router.post("/filing-cases/{case_id}/submit", status_code=201)
def submit(case_id: Id, body: SubmitIn, caller: Writer, c: ContainerDep) -> dict[str, Any]:
    """Assemble the package now and submit it; 201 with the case and its receipt."""
    case = c.filings.submit(caller.principal, case_id, body.channel)
    out = c.filings.describe([case])[0]
    return {**out, "receipt": out["latest_submission"]}


@router.get("/filing-cases/{case_id}/package.json")
def package_json(
    case_id: Id,
    caller: Reader,
    c: ContainerDep,
    submission: Annotated[Submission | None, Query()] = None,
) -> Response:
    body, _ = c.filings.package(caller.principal, case_id, submission)
    return Response(
        body,
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="filing-{case_id}.json"'},
    )


@router.get("/filing-cases/{case_id}/package.pdf")
def package_pdf(
    case_id: Id,
    caller: Reader,
    c: ContainerDep,
    submission: Annotated[Submission | None, Query()] = None,
) -> Response:
    _, pdf = c.filings.package(caller.principal, case_id, submission)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="filing-{case_id}.pdf"'},
    )


# ---- bureau side -----------------------------------------------------------------------------
@router.post("/filing-cases/{case_id}/accept")
def accept(case_id: Id, body: AcceptIn, caller: Supervisor, c: ContainerDep) -> dict[str, Any]:
    case = c.filings.accept(caller.principal, case_id, body.filing_number)
    return c.filings.describe([case])[0]


@router.post("/filing-cases/{case_id}/return")
def return_case(case_id: Id, body: ReturnIn, caller: Supervisor, c: ContainerDep) -> dict[str, Any]:
    case = c.filings.return_(caller.principal, case_id, body.reasons)
    return c.filings.describe([case])[0]
