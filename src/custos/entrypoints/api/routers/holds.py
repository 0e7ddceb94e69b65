"""Evidence holds (信息保全): create, list, extend, and release by two people."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, Field

from custos.domain.access import Permission
from custos.domain.holds import EvidenceHold, HoldKind, HoldState
from custos.entrypoints.api.bounds import Id
from custos.entrypoints.api.deps import Caller, ContainerDep, needs
from custos.entrypoints.api.schemas import In

router = APIRouter(prefix="/holds", tags=["holds"])
Keeper = Annotated[Caller, needs(Permission.HOLD_MANAGE)]


class HoldIn(In):
    kind: HoldKind = HoldKind.CASE
    case_number: str = Field(max_length=100)
    reason: str = Field(max_length=2000)
    camera_ids: list[Id] = Field(min_length=1, max_length=500)
    start: AwareDatetime
    end: AwareDatetime
    expires_at: AwareDatetime | None = Field(
        default=None, description="absent: indefinite (important_footage: 365 days, set by Custos)"
    )


class ExtendIn(In):
    expires_at: AwareDatetime | None = Field(description="null: make the hold indefinite")


class ReleaseIn(In):
    reason: str = Field(max_length=2000)


class HoldOut(BaseModel):
    id: int
    kind: HoldKind
    state: HoldState
    case_number: str
    reason: str
    camera_ids: list[int]
    start: datetime
    end: datetime
    expires_at: datetime | None
    created_by: int
    created_at: datetime
    release_requested_by: int | None
    release_requested_at: datetime | None
    release_reason: str
    released_by: int | None
    released_at: datetime | None
    extensions: list[dict[str, Any]]

    @classmethod
    def of(cls, h: EvidenceHold) -> HoldOut:
        return cls(
            id=h.id or 0,
            kind=h.kind,
            state=h.state,
            case_number=h.case_number,
            reason=h.reason,
            camera_ids=list(h.scope.camera_ids),
            start=h.scope.start,
            end=h.scope.end,
            expires_at=h.expires_at,
            created_by=h.created_by,
            created_at=h.created_at,
            release_requested_by=h.release_requested_by,
            release_requested_at=h.release_requested_at,
            release_reason=h.release_reason,
            released_by=h.released_by,
            released_at=h.released_at,
            extensions=[e.__dict__ for e in h.extensions],
        )


@router.post("", response_model=HoldOut, status_code=201)
def create_hold(body: HoldIn, caller: Keeper, c: ContainerDep) -> HoldOut:
    """Hold cameras × range past every retention period until released (or expired)."""
    h = c.holds.create(
        caller.principal,
        body.kind,
        body.case_number,
        body.reason,
        body.camera_ids,
        body.start,
        body.end,
        body.expires_at,
    )
    return HoldOut.of(h)


@router.get("", response_model=list[HoldOut])
def list_holds(
    caller: Keeper, c: ContainerDep, camera_id: Annotated[Id | None, Query()] = None
) -> list[HoldOut]:
    return [HoldOut.of(h) for h in c.holds.find(caller.principal, camera_id)]


@router.get("/{hold_id}", response_model=HoldOut)
def get_hold(hold_id: Id, caller: Keeper, c: ContainerDep) -> HoldOut:
    return HoldOut.of(c.holds.get(caller.principal, hold_id))


@router.post("/{hold_id}/extend", response_model=HoldOut)
def extend_hold(hold_id: Id, body: ExtendIn, caller: Keeper, c: ContainerDep) -> HoldOut:
    return HoldOut.of(c.holds.extend(caller.principal, hold_id, body.expires_at))


@router.post("/{hold_id}/release-request", response_model=HoldOut)
def request_release(hold_id: Id, body: ReleaseIn, caller: Keeper, c: ContainerDep) -> HoldOut:
    """Ask for the hold to be released; a second person must approve."""
    return HoldOut.of(c.holds.request_release(caller.principal, hold_id, body.reason))


@router.post("/{hold_id}/release", response_model=HoldOut)
def approve_release(hold_id: Id, caller: Keeper, c: ContainerDep) -> HoldOut:
    """Approve a requested release — refused to the person who asked for it."""
    return HoldOut.of(c.holds.approve_release(caller.principal, hold_id))


@router.post("/{hold_id}/release-reject", response_model=HoldOut)
def reject_release(hold_id: Id, caller: Keeper, c: ContainerDep) -> HoldOut:
    return HoldOut.of(c.holds.reject_release(caller.principal, hold_id))
