"""Requests by authorities to view (查阅), copy (复制) or retrieve (调取) footage.

A request names what (action, cameras, time range), who (the requesting organ, its handlers and
their credentials), why (legal basis, purpose) and on whose authority (the approval document).
Its *canonical hash* covers exactly those facts; every approval signs it, so a request changed
after approval no longer matches its signatures and its grant is void
(docs/design/approvals.md).

States::

    draft ──submit──▶ submitted ──approve (all titles)──▶ approved ──execute──▶ executed
      │                 │  └──reject──▶ rejected             │  └──(past expiry)──▶ expired
      └──cancel──▶ cancelled ◀──cancel──┘                     └──cancel──▶ cancelled
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from custos.domain.audit_chain import canonical_json, canonical_time
from custos.domain.errors import FieldError, InvalidTransition, ValidationFailed
from custos.domain.kinds import AccessAction
from custos.domain.masking import MaskMode
from custos.domain.rules.terms import ApproverRole, Credential, MaskTarget, RequesterKind


class RequestState(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXECUTED = "executed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


#: States whose footage may not be deleted: a request in flight freezes its scope.
FREEZING_STATES = frozenset({RequestState.SUBMITTED, RequestState.APPROVED})
FINAL_STATES = frozenset(
    {RequestState.REJECTED, RequestState.EXECUTED, RequestState.EXPIRED, RequestState.CANCELLED}
)
_NEXT: dict[RequestState, frozenset[RequestState]] = {
    RequestState.DRAFT: frozenset({RequestState.SUBMITTED, RequestState.CANCELLED}),
    RequestState.SUBMITTED: frozenset(
        {RequestState.APPROVED, RequestState.REJECTED, RequestState.CANCELLED}
    ),
    RequestState.APPROVED: frozenset(
        {RequestState.EXECUTED, RequestState.EXPIRED, RequestState.CANCELLED}
    ),
}


class EmergencyKind(enum.StrEnum):
    """Public emergencies that open emergency access (Beijing art. 16, Liaoning art. 17 para 2)."""

    SOCIAL_ORDER = "social_order"  # 社会安全 (Beijing art. 16)
    NATURAL_DISASTER = "natural_disaster"
    ACCIDENT = "accident"
    PUBLIC_HEALTH = "public_health"


@dataclass(frozen=True)
class ShownCredential:
    """One credential a handler shows: its kind and its number."""

    type: Credential
    number: str


@dataclass(frozen=True, init=False)
class Handler:
    """An officer who handles the request in person, and the credentials they show.

    Several rules want more than one paper from each handler (Beijing art. 17(2): work ID *and*
    certifying document; Chongqing art. 25 ¶2(2), Xi'an art. 27 ¶2(2): work ID *and* the unit's
    certifying document), so a handler carries a tuple of :class:`ShownCredential`.
    """

    name: str
    credentials: tuple[ShownCredential, ...]
    user_id: int | None

    def __init__(
        self,
        name: str,
        credentials: Credential | tuple[ShownCredential, ...],
        number: str = "",
        user_id: int | None = None,
    ) -> None:
        shown = (
            (ShownCredential(credentials, number),)
            if isinstance(credentials, Credential)
            else tuple(credentials)
        )
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "credentials", shown)
        object.__setattr__(self, "user_id", user_id)

    @property
    def credential_types(self) -> frozenset[Credential]:
        return frozenset(c.type for c in self.credentials)

    def credentials_text(self) -> str:
        return "; ".join(f"{c.type.value} {c.number}" for c in self.credentials)

    def as_dict(self) -> dict[str, Any]:
        """The canonical form. One credential keeps the original shape (so that requests
        approved before handlers could show several keep their hash); several are a list."""
        if len(self.credentials) == 1:
            only = self.credentials[0]
            return {
                "name": self.name,
                "credential_type": only.type.value,
                "credential_number": only.number,
                "user_id": self.user_id,
            }
        return {
            "name": self.name,
            "credentials": [{"type": c.type.value, "number": c.number} for c in self.credentials],
            "user_id": self.user_id,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Handler:
        if "credentials" in d:
            shown = tuple(
                ShownCredential(Credential(c["type"]), c["number"]) for c in d["credentials"]
            )
            return cls(d["name"], shown, user_id=d["user_id"])
        return cls(
            d["name"], Credential(d["credential_type"]), d["credential_number"], d["user_id"]
        )


@dataclass(frozen=True)
class ApprovalDocument:
    """The approval document (批准文件): its particulars and the uploaded file's SHA-256."""

    number: str
    issuer: str
    issued_on: date
    sha256: str
    filename: str
    size: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "issuer": self.issuer,
            "issued_on": self.issued_on.isoformat(),
            "sha256": self.sha256,
            "filename": self.filename,
            "size": self.size,
        }


class Relation(enum.StrEnum):
    """Who may view under Decree 799 art. 21: 本人、近亲属或者其他负有监护、看护、代管责任的人."""

    SELF = "self"  # 本人
    CLOSE_RELATIVE = "close_relative"  # 近亲属
    GUARDIAN = "guardian"  # 负有监护、看护、代管责任的人


@dataclass(frozen=True)
class UnitConsent:
    """The management unit's consent (经公共安全视频系统管理单位同意, Decree 799 art. 21) to a data
    subject's or relative's view: which unit, who at it consented, when, and to whom."""

    unit_id: int
    given_by: str
    given_on: date
    relation: Relation
    reference: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "unit_id": self.unit_id,
            "given_by": self.given_by,
            "given_on": self.given_on.isoformat(),
            "relation": self.relation.value,
            "reference": self.reference,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> UnitConsent:
        return cls(
            d["unit_id"],
            d["given_by"],
            date.fromisoformat(d["given_on"]),
            Relation(d["relation"]),
            d["reference"],
        )


@dataclass(frozen=True)
class PublicationAsk:
    """A copy or retrieval asked for public dissemination (公开传播): what the organ says will
    be masked and how. Kept in the request's ``extra`` (docs/design/evidence.md, "An access
    request for publication"); the packs decide whether ``mask`` is enough."""

    mask: frozenset[MaskTarget]
    mode: MaskMode = MaskMode.PIXELATE

    def as_dict(self) -> dict[str, Any]:
        return {"mask": sorted(t.value for t in self.mask), "mode": self.mode.value}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PublicationAsk:
        return cls(frozenset(MaskTarget(t) for t in d["mask"]), MaskMode(d["mode"]))


@dataclass(frozen=True)
class FootageScope:
    """Cameras × one half-open time range [start, end)."""

    camera_ids: tuple[int, ...]
    start: datetime
    end: datetime

    def covers(self, camera_id: int, start: datetime, end: datetime) -> bool:
        return camera_id in self.camera_ids and self.start <= start and end <= self.end

    def overlaps(self, camera_id: int, start: datetime, end: datetime) -> bool:
        return camera_id in self.camera_ids and start < self.end and self.start < end

    def as_dict(self) -> dict[str, Any]:
        return {
            "camera_ids": list(self.camera_ids),
            "start": canonical_time(self.start),
            "end": canonical_time(self.end),
        }


def check_scope(scope: FootageScope, prefix: str = "") -> list[FieldError]:
    errors: list[FieldError] = []
    if not scope.camera_ids:
        errors.append(FieldError(f"{prefix}camera_ids", "name at least one camera"))
    if len(set(scope.camera_ids)) != len(scope.camera_ids):
        errors.append(FieldError(f"{prefix}camera_ids", "a camera is named twice"))
    if scope.end <= scope.start:
        errors.append(FieldError(f"{prefix}end", "must be after start"))
    return errors


@dataclass(frozen=True)
class Approval:
    """One approver's signed decision over the request's canonical hash."""

    approver_id: int
    approver_username: str
    title: ApproverRole | None
    request_hash: str
    at: datetime
    key_id: str
    signature: str  # hex Ed25519 signature over :func:`approval_statement`

    def as_dict(self) -> dict[str, Any]:
        return {
            "approver_id": self.approver_id,
            "approver_username": self.approver_username,
            "title": self.title.value if self.title else None,
            "request_hash": self.request_hash,
            "at": canonical_time(self.at),
            "key_id": self.key_id,
            "signature": self.signature,
        }


@dataclass
class AccessRequest:
    id: int | None
    action: AccessAction
    scope: FootageScope
    requester_kind: RequesterKind
    organ: str  # the requesting organ, e.g. 西安市公安局雁塔分局
    organ_unit: str  # its department, e.g. 刑侦大队
    legal_basis: str
    purpose: str
    handlers: tuple[Handler, ...]
    document: ApprovalDocument | None
    emergency: EmergencyKind | None
    expires_at: datetime
    requested_by: int
    created_at: datetime
    state: RequestState = RequestState.DRAFT
    # Set at submission, from the rule packs of the cameras' divisions:
    required_titles: tuple[ApproverRole, ...] = ()
    citations: tuple[str, ...] = ()
    submitted_at: datetime | None = None
    approvals: tuple[Approval, ...] = ()
    decided_at: datetime | None = None
    decided_by: int | None = None
    decision_note: str = ""
    executed_at: datetime | None = None
    executed_by: int | None = None
    output_sha256: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    consents: tuple[UnitConsent, ...] = ()  # a data subject's request (Decree 799 art. 21)

    # ---- the canonical content -----------------------------------------------------------
    def content(self) -> dict[str, Any]:
        """The facts an approval vouches for; nothing about state or decisions. The consents
        and a publication's ask appear only when given, so requests filed before they existed
        keep their hash."""
        facts = {
            "id": self.id,
            "action": self.action.value,
            "scope": self.scope.as_dict(),
            "requester_kind": self.requester_kind.value,
            "organ": self.organ,
            "organ_unit": self.organ_unit,
            "legal_basis": self.legal_basis,
            "purpose": self.purpose,
            "handlers": [h.as_dict() for h in self.handlers],
            "document": self.document.as_dict() if self.document else None,
            "emergency": self.emergency.value if self.emergency else None,
            "expires_at": canonical_time(self.expires_at),
            "requested_by": self.requested_by,
            "required_titles": [t.value for t in self.required_titles],
        }
        if self.consents:
            facts["consents"] = [c.as_dict() for c in self.consents]
        if self.extra.get("publication"):
            facts["publication"] = self.extra["publication"]
        return facts

    @property
    def publication(self) -> PublicationAsk | None:
        """The ask for public dissemination, if this request is one."""
        raw = self.extra.get("publication")
        return PublicationAsk.from_dict(raw) if raw else None

    @property
    def publication_case_id(self) -> int | None:
        """The publication case opened when the grant was executed."""
        found = self.extra.get("publication_case_id")
        return int(found) if found is not None else None

    @property
    def publication_case_ids(self) -> list[int]:
        """Every publication case opened when the grant was executed, one per camera video
        (a request executed before several cameras were allowed: its one case)."""
        found = self.extra.get("publication_case_ids")
        if found is not None:
            return [int(i) for i in found]
        one = self.publication_case_id
        return [] if one is None else [one]

    def extra_with(self, ask: PublicationAsk | None) -> dict[str, Any]:
        """``extra`` with the ask set (or removed, for None)."""
        extra = {k: v for k, v in self.extra.items() if k != "publication"}
        if ask is not None:
            extra["publication"] = ask.as_dict()
        return extra

    def canonical_hash(self) -> str:
        return hashlib.sha256(canonical_json(self.content()).encode()).hexdigest()

    # ---- transitions ---------------------------------------------------------------------
    def move(self, to: RequestState) -> None:
        if to not in _NEXT.get(self.state, frozenset()):
            raise InvalidTransition(
                self.state.value,
                to.value,
                field="state",
                reason=f"a {self.state.value} request cannot become {to.value}",
            )
        self.state = to

    def is_expired(self, now: datetime) -> bool:
        return now >= self.expires_at

    def titles_still_needed(self) -> set[ApproverRole]:
        have = {a.title for a in self.approvals if a.title is not None}
        return set(self.required_titles) - have

    def fully_approved(self) -> bool:
        return bool(self.approvals) and not self.titles_still_needed()

    def handler_names(self) -> set[str]:
        return {_normal(h.name) for h in self.handlers}

    def handler_user_ids(self) -> set[int]:
        return {h.user_id for h in self.handlers if h.user_id is not None}

    def editable_copy(self, **changes: Any) -> AccessRequest:
        if self.state is not RequestState.DRAFT:
            raise ValidationFailed(
                FieldError("state", f"only a draft can be edited; this request is {self.state}")
            )
        return replace(self, **changes)


def approval_statement(request_hash: str, approver_id: int, title: str | None, at: str) -> bytes:
    """The bytes an approval signs: the request's hash and who approved it, when, as what."""
    return canonical_json(
        {
            "kind": "custos-approval/1",
            "request_hash": request_hash,
            "approver_id": approver_id,
            "title": title,
            "at": at,
        }
    ).encode()


def _normal(name: str) -> str:
    return "".join(name.split()).casefold()


def same_person(name_a: str, name_b: str) -> bool:
    return bool(_normal(name_a)) and _normal(name_a) == _normal(name_b)
