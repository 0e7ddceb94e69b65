"""GB/T 28181 channels reported by devices' catalogues; placing one makes it a registry camera
under the same rules as a typed-in camera (issue 12 §1)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import Field

from custos.domain.access import Permission
from custos.domain.manscdp_ptz import Pan, PtzCommand, Tilt, Zoom
from custos.domain.registry import Signage
from custos.entrypoints.api.bounds import Id, RetentionDays
from custos.entrypoints.api.deps import Caller, ContainerDep, needs
from custos.entrypoints.api.schemas import In, SignageIn
from custos.services.gb_placement import Placement

router = APIRouter(tags=["gb28181 channels"])
Reader = Annotated[Caller, needs(Permission.REGISTRY_READ)]
Manager = Annotated[Caller, needs(Permission.CAMERA_MANAGE)]
Ptz = Annotated[Caller, needs(Permission.PTZ)]
DEVICE_ID = r"^[0-9]{20}$"


class PlaceIn(In):
    site_id: Id
    location_categories: list[str] = Field(max_length=50)
    name: str | None = Field(
        default=None, max_length=100, description="default: the name the device reports"
    )
    install_position: str = Field(default="", max_length=500)
    field_of_view: str = Field(default="", max_length=500)
    covers_public_area: bool = False
    captures_public_area_outside_premises: bool = False
    signage: SignageIn = SignageIn()
    retention_days: RetentionDays | None = None
    ptz: bool = False


@router.get("/gb/channels")
def list_channels(
    caller: Reader,
    c: ContainerDep,
    device_id: Annotated[str | None, Query(pattern=DEVICE_ID)] = None,
) -> list[dict[str, Any]]:
    """Channels of the devices you can see: *planned* until placed, then *placed* with the
    camera's id; ``present`` false once the device's catalogue no longer lists it."""
    return [ch.as_dict() for ch in c.gb_channels.list_channels(caller.principal, device_id)]


@router.post("/gb/channels/{channel_id}/place", status_code=201)
def place_channel(
    channel_id: Id, body: PlaceIn, caller: Manager, c: ContainerDep
) -> dict[str, Any]:
    """Create the channel's camera at a site (address code = the channel ID): the registry's
    field checks and placement rules apply, each refusal citing its article."""
    raw = body.model_dump()
    raw["signage"] = Signage(**raw["signage"])
    cam = c.gb_channels.place(caller.principal, channel_id, Placement(**raw))
    return {"camera_id": cam.id, "address_code": cam.address_code, "site_id": cam.site_id}


class GbPtzIn(In):
    pan: Pan = Pan.NONE
    tilt: Tilt = Tilt.NONE
    zoom: Zoom = Zoom.NONE
    pan_speed: int = Field(default=128, ge=0, le=255)
    tilt_speed: int = Field(default=128, ge=0, le=255)
    zoom_speed: int = Field(default=8, ge=0, le=15)


@router.post("/gb/channels/{channel_id}/ptz")
def ptz(channel_id: Id, body: GbPtzIn, caller: Ptz, c: ContainerDep) -> dict[str, Any]:
    """Move (or stop: every direction ``none``) a placed channel's camera: DeviceControl
    ``PTZCmd`` to its device; in the operation log with the command sent."""
    command = PtzCommand(**body.model_dump())
    return c.gb_ptz.command(caller.principal, channel_id, command)


@router.get("/gb/devices/{device_id}/report")
def device_report(
    device_id: Annotated[str, Path(pattern=DEVICE_ID)], caller: Reader, c: ContainerDep
) -> dict[str, Any]:
    """What the device last said of itself (DeviceInfo, DeviceStatus) and when."""
    return c.gb_channels.device_report(caller.principal, device_id)
