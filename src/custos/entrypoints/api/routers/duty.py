"""Duty (值班) in a monitoring room: shifts and rota, signing on and handing over, the duty log,
and reports of suspicious information to the police."""

from __future__ import annotations

from datetime import time
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field

from custos.domain.access import Permission
from custos.domain.duty import ReportChannel
from custos.entrypoints.api.bounds import Day, Id, Instant
from custos.entrypoints.api.deps import Caller, ContainerDep, needs
from custos.entrypoints.api.schemas import In
from custos.services.duty import LogInput
from custos.services.duty_rota import ShiftInput
from custos.services.police_reports import ReportInput

router = APIRouter(tags=["duty"])
Reader = Annotated[Caller, needs(Permission.DUTY_READ)]
Writer = Annotated[Caller, needs(Permission.DUTY_WRITE)]
Manager = Annotated[Caller, needs(Permission.DUTY_MANAGE)]


class ShiftIn(In):
    name: str = Field(min_length=1, max_length=100)
    starts: time = Field(description="Asia/Shanghai time of day, HH:MM")
    ends: time = Field(description="not after starts: the shift ends the next day")
    requires_duty: bool = True


class RotaIn(In):
    shift_id: Id
    day: Day = Field(description="the Shanghai date the shift starts")
    user_id: Id | None = None
    person_name: str = Field(default="", max_length=100, description="staff without a login")


class HandoverIn(In):
    to_user_id: Id
    note: str = Field(min_length=1, max_length=4000, description="交接班记录")


class LogIn(In):
    text: str = Field(min_length=1, max_length=4000)
    at: Instant | None = Field(default=None, description="when seen or done; now if absent")
    camera_id: Id | None = None
    suspicious: bool = Field(default=False, description="suspicious information: report it")
    corrects: Id | None = Field(default=None, description="the entry this one corrects")


class ReportIn(In):
    seen_at: Instant
    reported_at: Instant
    organ: str = Field(min_length=1, max_length=200, description="the public-security organ")
    organ_code: str = Field(default="", max_length=32)
    channel: ReportChannel
    reference: str = Field(default="", max_length=200, description="receipt or case number")
    what: str = Field(min_length=1, max_length=4000)
    entry_id: Id | None = Field(default=None, description="the duty-log entry it reports")


# ---- shifts and rota ----------------------------------------------------------------------
@router.post("/monitoring-rooms/{room_id}/shifts", status_code=201)
def add_shift(room_id: Id, body: ShiftIn, caller: Manager, c: ContainerDep) -> dict[str, Any]:
    data = ShiftInput(body.name, body.starts, body.ends, body.requires_duty)
    return c.duty_rota.add_shift(caller.principal, room_id, data).as_dict()


@router.get("/monitoring-rooms/{room_id}/shifts")
def shifts(room_id: Id, caller: Reader, c: ContainerDep) -> list[dict[str, Any]]:
    return [s.as_dict() for s in c.duty_rota.shifts(caller.principal, room_id)]


@router.post("/monitoring-rooms/{room_id}/rota", status_code=201)
def assign(room_id: Id, body: RotaIn, caller: Manager, c: ContainerDep) -> dict[str, Any]:
    entry = c.duty_rota.assign(
        caller.principal, room_id, body.shift_id, body.day, body.user_id, body.person_name
    )
    return entry.as_dict()


@router.get("/monitoring-rooms/{room_id}/rota")
def rota(
    room_id: Id,
    caller: Reader,
    c: ContainerDep,
    first: Annotated[Day, Query(alias="from")],
    last: Annotated[Day, Query(alias="to")],
) -> list[dict[str, Any]]:
    return [e.as_dict() for e in c.duty_rota.rota(caller.principal, room_id, first, last)]


# ---- signing on, handing over -------------------------------------------------------------
@router.get("/monitoring-rooms/{room_id}/duty")
def on_duty(room_id: Id, caller: Reader, c: ContainerDep) -> dict[str, Any]:
    """Who is signed on now, and the handovers waiting to be accepted."""
    return c.duty.status(caller.principal, room_id).as_dict()


@router.get("/monitoring-rooms/{room_id}/colleagues")
def colleagues(room_id: Id, caller: Reader, c: ContainerDep) -> list[dict[str, Any]]:
    """The unit's users who may be on duty (to hand over to)."""
    return c.duty.colleagues(caller.principal, room_id)


@router.get("/monitoring-rooms/{room_id}/sessions")
def sessions(room_id: Id, since: Instant, caller: Reader, c: ContainerDep) -> list[dict[str, Any]]:
    return [s.as_dict() for s in c.duty.sessions(caller.principal, room_id, since)]


@router.post("/monitoring-rooms/{room_id}/sign-on", status_code=201)
def sign_on(room_id: Id, caller: Writer, c: ContainerDep) -> dict[str, Any]:
    return c.duty.sign_on(caller.principal, room_id).as_dict()


@router.post("/duty-sessions/{session_id}/handover")
def hand_over(session_id: Id, body: HandoverIn, caller: Writer, c: ContainerDep) -> dict[str, Any]:
    return c.duty.hand_over(caller.principal, session_id, body.to_user_id, body.note).as_dict()


@router.post("/duty-sessions/{session_id}/accept")
def accept(session_id: Id, caller: Writer, c: ContainerDep) -> dict[str, Any]:
    return c.duty.accept(caller.principal, session_id).as_dict()


@router.post("/duty-sessions/{session_id}/sign-off")
def sign_off(session_id: Id, caller: Writer, c: ContainerDep) -> dict[str, Any]:
    return c.duty.sign_off(caller.principal, session_id).as_dict()


# ---- the duty log and reports ---------------------------------------------------------------
@router.post("/monitoring-rooms/{room_id}/log", status_code=201)
def write(room_id: Id, body: LogIn, caller: Writer, c: ContainerDep) -> dict[str, Any]:
    """Append an entry; the log is never changed (a correction names the entry it corrects)."""
    data = LogInput(body.text, body.at, body.camera_id, body.suspicious, body.corrects)
    return c.duty.write(caller.principal, room_id, data).as_dict()


@router.get("/monitoring-rooms/{room_id}/log")
def log(
    room_id: Id, caller: Reader, c: ContainerDep, since: Instant | None = None
) -> list[dict[str, Any]]:
    return [e.as_dict() for e in c.duty.log(caller.principal, room_id, since)]


@router.post("/monitoring-rooms/{room_id}/reports", status_code=201)
def report(room_id: Id, body: ReportIn, caller: Writer, c: ContainerDep) -> dict[str, Any]:
    """Record a report to the police; ``late`` says whether it came after the packs' deadline
    (``due``, ``rule_ids``)."""
    data = ReportInput(
        body.seen_at, body.reported_at, body.organ, body.channel, body.what,
        body.organ_code, body.reference, body.entry_id,
    )  # fmt: skip
    return c.police_reports.record(caller.principal, room_id, data).as_dict()


@router.get("/monitoring-rooms/{room_id}/reports")
def reports(room_id: Id, caller: Reader, c: ContainerDep) -> list[dict[str, Any]]:
    return [r.as_dict() for r in c.police_reports.reports(caller.principal, room_id)]
