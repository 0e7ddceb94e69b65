"""Compliance reports per site and per unit."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter

from custos.api.bounds import Id
from custos.api.deps import Caller, ContainerDep, needs
from custos.domain.access import Permission

router = APIRouter(prefix="/compliance", tags=["compliance"])
Reader = Annotated[Caller, needs(Permission.COMPLIANCE_READ)]


@router.get("/sites/{site_id}")
def site_report(site_id: Id, caller: Reader, c: ContainerDep) -> dict[str, Any]:
    return c.compliance.site_report(caller.principal, site_id).as_dict()


@router.get("/units/{unit_id}")
def unit_report(unit_id: Id, caller: Reader, c: ContainerDep) -> dict[str, Any]:
    return c.compliance.unit_report(caller.principal, unit_id).as_dict()


@router.get("/units")
def all_units(caller: Reader, c: ContainerDep) -> list[dict[str, Any]]:
    return [r.as_dict() for r in c.compliance.all_units(caller.principal)]
