"""Access requests by authorities: 查阅 view, 复制 copy, 调取 retrieve."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import FileResponse
from pydantic import AwareDatetime, BaseModel, Field, model_validator

from custos.domain.access import Permission
from custos.domain.access_requests import (
    AccessRequest,
    EmergencyKind,
    FootageScope,
    Handler,
    PublicationAsk,
    Relation,
    RequestState,
    ShownCredential,
    UnitConsent,
)
from custos.domain.errors import FieldError, ValidationFailed
from custos.domain.kinds import AccessAction
from custos.domain.masking import MaskMode
from custos.domain.publication import PublicationCase
from custos.domain.rules.terms import Credential, MaskTarget, RequesterKind
from custos.entrypoints.api.body_limit import max_body
from custos.entrypoints.api.bounds import Id
from custos.entrypoints.api.deps import Caller, ContainerDep, needs
from custos.entrypoints.api.language import Lang, sheet_language
from custos.entrypoints.api.schemas import In
from custos.services.access_requests import DocumentUpload

router = APIRouter(prefix="/requests", tags=["access requests"])
Filer = Annotated[Caller, needs(Permission.REQUEST_FILE)]
Approver = Annotated[Caller, needs(Permission.APPROVE)]
Signed = Annotated[Caller, needs(Permission.SELF)]
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
FORM_OVERHEAD_BYTES = 64 * 1024  # the form's other fields and multipart framing


class ScopeIn(In):
    camera_ids: list[Id] = Field(min_length=1, max_length=200)
    start: AwareDatetime
    end: AwareDatetime

    def domain(self) -> FootageScope:
        return FootageScope(tuple(self.camera_ids), self.start, self.end)


class CredentialIn(In):
    type: Credential
    number: str = Field(max_length=64)


class HandlerIn(In):
    """A handler and the papers they show: ``credentials`` (every one the rules name, e.g. a
    work ID *and* a certifying document in Beijing), or the older single
    ``credential_type``/``credential_number`` pair."""

    name: str = Field(max_length=100)
    credentials: list[CredentialIn] | None = Field(default=None, min_length=1, max_length=5)
    credential_type: Credential | None = None
    credential_number: str | None = Field(default=None, max_length=64)
    user_id: int | None = Field(default=None, ge=1, le=2**31 - 1)

    @model_validator(mode="after")
    def _one_form(self) -> HandlerIn:
        single = self.credential_type is not None or self.credential_number is not None
        if self.credentials is not None and single:
            raise ValueError("give credentials, or credential_type and credential_number, not both")
        if self.credentials is None and (
            self.credential_type is None or self.credential_number is None
        ):
            raise ValueError("credentials: each handler shows at least one credential")
        return self

    def domain(self) -> Handler:
        if self.credentials is not None:
            shown = tuple(ShownCredential(c.type, c.number.strip()) for c in self.credentials)
            return Handler(self.name.strip(), shown, user_id=self.user_id)
        assert self.credential_type is not None
        assert self.credential_number is not None
        return Handler(
            self.name.strip(), self.credential_type, self.credential_number.strip(), self.user_id
        )


class ConsentIn(In):
    """The management unit's consent to a data subject's or relative's view (Decree 799
    art. 21): the unit, who there consented, on which day, and the requester's relation."""

    unit_id: int = Field(ge=1, le=2**31 - 1)
    given_by: str = Field(min_length=1, max_length=100)
    given_on: date
    relation: Relation
    reference: str = Field(default="", max_length=200)

    def domain(self) -> UnitConsent:
        return UnitConsent(
            self.unit_id, self.given_by.strip(), self.given_on, self.relation, self.reference
        )


class PublicationAskIn(In):
    """Asked for public dissemination (公开传播): what the copy will have masked, and how. The
    packs decide what is enough (Decree 799 art. 22, Xi'an art. 28)."""

    mask: list[MaskTarget] = Field(max_length=8, description="what the copy will have masked")
    mode: MaskMode = MaskMode.PIXELATE

    def domain(self) -> PublicationAsk:
        return PublicationAsk(frozenset(self.mask), self.mode)


class RequestIn(In):
    action: AccessAction
    scope: ScopeIn
    requester_kind: RequesterKind
    organ: str = Field(max_length=200)
    organ_unit: str = Field(default="", max_length=200)
    legal_basis: str = Field(max_length=2000)
    purpose: str = Field(max_length=2000)
    handlers: list[HandlerIn] = Field(default_factory=list, max_length=20)
    consents: list[ConsentIn] = Field(default_factory=list, max_length=20)
    emergency: EmergencyKind | None = None
    expires_at: AwareDatetime
    publication: PublicationAskIn | None = None  # a copy or retrieval for publication


class RequestPatch(In):
    action: AccessAction | None = None
    scope: ScopeIn | None = None
    requester_kind: RequesterKind | None = None
    organ: str | None = Field(default=None, max_length=200)
    organ_unit: str | None = Field(default=None, max_length=200)
    legal_basis: str | None = Field(default=None, max_length=2000)
    purpose: str | None = Field(default=None, max_length=2000)
    handlers: list[HandlerIn] | None = Field(default=None, max_length=20)
    consents: list[ConsentIn] | None = Field(default=None, max_length=20)
    emergency: EmergencyKind | None = None
    expires_at: AwareDatetime | None = None
    publication: PublicationAskIn | None = None  # null takes the ask away


class DecisionIn(In):
    note: str = Field(default="", max_length=2000)


class ApprovalOut(BaseModel):
    approver_id: int
    approver_username: str
    title: str | None
    request_hash: str
    at: datetime
    key_id: str
    signature: str


class DocumentOut(BaseModel):
    number: str
    issuer: str
    issued_on: date
    sha256: str
    filename: str
    size: int


class RequestOut(BaseModel):
    id: int
    state: RequestState
    action: AccessAction
    scope: dict[str, Any]
    requester_kind: RequesterKind
    organ: str
    organ_unit: str
    legal_basis: str
    purpose: str
    handlers: list[dict[str, Any]]
    consents: list[dict[str, Any]]
    document: DocumentOut | None
    emergency: EmergencyKind | None
    expires_at: datetime
    requested_by: int
    created_at: datetime
    submitted_at: datetime | None
    required_titles: list[str]
    titles_still_needed: list[str]
    citations: list[str]
    approvals: list[ApprovalOut]
    decided_at: datetime | None
    decision_note: str
    executed_at: datetime | None
    output_sha256: str | None
    request_hash: str
    publication: dict[str, Any] | None = None  # the ask: {mask, mode}
    publication_case: dict[str, Any] | None = None  # {id, state, package_sha256, job}: the first
    publication_cases: list[dict[str, Any]] = Field(default_factory=list)  # one per camera video

    @classmethod
    def of(cls, r: AccessRequest, cases: Sequence[PublicationCase] = ()) -> RequestOut:
        return cls(
            id=r.id or 0,
            state=r.state,
            action=r.action,
            scope={
                "camera_ids": list(r.scope.camera_ids),
                "start": r.scope.start,
                "end": r.scope.end,
            },
            requester_kind=r.requester_kind,
            organ=r.organ,
            organ_unit=r.organ_unit,
            legal_basis=r.legal_basis,
            purpose=r.purpose,
            handlers=[_handler_out(h) for h in r.handlers],
            consents=[c.as_dict() for c in r.consents],
            document=DocumentOut(**r.document.__dict__) if r.document else None,
            emergency=r.emergency,
            expires_at=r.expires_at,
            requested_by=r.requested_by,
            created_at=r.created_at,
            submitted_at=r.submitted_at,
            required_titles=[t.value for t in r.required_titles],
            titles_still_needed=sorted(t.value for t in r.titles_still_needed()),
            citations=list(r.citations),
            approvals=[ApprovalOut(**{**a.__dict__, "title": a.title}) for a in r.approvals],
            decided_at=r.decided_at,
            decision_note=r.decision_note,
            executed_at=r.executed_at,
            output_sha256=r.output_sha256,
            request_hash=r.canonical_hash(),
            publication=r.publication.as_dict() if r.publication else None,
            publication_case=_case_out(r, cases[0], len(cases)) if cases else None,
            publication_cases=[_case_out(r, case, len(cases)) for case in cases],
        )


def _case_out(r: AccessRequest, case: PublicationCase, of: int) -> dict[str, Any]:
    """Where one of the request's publications stands: its case, and its masked copy once
    released (``?case_id=`` where the request has several)."""
    file = f"/api/v1/requests/{r.id}/publication/file"
    return {
        "id": case.id,
        "state": case.state.value,
        "member": case.member,
        "package_sha256": case.package_sha256,
        "job": case.job.as_dict() if case.job else None,
        "file": None
        if case.package_sha256 is None
        else file
        if of == 1
        else f"{file}?case_id={case.id}",
    }


def _handler_out(h: Handler) -> dict[str, Any]:
    """Every credential as a list, and the first one in the older single-credential fields."""
    first = h.credentials[0] if h.credentials else None
    return {
        "name": h.name,
        "credentials": [{"type": c.type.value, "number": c.number} for c in h.credentials],
        "credential_type": first.type.value if first else None,
        "credential_number": first.number if first else None,
        "user_id": h.user_id,
    }


class ExecutionOut(BaseModel):
    kind: str
    session_id: int | None
    export_id: int | None
    sha256: str | None
    expires_at: datetime | None
    publication_case_id: int | None = None  # a request for publication: its case, detecting
    publication_case_ids: list[int] = Field(default_factory=list)  # one per camera video


@router.post("", response_model=RequestOut, status_code=201)
def create_request(body: RequestIn, caller: Filer, c: ContainerDep) -> RequestOut:
    """File a draft request. Every camera must be one the requester can see."""
    draft = AccessRequest(
        id=None,
        action=body.action,
        scope=body.scope.domain(),
        requester_kind=body.requester_kind,
        organ=body.organ.strip(),
        organ_unit=body.organ_unit.strip(),
        legal_basis=body.legal_basis.strip(),
        purpose=body.purpose.strip(),
        handlers=tuple(h.domain() for h in body.handlers),
        consents=tuple(c.domain() for c in body.consents),
        document=None,
        emergency=body.emergency,
        expires_at=body.expires_at,
        requested_by=caller.principal.user_id or 0,
        created_at=c.clock.now(),
        extra={"publication": body.publication.domain().as_dict()} if body.publication else {},
    )
    return RequestOut.of(c.requests.create(caller.principal, draft))


@router.patch("/{request_id}", response_model=RequestOut)
def update_request(
    request_id: Id, body: RequestPatch, caller: Filer, c: ContainerDep
) -> RequestOut:
    """Change a draft (submitted requests are fixed: approvals sign their content)."""
    changes: dict[str, object] = {}
    for name in body.model_fields_set:
        value = getattr(body, name)
        if name == "scope" and value is not None:
            value = body.scope.domain() if body.scope else None
        elif name == "handlers" and value is not None:
            value = tuple(h.domain() for h in body.handlers or [])
        elif name == "consents":
            value = tuple(c.domain() for c in body.consents or [])
        elif name == "publication":
            value = body.publication.domain() if body.publication else None
        changes[name] = value
    return RequestOut.of(c.requests.update(caller.principal, request_id, changes))


@router.post(
    "/{request_id}/document",
    response_model=RequestOut,
    openapi_extra=max_body(MAX_DOCUMENT_BYTES + FORM_OVERHEAD_BYTES),
)
async def attach_document(
    request_id: Id,
    caller: Filer,
    c: ContainerDep,
    number: Annotated[str, Form(max_length=100)],
    issuer: Annotated[str, Form(max_length=200)],
    issued_on: Annotated[str, Form(max_length=10)],
    file: Annotated[UploadFile, File()],
) -> RequestOut:
    """Attach the approval document (批准文件): number, issuer, date and the scanned file."""
    data = await file.read(MAX_DOCUMENT_BYTES + 1)
    if len(data) > MAX_DOCUMENT_BYTES:
        raise ValidationFailed(FieldError("file", f"at most {MAX_DOCUMENT_BYTES} bytes"))
    upload = DocumentUpload(number, issuer, issued_on, file.filename or "document", data)
    return RequestOut.of(c.requests.attach_document(caller.principal, request_id, upload))


@router.post("/{request_id}/submit", response_model=RequestOut)
def submit_request(request_id: Id, caller: Filer, c: ContainerDep) -> RequestOut:
    """Check the request against the rule packs of its cameras and submit it for approval."""
    return RequestOut.of(c.requests.submit(caller.principal, request_id))


@router.post("/{request_id}/cancel", response_model=RequestOut)
def cancel_request(request_id: Id, caller: Filer, c: ContainerDep) -> RequestOut:
    return RequestOut.of(c.requests.cancel(caller.principal, request_id))


@router.post("/{request_id}/approve", response_model=RequestOut)
def approve_request(
    request_id: Id, body: DecisionIn, caller: Approver, c: ContainerDep
) -> RequestOut:
    """Sign the request's canonical hash. Refused to its requester, its handlers, and approvers
    without the title the packs name."""
    return RequestOut.of(c.requests.approve(caller.principal, request_id, body.note))


@router.post("/{request_id}/reject", response_model=RequestOut)
def reject_request(
    request_id: Id, body: DecisionIn, caller: Approver, c: ContainerDep
) -> RequestOut:
    return RequestOut.of(c.requests.reject(caller.principal, request_id, body.note))


@router.post("/{request_id}/execute", response_model=ExecutionOut)
def execute_request(request_id: Id, caller: Filer, c: ContainerDep, lang: Lang) -> ExecutionOut:
    """Use the grant, once: a view session for 查阅, a package with its SHA-256 otherwise; a
    request for publication also opens its publication case (the organ gets the masked copy)."""
    o = c.requests.execute(caller.principal, request_id, sheet_language(lang))
    ids = [k.id or 0 for k in c.requests.publication_cases(caller.principal, request_id)]
    return ExecutionOut(
        kind=o.kind,
        session_id=o.session_id,
        export_id=o.export_id,
        sha256=o.sha256,
        expires_at=o.expires_at,
        publication_case_id=ids[0] if ids else None,
        publication_case_ids=ids,
    )


@router.get("", response_model=list[RequestOut])
def list_requests(
    caller: Signed,
    c: ContainerDep,
    state: Annotated[list[RequestState] | None, Query()] = None,
    awaiting_me: bool = False,
) -> list[RequestOut]:
    """Requests I filed, or (with request.read) all I can see; ``awaiting_me`` for approvers."""
    if awaiting_me:
        return [RequestOut.of(r) for r in c.requests.awaiting(caller.principal)]
    found = c.requests.find(caller.principal, set(state) if state else None)
    return [RequestOut.of(r) for r in found]


@router.get("/{request_id}", response_model=RequestOut)
def get_request(request_id: Id, caller: Signed, c: ContainerDep) -> RequestOut:
    """The request; one for publication also shows its case, and its masked copy once
    released."""
    req = c.requests.get(caller.principal, request_id)
    return RequestOut.of(req, c.requests.publication_cases(caller.principal, request_id))


@router.get("/{request_id}/publication/file")
def publication_file(
    request_id: Id,
    caller: Filer,
    c: ContainerDep,
    case_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> FileResponse:
    """The masked, reviewed, signed copy of a request for publication, once released (its
    requester or handlers): the organ's copy in place of the original; ``case_id`` names which
    where the request has several cameras (one case each)."""
    case, path = c.requests.publication_package(caller.principal, request_id, case_id)
    return FileResponse(
        path,
        media_type="application/zip",
        filename=path.name,
        headers={"X-Content-SHA256": case.package_sha256 or ""},
    )


@router.get("/{request_id}/verification")
def verify_request(request_id: Id, caller: Signed, c: ContainerDep) -> dict[str, object]:
    """Do the approvals still match the request's content and verify?"""
    problems = c.requests.verify_approvals(caller.principal, request_id)
    return {"valid": not problems, "problems": problems}
