"""Network interruptions of a site by its carrier (Xi'an art. 26 ¶2: at most 3 days for works)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import AwareDatetime, Field

from custos.domain.access import Permission
from custos.domain.network_interruption import InterruptionCause
from custos.entrypoints.api.bounds import Id
from custos.entrypoints.api.deps import Caller, ContainerDep, needs
from custos.entrypoints.api.schemas import In
from custos.services.network_interruptions import InterruptionInput

router = APIRouter(tags=["network interruptions"])
Writer = Annotated[Caller, needs(Permission.REGISTRY_WRITE)]
Reader = Annotated[Caller, needs(Permission.REGISTRY_READ)]


class InterruptionIn(In):
    cause: InterruptionCause = Field(
        description="municipal_works and other_works are limited (Xi'an art. 26 ¶2); "
        "network_fault is restored with priority (¶1)"
    )
    carrier: str = Field(min_length=1, max_length=200, description="通讯运营单位")
    started_at: AwareDatetime
    ended_at: AwareDatetime | None = None
    detail: str = Field(default="", max_length=1000)


class EndIn(In):
    ended_at: AwareDatetime


@router.post("/sites/{site_id}/network-interruptions", status_code=201)
def record_interruption(
    site_id: Id, body: InterruptionIn, caller: Writer, c: ContainerDep
) -> dict[str, Any]:
    """Record an interruption; the answer says whether a limit binds it, by when the network
    had to be back (``restore_by``) and whether it ran over."""
    data = InterruptionInput(body.cause, body.carrier, body.started_at, body.ended_at, body.detail)
    return c.network.record(caller.principal, site_id, data).as_dict()


@router.post("/network-interruptions/{interruption_id}/end")
def end_interruption(
    interruption_id: Id, body: EndIn, caller: Writer, c: ContainerDep
) -> dict[str, Any]:
    return c.network.end(caller.principal, interruption_id, body.ended_at).as_dict()


@router.get("/sites/{site_id}/network-interruptions")
def list_interruptions(site_id: Id, caller: Reader, c: ContainerDep) -> list[dict[str, Any]]:
    return [j.as_dict() for j in c.network.list(caller.principal, site_id)]
