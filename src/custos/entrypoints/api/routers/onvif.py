"""ONVIF onboarding (discover → proposals → accept or dismiss), camera clocks, PTZ.

Credentials go in (to discover with) and never come out: a proposal says only whether it has
them (``has_credentials``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import Field, SecretStr

from custos.domain.access import Permission
from custos.domain.onvif import Credentials, ProposalStatus, PtzAction, PtzCommand
from custos.entrypoints.api.bounds import Id, RetentionDays
from custos.entrypoints.api.deps import Caller, ContainerDep, needs
from custos.entrypoints.api.schemas import In
from custos.services.gb_ptz import gb_ptz_command
from custos.services.onvif_onboarding import Placement

router = APIRouter(tags=["onvif"])
Onboarder = Annotated[Caller, needs(Permission.ONVIF_ONBOARD)]
Ptz = Annotated[Caller, needs(Permission.PTZ)]


class DiscoverIn(In):
    unit_id: Id = Field(description="the unit the devices found are proposed to")
    address: str | None = Field(
        default=None, max_length=15, description="an IPv4 address of this server's interface"
    )
    interface: str | None = Field(
        default=None, max_length=32, description="or the interface's name (eth0)"
    )
    username: str | None = Field(default=None, max_length=100, description="the ONVIF user")
    password: SecretStr | None = Field(default=None, max_length=200)
    timeout_s: float = Field(default=3.0, ge=0.5, le=30, description="how long to listen")


class AcceptIn(In):
    site_id: Id
    address_code: str = Field(max_length=40)
    name: str = Field(max_length=200)
    location_categories: list[str]
    device_type: str = Field(default="", max_length=100)
    install_position: str = Field(default="", max_length=500)
    field_of_view: str = Field(default="", max_length=500)
    covers_public_area: bool = False
    captures_public_area_outside_premises: bool = False
    retention_days: RetentionDays | None = None


class TimeSyncIn(In):
    camera_time_sync: bool = Field(description="Custos may set this unit's camera clocks")


class PtzIn(In):
    action: PtzAction
    pan: float = Field(default=0.0, ge=-1, le=1)
    tilt: float = Field(default=0.0, ge=-1, le=1)
    zoom: float = Field(default=0.0, ge=-1, le=1)
    preset: str | None = Field(default=None, max_length=64)
    timeout_s: float = Field(default=1.0, ge=0.1, le=60, description="a move stops after this")


@router.post("/onvif/discover")
def discover(body: DiscoverIn, caller: Onboarder, c: ContainerDep) -> list[dict[str, Any]]:
    """WS-Discovery from one interface; each device found becomes a proposal (never a camera)."""
    creds = None
    if body.username:
        secret = body.password.get_secret_value() if body.password else ""
        creds = Credentials(body.username, secret)
    found = c.onboarding.discover(caller.principal, body.unit_id, body.interface, body.address, creds,
                                  body.timeout_s)  # fmt: skip
    return [p.as_dict() for p in found]


@router.get("/onvif/proposals")
def list_proposals(
    caller: Onboarder, c: ContainerDep, status: ProposalStatus | None = None
) -> list[dict[str, Any]]:
    return [p.as_dict() for p in c.onboarding.list(caller.principal, status)]


@router.post("/onvif/proposals/{proposal_id}/accept", status_code=201)
def accept(proposal_id: Id, body: AcceptIn, caller: Onboarder, c: ContainerDep) -> dict[str, Any]:
    """Into the registry as a planned camera, through the registry's own checks."""
    cam = c.onboarding.accept(caller.principal, proposal_id, Placement(**body.model_dump()))
    return {
        "camera_id": cam.id,
        "proposal": c.onboarding.get(caller.principal, proposal_id).as_dict(),
    }


@router.post("/onvif/proposals/{proposal_id}/dismiss")
def dismiss(proposal_id: Id, caller: Onboarder, c: ContainerDep) -> dict[str, Any]:
    return c.onboarding.dismiss(caller.principal, proposal_id).as_dict()


@router.post("/cameras/{camera_id}/clock/check")
def check_clock(camera_id: Id, caller: Onboarder, c: ContainerDep) -> dict[str, Any]:
    """Measure the camera's clock now; set it where the unit allows and it is beyond the limit."""
    return c.camera_time.check(caller.principal, camera_id).as_dict()


@router.get("/units/{unit_id}/onvif-settings")
def get_settings(unit_id: Id, caller: Onboarder, c: ContainerDep) -> dict[str, Any]:
    return {"camera_time_sync": c.camera_time.time_sync(caller.principal, unit_id)}


@router.put("/units/{unit_id}/onvif-settings")
def put_settings(
    unit_id: Id, body: TimeSyncIn, caller: Onboarder, c: ContainerDep
) -> dict[str, Any]:
    allowed = c.camera_time.set_time_sync(caller.principal, unit_id, body.camera_time_sync)
    return {"camera_time_sync": allowed}


@router.post("/cameras/{camera_id}/ptz")
def ptz(camera_id: Id, body: PtzIn, caller: Ptz, c: ContainerDep) -> dict[str, Any]:
    """ContinuousMove (``move``), ``stop`` or GotoPreset (``preset``); in the operation log.
    A GB/T 28181 channel's camera gets the same move or stop as a DeviceControl PTZCmd (its
    device moves until told to stop; presets are not sent to GB devices)."""
    cmd = PtzCommand(body.action, body.pan, body.tilt, body.zoom, body.preset, body.timeout_s)
    channel = c.gb_ptz.channel_of(camera_id)
    if channel is None:
        return c.ptz.command(caller.principal, camera_id, cmd)
    return c.gb_ptz.command(caller.principal, channel, gb_ptz_command(cmd))


@router.get("/onvif/ptz-cameras")
def ptz_cameras(caller: Ptz, c: ContainerDep) -> list[int]:
    """The cameras in the caller's reach that PTZ commands can move (the wall's controls)."""
    ids = [cam.id for cam in c.registry.list_cameras(caller.principal) if cam.id is not None]
    movable = c.ptz.ptz_cameras(caller.principal, ids) | c.gb_ptz.ptz_cameras(caller.principal, ids)
    return sorted(movable)


@router.get("/cameras/{camera_id}/ptz/presets")
def ptz_presets(camera_id: Id, caller: Ptz, c: ContainerDep) -> list[str]:
    """The camera's preset tokens, as the device lists them (GetPresets)."""
    return c.ptz.presets(caller.principal, camera_id)
