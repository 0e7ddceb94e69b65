"""Inspection and maintenance: schedules and inspections, repair work orders, contractors and
their entrustment agreements, periodic assessments."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import Field

from custos.domain.access import Permission
from custos.domain.maintenance import MAX_INTERVAL_DAYS, AssessmentConclusion, InspectionResult
from custos.entrypoints.api.bounds import Day, Id
from custos.entrypoints.api.deps import Caller, ContainerDep, needs
from custos.entrypoints.api.schemas import In
from custos.services.contractors import AgreementInput
from custos.services.maintenance import AssessmentInput, OrderInput

router = APIRouter(tags=["maintenance"])
Reader = Annotated[Caller, needs(Permission.DUTY_READ)]
Writer = Annotated[Caller, needs(Permission.DUTY_WRITE)]
Manager = Annotated[Caller, needs(Permission.DUTY_MANAGE)]


class ScheduleIn(In):
    camera_id: Id | None = Field(default=None, description="None: the site's whole system")
    interval_days: int = Field(ge=1, le=MAX_INTERVAL_DAYS, description="at most the packs'")
    starts_on: Day


class InspectionIn(In):
    done_on: Day
    staff_id: Id
    result: InspectionResult
    note: str = Field(default="", max_length=2000)


class OrderIn(In):
    description: str = Field(min_length=1, max_length=2000)
    camera_id: Id | None = None
    alarm_id: Id | None = Field(default=None, description="the alarm the fault was raised by")


class AssignIn(In):
    staff_id: Id | None = None
    contractor_id: Id | None = None


class RepairIn(In):
    note: str = Field(default="", max_length=2000)


class AssessmentIn(In):
    done_on: Day
    assessor: str = Field(min_length=1, max_length=200)
    effectiveness: str = Field(min_length=1, max_length=2000, description="系统效能")
    security: str = Field(min_length=1, max_length=2000, description="安全性能")
    conclusion: AssessmentConclusion


class ContractorIn(In):
    name: str = Field(min_length=1, max_length=200)
    maintains: bool = Field(description="operates or maintains the unit's system now")


class MaintainsIn(In):
    maintains: bool


class AgreementIn(In):
    signed_on: Day
    valid_from: Day
    valid_until: Day | None = None
    scope: str = Field(min_length=1, max_length=1000)
    document_sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$")


@router.post("/sites/{site_id}/inspection-schedules", status_code=201)
def add_schedule(site_id: Id, body: ScheduleIn, caller: Manager, c: ContainerDep) -> dict[str, Any]:
    return c.maintenance.add_schedule(
        caller.principal, site_id, body.camera_id, body.interval_days, body.starts_on
    ).as_dict()


@router.get("/sites/{site_id}/inspection-schedules")
def list_schedules(site_id: Id, caller: Reader, c: ContainerDep) -> list[dict[str, Any]]:
    return c.maintenance.schedules(caller.principal, site_id)


@router.post("/inspection-schedules/{schedule_id}/inspections", status_code=201)
def record_inspection(
    schedule_id: Id, body: InspectionIn, caller: Writer, c: ContainerDep
) -> dict[str, Any]:
    return c.maintenance.record_inspection(
        caller.principal, schedule_id, body.done_on, body.staff_id, body.result, body.note
    ).as_dict()


@router.post("/sites/{site_id}/work-orders", status_code=201)
def open_order(site_id: Id, body: OrderIn, caller: Writer, c: ContainerDep) -> dict[str, Any]:
    data = OrderInput(body.description, body.camera_id, body.alarm_id)
    return c.maintenance.open_order(caller.principal, site_id, data).as_dict()


@router.get("/sites/{site_id}/work-orders")
def list_orders(site_id: Id, caller: Reader, c: ContainerDep) -> list[dict[str, Any]]:
    return [o.as_dict() for o in c.maintenance.orders(caller.principal, site_id)]


@router.post("/work-orders/{order_id}/assign")
def assign(order_id: Id, body: AssignIn, caller: Manager, c: ContainerDep) -> dict[str, Any]:
    return c.maintenance.assign(
        caller.principal, order_id, body.staff_id, body.contractor_id
    ).as_dict()


@router.post("/work-orders/{order_id}/repair")
def repair(order_id: Id, body: RepairIn, caller: Writer, c: ContainerDep) -> dict[str, Any]:
    return c.maintenance.repair(caller.principal, order_id, body.note).as_dict()


@router.post("/work-orders/{order_id}/verify")
def verify(order_id: Id, caller: Manager, c: ContainerDep) -> dict[str, Any]:
    """Confirm a repair; refused to the person who made it (four eyes)."""
    return c.maintenance.verify(caller.principal, order_id).as_dict()


@router.post("/units/{unit_id}/assessments", status_code=201)
def record_assessment(
    unit_id: Id, body: AssessmentIn, caller: Manager, c: ContainerDep
) -> dict[str, Any]:
    data = AssessmentInput(
        body.done_on, body.assessor, body.effectiveness, body.security, body.conclusion
    )
    return c.maintenance.record_assessment(caller.principal, unit_id, data).as_dict()


@router.get("/units/{unit_id}/assessments")
def list_assessments(unit_id: Id, caller: Reader, c: ContainerDep) -> list[dict[str, Any]]:
    return [a.as_dict() for a in c.maintenance.assessments(caller.principal, unit_id)]


@router.post("/units/{unit_id}/contractors", status_code=201)
def add_contractor(
    unit_id: Id, body: ContractorIn, caller: Manager, c: ContainerDep
) -> dict[str, Any]:
    return c.contractors.add(caller.principal, unit_id, body.name, body.maintains).as_dict()


@router.post("/contractors/{contractor_id}/maintains")
def set_maintains(
    contractor_id: Id, body: MaintainsIn, caller: Manager, c: ContainerDep
) -> dict[str, Any]:
    return c.contractors.set_maintains(caller.principal, contractor_id, body.maintains).as_dict()


@router.post("/contractors/{contractor_id}/agreements", status_code=201)
def record_agreement(
    contractor_id: Id, body: AgreementIn, caller: Manager, c: ContainerDep
) -> dict[str, Any]:
    data = AgreementInput(
        body.signed_on, body.valid_from, body.valid_until, body.scope, body.document_sha256
    )
    return c.contractors.record_agreement(caller.principal, contractor_id, data).as_dict()


@router.get("/units/{unit_id}/contractors")
def list_contractors(unit_id: Id, caller: Reader, c: ContainerDep) -> list[dict[str, Any]]:
    return [
        {**k.as_dict(), "agreements": [a.as_dict() for a in agreements]}
        for k, agreements in c.contractors.contractors(caller.principal, unit_id)
    ]
