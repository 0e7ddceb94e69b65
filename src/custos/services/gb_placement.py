"""Where a GB/T 28181 channel goes into the registry, and the camera it becomes there: the
fields a typed-in camera has, its address code the channel ID, and its main stream the
channel itself (``gb28181://<device>/<channel>``, UDP media unless the device is set to TCP),
recorded once the camera is in service like any other."""

from __future__ import annotations

from dataclasses import dataclass, field

from custos.domain.gb_channel import GbChannel
from custos.domain.gb_media import GbSource
from custos.domain.registry import Signage
from custos.services.registry import CameraInput


@dataclass
class Placement:
    """Where and how a channel goes into the registry: the fields a typed-in camera has, less
    the address code (the channel ID) and the stream (the device's)."""

    site_id: int
    location_categories: list[str]
    name: str | None = None
    install_position: str = ""
    field_of_view: str = ""
    covers_public_area: bool = False
    captures_public_area_outside_premises: bool = False
    signage: Signage = field(default_factory=Signage)
    retention_days: int | None = None
    ptz: bool = False


def camera_input(channel: GbChannel, where: Placement) -> CameraInput:
    return CameraInput(
        site_id=where.site_id,
        address_code=channel.channel_id,
        name=(where.name or channel.name).strip(),
        location_categories=where.location_categories,
        device_type="GB/T 28181",
        manufacturer=channel.manufacturer,
        model=channel.model,
        install_position=where.install_position,
        field_of_view=where.field_of_view,
        covers_public_area=where.covers_public_area,
        captures_public_area_outside_premises=where.captures_public_area_outside_premises,
        signage=where.signage,
        retention_days=where.retention_days,
        ptz=where.ptz,
        gb_source=GbSource(channel.device_id, channel.channel_id),
    )
