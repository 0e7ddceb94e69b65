"""The GB/T 2260 division tree (docs/design/filing.md D1): browse it, look one code up.

Both routes need ``REGISTRY_READ``: every signed-in role that reads the registry (units,
operators, officers, approvers, supervisors, admins) picks divisions; the table is public data,
but the API is not public.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from custos.domain.access import Permission
from custos.entrypoints.api.deps import Caller, ContainerDep, needs
from custos.services import division_lookup

router = APIRouter(prefix="/divisions", tags=["divisions"])
Reader = Annotated[Caller, needs(Permission.REGISTRY_READ)]
SIX_DIGITS = r"^\d{6}$"


@router.get("")
def children(
    caller: Reader,
    c: ContainerDep,
    parent: Annotated[
        str | None, Query(pattern=SIX_DIGITS, description="a division code; none: provinces")
    ] = None,
) -> list[dict[str, Any]]:
    """The children of ``parent`` (code, name, level, full_name, has_children); without it the
    provinces. An unknown ``parent`` is a 404."""
    return division_lookup.children(c.divisions, parent)


@router.get("/{code}")
def describe(
    code: Annotated[str, Path(pattern=SIX_DIGITS)], caller: Reader, c: ContainerDep
) -> dict[str, Any]:
    """Name, full name, ancestors, the county-level organ that receives filings, centroid."""
    return division_lookup.describe(c.divisions, code)
