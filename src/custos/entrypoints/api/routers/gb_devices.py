"""GB/T 28181 devices (issue 12 §1): the allow-list a unit manager keeps, and what the SIP server
last heard from each device (state, expiry, last keepalive, address, transport, clock drift).
The digest password is write-only: never in an answer. A device can be asked again for its
Catalog, DeviceInfo or DeviceStatus (each question in the operation log)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Response
from pydantic import Field

from custos.domain.access import Permission
from custos.domain.gb_device import NAME_MAX, PASSWORD_MAX
from custos.entrypoints.api.bounds import Id
from custos.entrypoints.api.deps import Caller, ContainerDep, needs
from custos.entrypoints.api.schemas import In
from custos.services.gb_devices import DeviceInput
from custos.services.gb_queries import QueryKind

router = APIRouter(tags=["gb28181 devices"])
Writer = Annotated[Caller, needs(Permission.CAMERA_MANAGE)]
Reader = Annotated[Caller, needs(Permission.REGISTRY_READ)]


class DeviceIn(In):
    device_id: str = Field(min_length=1, max_length=20, description="20-digit GB/T 28181 ID")
    unit_id: Id
    name: str = Field(min_length=1, max_length=NAME_MAX)
    password: str = Field(
        min_length=1, max_length=PASSWORD_MAX, description="digest password (write-only)"
    )


class DeviceUpdate(In):
    name: str = Field(min_length=1, max_length=NAME_MAX)
    password: str | None = Field(
        default=None, min_length=1, max_length=PASSWORD_MAX, description="omit to keep"
    )


@router.post("/gb/devices", status_code=201)
def add_device(body: DeviceIn, caller: Writer, c: ContainerDep) -> dict[str, Any]:
    data = DeviceInput(body.device_id, body.unit_id, body.name, body.password)
    d = c.gb_devices.add(caller.principal, data)
    return c.gb_devices.get(caller.principal, d.id or 0)


@router.get("/gb/devices")
def list_devices(caller: Reader, c: ContainerDep) -> list[dict[str, Any]]:
    return c.gb_devices.find(caller.principal)


@router.get("/gb/devices/{device_pk}")
def get_device(device_pk: Id, caller: Reader, c: ContainerDep) -> dict[str, Any]:
    return c.gb_devices.get(caller.principal, device_pk)


@router.put("/gb/devices/{device_pk}")
def update_device(
    device_pk: Id, body: DeviceUpdate, caller: Writer, c: ContainerDep
) -> dict[str, Any]:
    c.gb_devices.update(caller.principal, device_pk, body.name, body.password)
    return c.gb_devices.get(caller.principal, device_pk)


@router.delete("/gb/devices/{device_pk}", status_code=204)
def remove_device(device_pk: Id, caller: Writer, c: ContainerDep) -> Response:
    c.gb_devices.remove(caller.principal, device_pk)
    return Response(status_code=204)


class QueryIn(In):
    what: Literal["catalog", "device_info", "device_status"] = Field(
        description="catalog: its channels; device_info / device_status: its report"
    )


@router.post("/gb/devices/{device_pk}/query", status_code=202)
def query_device(device_pk: Id, body: QueryIn, caller: Writer, c: ContainerDep) -> dict[str, Any]:
    """Ask an online device again (MANSCDP Query ``Catalog``, ``DeviceInfo`` or
    ``DeviceStatus``); the answer arrives later: the channels (``GET /gb/channels``) or the report
    (``GET /gb/devices/{device_id}/report``). Refused (422) when the device is not online or no
    SIP server runs; asked and refused questions are in the operation log."""
    what: QueryKind = body.what
    return c.gb_queries.ask(caller.principal, device_pk, what)
