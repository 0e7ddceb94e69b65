"""The cluster's status (docs/design/cluster.md): recorder nodes, leases, unrecorded cameras,
offload lag, refused segments, who runs the timed duties. Read only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from custos.domain.access import Permission
from custos.entrypoints.api.deps import Caller, ContainerDep, needs
from custos.services.cluster_status import REFUSED_SHOWN_MAX

router = APIRouter(tags=["cluster"])
Reader = Annotated[Caller, needs(Permission.CLUSTER_READ)]


@router.get("/cluster")
def cluster_status(
    caller: Reader,
    c: ContainerDep,
    refused: Annotated[int, Query(ge=0, le=REFUSED_SHOWN_MAX)] = 5,
) -> dict[str, Any]:
    """The status as ``custos cluster status --json`` prints it; ``healthy`` is false when a
    camera in service has no live holder or a node that is not live still holds leases."""
    return c.cluster_status.status(caller.principal, refused).as_dict()
