"""Interruption accounting: per camera per Shanghai day, recorded seconds, gaps with reasons and
repair time (issue 14 §1; "restore promptly", Chongqing art. 20(6), Xi'an art. 22(6))."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field

from custos.domain.access import Permission
from custos.domain.accounting import DayAccount
from custos.domain.calendar import shanghai_date
from custos.domain.errors import FieldError, ValidationFailed
from custos.entrypoints.api.bounds import Id
from custos.entrypoints.api.deps import Caller, ContainerDep, needs
from custos.entrypoints.api.schemas import In
from custos.services.interruption_accounting import (
    UNIT_DEADLINE_MAX_HOURS,
    UNIT_DEADLINE_MIN_HOURS,
)

router = APIRouter(tags=["accounting"])
Reader = Annotated[Caller, needs(Permission.ALARM_READ)]
UnitReader = Annotated[Caller, needs(Permission.REGISTRY_READ)]
UnitWriter = Annotated[Caller, needs(Permission.REGISTRY_WRITE)]
Day = Annotated[date | None, Query(description="a Shanghai date, YYYY-MM-DD (default: today)")]
From = Annotated[date | None, Query(alias="from", description="first Shanghai date of a range")]
To = Annotated[date | None, Query(description="last Shanghai date of a range (≤ 31 days)")]


@router.get("/cameras/{camera_id}/accounting")
def camera_accounting(
    camera_id: Id, caller: Reader, c: ContainerDep, day: Day = None, first: From = None,
    to: To = None,
) -> dict[str, Any]:  # fmt: skip
    """One camera's account for a day, or for each day of ``from``–``to``."""
    lo, hi = _days(c.clock.now(), day, first, to)
    accounts = c.accounting.camera(caller.principal, camera_id, lo, hi)
    return {"camera_id": camera_id, "days": _out(accounts, c)}


@router.get("/sites/{site_id}/accounting")
def site_accounting(
    site_id: Id, caller: Reader, c: ContainerDep, day: Day = None
) -> dict[str, Any]:
    """The day's account of each camera of the site the caller may see."""
    lo, _ = _days(c.clock.now(), day, None, None)
    accounts = c.accounting.site(caller.principal, site_id, lo)
    return {"site_id": site_id, "day": lo.isoformat(), "cameras": _out(accounts, c)}


class RepairDeadlineIn(In):
    repair_deadline_hours: int | None = Field(
        ge=UNIT_DEADLINE_MIN_HOURS, le=UNIT_DEADLINE_MAX_HOURS,
        description="the unit's own repair deadline in hours, shorter than the rules' "
        "(null: the rules' deadline)",
    )  # fmt: skip


@router.get("/units/{unit_id}/repair-deadline")
def unit_repair_deadline(unit_id: Id, caller: UnitReader, c: ContainerDep) -> dict[str, Any]:
    """The unit's own repair deadline, and the rules' (the longest it may set)."""
    return c.accounting.unit_repair_deadline(caller.principal, unit_id)


@router.put("/units/{unit_id}/repair-deadline")
def set_unit_repair_deadline(
    unit_id: Id, body: RepairDeadlineIn, caller: UnitWriter, c: ContainerDep
) -> dict[str, Any]:
    """Set the unit's own repair deadline (1..720 h, never longer than the rules'); in the
    operation log."""
    return c.accounting.set_unit_repair_deadline(
        caller.principal, unit_id, body.repair_deadline_hours
    )


def _out(accounts: list[DayAccount], c: ContainerDep) -> list[dict[str, Any]]:
    now = c.clock.now()
    return [a.as_dict(now) for a in accounts]


def _days(
    now: datetime, day: date | None, first: date | None, last: date | None
) -> tuple[date, date]:
    if day is not None and (first is not None or last is not None):
        raise ValidationFailed(FieldError("day", "give either day or from and to, not both"))
    if day is not None:
        return day, day
    if first is None and last is not None:
        raise ValidationFailed(FieldError("from", "is required with to"))
    if first is None:
        today = shanghai_date(now)
        return today, today
    return first, last or first
