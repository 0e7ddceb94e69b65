"""The staff archive (监看人员档案) and trainings of a unit's monitoring and O&M staff.

The ID-card number goes in once and is never returned: answers carry its masked form."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field

from custos.domain.access import Permission
from custos.domain.rules.terms import TrainingContent
from custos.domain.staff import MAX_TRAINING_HOURS, StaffRole
from custos.entrypoints.api.bounds import Day, Id
from custos.entrypoints.api.deps import Caller, ContainerDep, needs
from custos.entrypoints.api.schemas import In
from custos.services.staff import MemberInput, TrainingInput

router = APIRouter(tags=["staff"])
Reader = Annotated[Caller, needs(Permission.DUTY_READ)]
Manager = Annotated[Caller, needs(Permission.DUTY_MANAGE)]


class MemberIn(In):
    name: str = Field(min_length=1, max_length=100)
    role: StaffRole
    id_number: str = Field(
        min_length=18, max_length=18, description="居民身份证号码; stored encrypted"
    )
    hired_on: Day
    left_on: Day | None = None
    contractor_id: Id | None = Field(default=None, description="employer, when not the unit")
    user_id: Id | None = Field(default=None, description="the person's Custos user, if any")


class LeftIn(In):
    left_on: Day | None


class TrainingIn(In):
    held_on: Day
    contents: list[TrainingContent] = Field(min_length=1, max_length=4)
    trainer: str = Field(min_length=1, max_length=100)
    hours: int = Field(ge=1, le=MAX_TRAINING_HOURS)
    attendee_ids: list[Id] = Field(min_length=1, max_length=500)


@router.post("/units/{unit_id}/staff", status_code=201)
def add_member(unit_id: Id, body: MemberIn, caller: Manager, c: ContainerDep) -> dict[str, Any]:
    data = MemberInput(
        body.name, body.role, body.id_number, body.hired_on, body.left_on,
        body.contractor_id, body.user_id,
    )  # fmt: skip
    return c.staff.add_member(caller.principal, unit_id, data).as_dict()


@router.get("/units/{unit_id}/staff")
def list_members(unit_id: Id, caller: Reader, c: ContainerDep) -> list[dict[str, Any]]:
    return [m.as_dict() for m in c.staff.members(caller.principal, unit_id)]


@router.post("/staff/{staff_id}/left")
def set_left(staff_id: Id, body: LeftIn, caller: Manager, c: ContainerDep) -> dict[str, Any]:
    return c.staff.set_left(caller.principal, staff_id, body.left_on).as_dict()


@router.get("/staff/{staff_id}/training-status")
def training_status(
    staff_id: Id, caller: Reader, c: ContainerDep, site_id: Annotated[Id, Query()]
) -> dict[str, Any]:
    """Whether the person counts as trained today under the site's rule packs."""
    return c.staff.training_status(caller.principal, staff_id, site_id).as_dict()


@router.post("/units/{unit_id}/trainings", status_code=201)
def record_training(
    unit_id: Id, body: TrainingIn, caller: Manager, c: ContainerDep
) -> dict[str, Any]:
    data = TrainingInput(
        body.held_on, frozenset(body.contents), body.trainer, body.hours,
        tuple(body.attendee_ids),
    )  # fmt: skip
    return c.staff.record_training(caller.principal, unit_id, data).as_dict()


@router.get("/units/{unit_id}/trainings")
def list_trainings(unit_id: Id, caller: Reader, c: ContainerDep) -> list[dict[str, Any]]:
    return [t.as_dict() for t in c.staff.trainings(caller.principal, unit_id)]
