"""GB/T 28181 cascade: the upper platforms Custos registers with, their link state, and which
cameras each is given (issue 12 §2). Passwords are write-only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Response
from pydantic import Field

from custos.domain.access import Permission
from custos.domain.gb_cascade import (
    MAX_EXPIRY_S,
    MAX_KEEPALIVE_S,
    MIN_EXPIRY_S,
    MIN_KEEPALIVE_S,
    Transport,
)
from custos.entrypoints.api.bounds import Id
from custos.entrypoints.api.deps import Caller, ContainerDep, needs
from custos.entrypoints.api.schemas import In
from custos.services.gb_cascade import PlatformInput

router = APIRouter(tags=["gb cascade"])
NO_NUL = r"^[^\x00]*$"  # PostgreSQL text holds no NUL: refused as input (422), never a 500
HOST = r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$"
Writer = Annotated[Caller, needs(Permission.REGISTRY_WRITE)]
Reader = Annotated[Caller, needs(Permission.REGISTRY_READ)]


class PlatformIn(In):
    name: str = Field(default="", max_length=100, pattern=NO_NUL)
    sip_id: str = Field(
        min_length=20, max_length=20, pattern=r"^[0-9]{20}$",
        description="the upper platform's 20-digit ID; digit 14 is its network",
    )  # fmt: skip
    domain: str = Field(
        min_length=1, max_length=64, pattern=r"^[A-Za-z0-9]+$", description="its SIP domain (realm)"
    )
    host: str = Field(
        min_length=1, max_length=253, pattern=HOST, description="a host name or IPv4 address"
    )
    port: int = Field(default=5060, ge=1, le=65535)
    transport: Transport = Transport.UDP
    password: str | None = Field(
        default=None, min_length=1, max_length=128, pattern=NO_NUL,
        description="digest password; required on create, omitted on update keeps the old one",
    )  # fmt: skip
    register_expiry_s: int = Field(default=3600, ge=MIN_EXPIRY_S, le=MAX_EXPIRY_S)
    keepalive_interval_s: int = Field(default=60, ge=MIN_KEEPALIVE_S, le=MAX_KEEPALIVE_S)
    enabled: bool = True

    def data(self) -> PlatformInput:
        return PlatformInput(
            self.name, self.sip_id, self.domain, self.host, self.port, self.transport,
            self.password, self.register_expiry_s, self.keepalive_interval_s, self.enabled,
        )  # fmt: skip


class ShareIn(In):
    camera_id: Id


@router.post("/gb/upper-platforms", status_code=201)
def create_platform(body: PlatformIn, caller: Writer, c: ContainerDep) -> dict[str, Any]:
    return c.gb_cascade.create(caller.principal, body.data()).as_dict()


@router.put("/gb/upper-platforms/{platform_id}")
def update_platform(
    platform_id: Id, body: PlatformIn, caller: Writer, c: ContainerDep
) -> dict[str, Any]:
    return c.gb_cascade.update(caller.principal, platform_id, body.data()).as_dict()


@router.get("/gb/upper-platforms")
def list_platforms(caller: Reader, c: ContainerDep) -> list[dict[str, Any]]:
    """Each platform with ``link``: registering, registered, failed (``last_error``) or
    disabled, and ``since`` when."""
    return [v.as_dict() for v in c.gb_cascade.platforms(caller.principal)]


@router.get("/gb/upper-platforms/{platform_id}")
def get_platform(platform_id: Id, caller: Reader, c: ContainerDep) -> dict[str, Any]:
    return c.gb_cascade.get(caller.principal, platform_id).as_dict()


@router.get("/gb/upper-platforms/{platform_id}/shares")
def list_shares(platform_id: Id, caller: Reader, c: ContainerDep) -> list[dict[str, Any]]:
    return [s.as_dict() for s in c.gb_cascade.shares(caller.principal, platform_id)]


@router.post("/gb/upper-platforms/{platform_id}/shares", status_code=201)
def share_camera(platform_id: Id, body: ShareIn, caller: Writer, c: ContainerDep) -> dict[str, Any]:
    """Give the platform a camera. A camera at a classified site is refused over a network that
    is not private (the platform ID's network digit), citing the article."""
    return c.gb_cascade.share(caller.principal, platform_id, body.camera_id).as_dict()


@router.delete("/gb/upper-platforms/{platform_id}/shares/{camera_id}", status_code=204)
def unshare_camera(platform_id: Id, camera_id: Id, caller: Writer, c: ContainerDep) -> Response:
    c.gb_cascade.unshare(caller.principal, platform_id, camera_id)
    return Response(status_code=204)
