"""Retention policies, the storage projection, alarms, and requests to delete footage."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from custos.api.deps import Caller, ContainerDep, needs
from custos.domain.access import Permission
from custos.domain.alarms import Alarm, AlarmKind, Severity

router = APIRouter(tags=["storage"])
Reader = Annotated[Caller, needs(Permission.STORAGE_READ)]
Deleter = Annotated[Caller, needs(Permission.FOOTAGE_DELETE)]


class AlarmOut(BaseModel):
    id: int
    kind: AlarmKind
    severity: Severity
    subject: str
    message: str
    raised_at: datetime
    cleared_at: datetime | None
    detail: dict[str, Any]

    @classmethod
    def of(cls, a: Alarm) -> AlarmOut:
        return cls(**{**a.__dict__, "id": a.id or 0})


@router.get("/alarms", response_model=list[AlarmOut])
def list_alarms(
    caller: Reader, c: ContainerDep, include_cleared: Annotated[bool, Query()] = False
) -> list[AlarmOut]:
    return [AlarmOut.of(a) for a in c.alarms.find(caller.principal, not include_cleared)]


@router.get("/storage/projection")
def storage_projection(caller: Reader, c: ContainerDep) -> dict[str, Any]:
    """Days of footage each volume can hold at the present bitrates, against the floor."""
    return c.storage.projection().as_dict()


@router.get("/cameras/{camera_id}/retention")
def camera_retention(camera_id: int, caller: Reader, c: ContainerDep) -> dict[str, Any]:
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
def delete_segment(segment_id: int, caller: Deleter, c: ContainerDep) -> dict[str, Any]:
    """Delete one segment — refused inside retention (with the articles), under a hold, or
    while an access request freezes it."""
    report = c.retention.delete_segment(caller.principal, segment_id)
    return {"deleted": report.deleted, "bytes": report.bytes, "batch": report.batch}
