"""The unit's emergency plan on file (突发事件处置预案) and its drills."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import Field

from custos.domain.access import Permission
from custos.entrypoints.api.bounds import Day, Id
from custos.entrypoints.api.deps import Caller, ContainerDep, needs
from custos.entrypoints.api.schemas import In
from custos.services.emergency import DrillInput, PlanInput

router = APIRouter(tags=["emergency"])
Reader = Annotated[Caller, needs(Permission.DUTY_READ)]
Manager = Annotated[Caller, needs(Permission.DUTY_MANAGE)]


class PlanIn(In):
    title: str = Field(min_length=1, max_length=200)
    version: str = Field(min_length=1, max_length=50)
    approved_on: Day
    approved_by: str = Field(min_length=1, max_length=100)
    document_sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$")


class DrillIn(In):
    held_on: Day
    scenario: str = Field(min_length=1, max_length=1000)
    participant_ids: list[Id] = Field(min_length=1, max_length=500)
    findings: str = Field(default="", max_length=2000)


@router.post("/units/{unit_id}/emergency-plans", status_code=201)
def record_plan(unit_id: Id, body: PlanIn, caller: Manager, c: ContainerDep) -> dict[str, Any]:
    data = PlanInput(
        body.title, body.version, body.approved_on, body.approved_by, body.document_sha256
    )
    return c.emergency.record_plan(caller.principal, unit_id, data).as_dict()


@router.get("/units/{unit_id}/emergency-plans")
def list_plans(unit_id: Id, caller: Reader, c: ContainerDep) -> list[dict[str, Any]]:
    return [p.as_dict() for p in c.emergency.plans(caller.principal, unit_id)]


@router.post("/units/{unit_id}/drills", status_code=201)
def record_drill(unit_id: Id, body: DrillIn, caller: Manager, c: ContainerDep) -> dict[str, Any]:
    data = DrillInput(body.held_on, body.scenario, tuple(body.participant_ids), body.findings)
    return c.emergency.record_drill(caller.principal, unit_id, data).as_dict()


@router.get("/units/{unit_id}/drills")
def list_drills(unit_id: Id, caller: Reader, c: ContainerDep) -> list[dict[str, Any]]:
    return [d.as_dict() for d in c.emergency.drills(caller.principal, unit_id)]
