"""Retention policies, the storage projection, alarms, and requests to delete footage."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from custos.domain.access import Permission
from custos.domain.alarms import Alarm, AlarmKind, Handling, Severity
from custos.entrypoints.api.bounds import Id
from custos.entrypoints.api.deps import Caller, ContainerDep, needs
from custos.entrypoints.api.schemas import In
from custos.services.alarms import MAX_ALARMS, AlarmFilter

router = APIRouter(tags=["storage"])
Reader = Annotated[Caller, needs(Permission.STORAGE_READ)]
Deleter = Annotated[Caller, needs(Permission.FOOTAGE_DELETE)]
Handler = Annotated[Caller, needs(Permission.ALARM_HANDLE)]
AlarmReader = Annotated[Caller, needs(Permission.ALARM_READ)]


class HandlingOut(BaseModel):
    by: int
    by_name: str
    at: datetime
    note: str


class AlarmOut(BaseModel):
    id: int
    kind: AlarmKind
    severity: Severity
    subject: str
    message: str
    raised_at: datetime
    cleared_at: datetime | None
    detail: dict[str, Any]
    camera_id: int | None
    acknowledged: HandlingOut | None
    resolved: HandlingOut | None
    open: bool

    @classmethod
    def of(cls, a: Alarm) -> AlarmOut:
        def h(x: Handling | None) -> HandlingOut | None:
            return HandlingOut(**x.__dict__) if x else None

        plain = {k: v for k, v in a.__dict__.items() if k not in ("acknowledged", "resolved")}
        return cls(
            **{**plain, "id": a.id or 0},
            acknowledged=h(a.acknowledged),
            resolved=h(a.resolved),
            open=a.is_open,
        )


class AlarmNoteIn(In):
    note: str = Field(default="", max_length=2000, pattern=r"^[^\x00]*$")  # no NUL: PostgreSQL


@router.get("/alarms", response_model=list[AlarmOut])
def list_alarms(
    caller: AlarmReader,
    c: ContainerDep,
    include_cleared: Annotated[bool, Query()] = False,
    severity: Annotated[Severity | None, Query()] = None,
    camera_id: Annotated[Id | None, Query()] = None,
    site_id: Annotated[Id | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_ALARMS)] = MAX_ALARMS,
) -> list[AlarmOut]:
    """The alarms the caller may see, newest first: open ones unless ``include_cleared``."""
    where = AlarmFilter(not include_cleared, severity, camera_id, site_id, limit)
    return [AlarmOut.of(a) for a in c.alarms.find(caller.principal, where=where)]


@router.get("/alarms/{alarm_id}", response_model=AlarmOut)
def get_alarm(alarm_id: Id, caller: AlarmReader, c: ContainerDep) -> AlarmOut:
    return AlarmOut.of(c.alarms.get(caller.principal, alarm_id))


@router.post("/alarms/{alarm_id}/acknowledge", response_model=AlarmOut)
def acknowledge_alarm(
    alarm_id: Id, body: AlarmNoteIn, caller: Handler, c: ContainerDep
) -> AlarmOut:
    """I have seen it (who, when, note); entered in the operation log."""
    return AlarmOut.of(c.alarms.acknowledge(caller.principal, alarm_id, body.note))


@router.post("/alarms/{alarm_id}/resolve", response_model=AlarmOut)
def resolve_alarm(alarm_id: Id, body: AlarmNoteIn, caller: Handler, c: ContainerDep) -> AlarmOut:
    """It is dealt with (who, when, note): the alarm closes; a condition that persists is
    raised again by the next check."""
    return AlarmOut.of(c.alarms.resolve(caller.principal, alarm_id, body.note))


@router.get("/storage/projection")
def storage_projection(caller: Reader, c: ContainerDep) -> dict[str, Any]:
    """Days of footage each volume can hold at the present bitrates, against the floor."""
    return c.storage.projection().as_dict()


@router.get("/cameras/{camera_id}/retention")
def camera_retention(camera_id: Id, caller: Reader, c: ContainerDep) -> dict[str, Any]:
    """The camera's retention: max(floor, configured), capped never below the floor."""
    c.registry.get_camera(caller.principal, camera_id)  # 404 outside the caller's reach
    p = c.retention.policy_for(camera_id)
    return {
        "camera_id": camera_id,
        "days": p.days,
        "floor": p.floor.as_dict(),
        "configured_days": p.configured_days,
        "max_days": p.max_days,
    }


@router.delete("/segments/{segment_id}")
def delete_segment(segment_id: Id, caller: Deleter, c: ContainerDep) -> dict[str, Any]:
    """Delete one segment — refused inside retention (with the articles), under a hold, or
    while an access request freezes it."""
    report = c.retention.delete_segment(caller.principal, segment_id)
    return {"deleted": report.deleted, "bytes": report.bytes, "batch": report.batch}
