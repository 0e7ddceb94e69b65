"""The bureau as a witness of its units' signed checkpoints (docs/design/evidence.md, "The bureau
as a witness").

``witness.manage`` (supervisors and administrators) registers and lists the sender systems.
``POST /witness/checkpoints`` is authorized by the checkpoint's own signature under a registered
sender's key (it is in ``SIGNED_ROUTES``: the unit's system has no account here);
``GET /witness/checkpoints`` is public, like the keys: checkpoints hold no personal data.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import Field

from custos.domain.access import Permission
from custos.domain.audit_witness import MAX_LINE
from custos.domain.bureau_witness import NAME_MAX, PAGE_DEFAULT, PAGE_MAX
from custos.entrypoints.api.body_limit import max_body
from custos.entrypoints.api.bounds import Seq
from custos.entrypoints.api.deps import Caller, ContainerDep, needs
from custos.entrypoints.api.schemas import In

router = APIRouter(tags=["witness"])
Manager = Annotated[Caller, needs(Permission.WITNESS_MANAGE)]
#: How the signed route is marked in the OpenAPI document (and checked by the route test).
AUTHORIZED_BY = "x-custos-authorized-by"
CHECKPOINT_SIGNATURE = "checkpoint-signature"

_HEX = {"type": "string", "pattern": "^[0-9a-f]+$"}
_CHECKPOINT_SCHEMA = {
    "type": "object",
    "description": "One witness line: the canonical JSON of a signed checkpoint",
    "required": ["type", "log", "tree_size", "root", "chain", "signed_at", "key_id", "signature"],
    "properties": {
        "type": {"type": "string", "enum": ["checkpoint"]},
        "log": {"type": "string"},
        "tree_size": {"type": "integer", "minimum": 1, "maximum": 2**62},
        "root": _HEX,
        "chain": _HEX,
        "signed_at": {"type": "string"},
        "key_id": _HEX,
        "signature": _HEX,
    },
    "additionalProperties": False,
}


class SenderIn(In):
    name: str = Field(min_length=1, max_length=NAME_MAX)
    public_key_pem: str = Field(
        min_length=1,
        max_length=4096,
        description="The unit system's log public key: Ed25519 PEM, or its 64 hex digits",
    )


@router.post("/witness/senders", status_code=201)
def register_sender(
    body: SenderIn, caller: Manager, c: ContainerDep, response: Response
) -> dict[str, Any]:
    """Register a unit system by its log key (201); the same key and name again answer 200."""
    sender, created = c.bureau_witness.register(caller.principal, body.name, body.public_key_pem)
    if not created:
        response.status_code = 200
    return sender.as_dict()


@router.get("/witness/senders")
def senders(caller: Manager, c: ContainerDep) -> list[dict[str, Any]]:
    """The registered sender systems, by name."""
    return [s.as_dict() for s in c.bureau_witness.senders(caller.principal)]


@router.post(
    "/witness/checkpoints",
    status_code=201,
    openapi_extra={
        **max_body(MAX_LINE),
        AUTHORIZED_BY: CHECKPOINT_SIGNATURE,
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _CHECKPOINT_SCHEMA}},
        },
    },
)
async def receive_checkpoint(
    request: Request, c: ContainerDep, response: Response
) -> dict[str, Any]:
    """Keep one signed checkpoint of a registered sender: 201 when new, 200 when already held,
    403 when no registered key signed it, 409 when it contradicts one held (kept, and logged)."""
    body = await request.body()
    held, created = await run_in_threadpool(c.bureau_witness.receive, body)
    if not created:
        response.status_code = 200
    return held.as_dict()


@router.get("/witness/checkpoints")
def held_checkpoints(
    c: ContainerDep,
    key_id: Annotated[str, Query(min_length=16, max_length=16, pattern="^[0-9a-f]{16}$")],
    after: Annotated[Seq, Query(description="The last record id already read")] = 0,
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = PAGE_DEFAULT,
) -> dict[str, Any]:
    """What the bureau holds for one sender's key, oldest received first, conflicting copies
    included; ``newest_tree_size`` is the largest accepted tree size. Public."""
    return c.bureau_witness.held(key_id, after, limit).as_dict()
