"""Compliance reports per site and per unit."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter

from custos.domain.access import Permission
from custos.entrypoints.api.bounds import Id
from custos.entrypoints.api.deps import Caller, ContainerDep, needs
from custos.entrypoints.api.language import Lang, with_texts

router = APIRouter(prefix="/compliance", tags=["compliance"])
Reader = Annotated[Caller, needs(Permission.COMPLIANCE_READ)]


@router.get("/sites/{site_id}")
def site_report(site_id: Id, caller: Reader, c: ContainerDep, lang: Lang) -> dict[str, Any]:
    """Findings with ``text`` in the ``Accept-Language`` (zh-CN by default)."""
    return with_texts(c.compliance.site_report(caller.principal, site_id).as_dict(), lang)


@router.get("/units/{unit_id}")
def unit_report(unit_id: Id, caller: Reader, c: ContainerDep, lang: Lang) -> dict[str, Any]:
    return with_texts(c.compliance.unit_report(caller.principal, unit_id).as_dict(), lang)


@router.get("/units")
def all_units(caller: Reader, c: ContainerDep, lang: Lang) -> list[dict[str, Any]]:
    return [with_texts(r.as_dict(), lang) for r in c.compliance.all_units(caller.principal)]
