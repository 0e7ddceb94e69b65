"""The rule packs Custos enforces."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter

from custos.domain.access import Permission
from custos.domain.codes import DivisionCode
from custos.entrypoints.api.deps import Caller, ContainerDep, needs

router = APIRouter(prefix="/rules", tags=["rules"])
Reader = Annotated[Caller, needs(Permission.RULES_READ)]


@router.get("/packs")
def list_packs(caller: Reader, c: ContainerDep) -> list[dict[str, Any]]:
    return [
        {
            "id": p.id,
            "name_zh": p.name_zh,
            "name_en": p.name_en,
            "effective_date": p.effective_date,
            "parent": p.parent,
        }
        for p in c.rules.packs
    ]


@router.get("/effective/{division_code}")
def effective(division_code: str, caller: Reader, c: ContainerDep) -> dict[str, Any]:
    """The layered duties for a 6-digit division code (GB/T 2260)."""
    code = DivisionCode.parse(division_code, field="division_code")
    eff = c.rules.effective(code.value)
    return {
        "division_code": code.value,
        "rule_packs": [p.id for p in eff.packs],
        "duties": eff.as_dict(),
    }
