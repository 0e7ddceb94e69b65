"""Monitoring rooms (监控室) and their access register: who entered, when, why, who let them in."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import Field

from custos.domain.access import Permission
from custos.entrypoints.api.bounds import Id, Instant
from custos.entrypoints.api.deps import Caller, ContainerDep, needs
from custos.entrypoints.api.schemas import In
from custos.services.monitoring_room import EntryInput, RoomInput

router = APIRouter(tags=["duty"])
Reader = Annotated[Caller, needs(Permission.DUTY_READ)]
Writer = Annotated[Caller, needs(Permission.DUTY_WRITE)]
Manager = Annotated[Caller, needs(Permission.DUTY_MANAGE)]


class RoomIn(In):
    site_id: Id = Field(description="the site the room is at")
    name: str = Field(min_length=1, max_length=200)
    camera_ids: list[Id] = Field(
        default_factory=list, max_length=5000, description="empty: every camera of the unit"
    )
    authorised: list[Annotated[str, Field(max_length=100)]] = Field(
        default_factory=list, max_length=500, description="persons allowed in besides the rota"
    )

    def domain(self) -> RoomInput:
        return RoomInput(self.site_id, self.name, tuple(self.camera_ids), tuple(self.authorised))


class EntryIn(In):
    person_name: str = Field(min_length=1, max_length=100)
    organisation: str = Field(default="", max_length=200)
    reason: str = Field(min_length=1, max_length=1000)
    entered_at: Instant
    user_id: Id | None = Field(default=None, description="when the person is a Custos user")


class LeaveIn(In):
    left_at: Instant


@router.post("/monitoring-rooms", status_code=201)
def create_room(body: RoomIn, caller: Manager, c: ContainerDep) -> dict[str, Any]:
    return c.rooms.create(caller.principal, body.domain()).as_dict()


@router.get("/monitoring-rooms")
def list_rooms(caller: Reader, c: ContainerDep, unit_id: Id | None = None) -> list[dict[str, Any]]:
    return [r.as_dict() for r in c.rooms.rooms(caller.principal, unit_id)]


@router.get("/monitoring-rooms/{room_id}")
def get_room(room_id: Id, caller: Reader, c: ContainerDep) -> dict[str, Any]:
    return c.rooms.get(caller.principal, room_id).as_dict()


@router.put("/monitoring-rooms/{room_id}")
def update_room(room_id: Id, body: RoomIn, caller: Manager, c: ContainerDep) -> dict[str, Any]:
    return c.rooms.update(caller.principal, room_id, body.domain()).as_dict()


@router.post("/monitoring-rooms/{room_id}/entries", status_code=201)
def enter(room_id: Id, body: EntryIn, caller: Writer, c: ContainerDep) -> dict[str, Any]:
    """Register a person entering; ``unrelated`` is true when they are neither on the room's
    rota nor listed as authorised (a finding: no unrelated persons in the monitoring room)."""
    data = EntryInput(
        body.person_name, body.reason, body.entered_at, body.organisation, body.user_id
    )
    return c.rooms.enter(caller.principal, room_id, data).as_dict()


@router.post("/room-entries/{entry_id}/leave")
def leave(entry_id: Id, body: LeaveIn, caller: Writer, c: ContainerDep) -> dict[str, Any]:
    return c.rooms.leave(caller.principal, entry_id, body.left_at).as_dict()


@router.get("/monitoring-rooms/{room_id}/entries")
def entries(room_id: Id, caller: Reader, c: ContainerDep) -> list[dict[str, Any]]:
    return [e.as_dict() for e in c.rooms.entries(caller.principal, room_id)]
