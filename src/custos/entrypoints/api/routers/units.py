"""Units (使用单位 / 建设单位)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from custos.domain.access import Permission
from custos.domain.registry import Contact
from custos.entrypoints.api.bounds import Id
from custos.entrypoints.api.deps import Caller, ContainerDep, needs
from custos.entrypoints.api.schemas import UnitIn, UnitOut, UnitPatch
from custos.services.registry import UnitInput

router = APIRouter(prefix="/units", tags=["registry"])
Reader = Annotated[Caller, needs(Permission.REGISTRY_READ)]
Writer = Annotated[Caller, needs(Permission.REGISTRY_WRITE)]


@router.get("", response_model=list[UnitOut])
def list_units(caller: Reader, c: ContainerDep) -> list[UnitOut]:
    return [UnitOut.of(u) for u in c.registry.list_units(caller.principal)]


@router.post("", response_model=UnitOut, status_code=201)
def create_unit(body: UnitIn, caller: Writer, c: ContainerDep) -> UnitOut:
    data = UnitInput(
        body.name, body.credit_code, body.kind, [Contact(**x.model_dump()) for x in body.contacts]
    )
    return UnitOut.of(c.registry.create_unit(caller.principal, data))


@router.get("/{unit_id}", response_model=UnitOut)
def get_unit(unit_id: Id, caller: Reader, c: ContainerDep) -> UnitOut:
    return UnitOut.of(c.registry.get_unit(caller.principal, unit_id))


@router.patch("/{unit_id}", response_model=UnitOut)
def update_unit(unit_id: Id, body: UnitPatch, caller: Writer, c: ContainerDep) -> UnitOut:
    changes = body.model_dump(exclude_unset=True)
    if "contacts" in changes:
        changes["contacts"] = [Contact(**x) for x in changes["contacts"] or []]
    return UnitOut.of(c.registry.update_unit(caller.principal, unit_id, changes))
