"""GB/T 28181 channels: what a device's Catalog reports, before and after a unit manager places it.

A channel is a catalogue item whose 20-digit ID is a video source's address code, checked exactly
as the registry checks a typed-in camera's (:func:`channel_code_problem`). Items that are not
video sources (the device itself, business groups 215, virtual organisations 216, alarm inputs …)
are not channels: they are skipped, with the reason. A channel is *planned* and unattached until
placed; placing it creates a registry camera (``camera_id``) at a site, and the placement rules
apply then. A catalogue change (Notify) or a complete catalogue that no longer lists a channel
marks it ``present = False``; it is never deleted, and its camera, if any, is left to the registry.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from custos.domain.codes import RECORDABLE_TYPE_CODES, AddressCode
from custos.domain.errors import ValidationFailed
from custos.domain.manscdp import CatalogItem

NAME_MAX = 100
TEXT_MAX = 200

#: catalogue change events (GB/T 28181-2016 A.2.4 / 2022 edition) and what each does
ADDING_EVENTS = frozenset({"ADD", "UPDATE"})
REMOVING_EVENTS = frozenset({"DEL"})
STATUS_EVENTS = {"ON": "ON", "OFF": "OFF", "VLOST": "VLOST", "DEFECT": "DEFECT"}


def channel_code_problem(channel_id: str) -> str | None:
    """Why ``channel_id`` cannot be a camera's address code (the registry's rules), or None."""
    try:
        code = AddressCode.parse(channel_id, "channel_id")
    except ValidationFailed as error:
        return "; ".join(e.reason for e in error.errors)
    if not code.is_recordable:
        allowed = ", ".join(sorted(RECORDABLE_TYPE_CODES))
        return (
            f"type code {code.type_code} ({code.type_name or 'unnamed'}) is not a video source; "
            f"a camera's address code needs one of {allowed} (GB/T 28181)"
        )
    return None


@dataclass(frozen=True)
class GbChannel:
    id: int | None
    device_id: str
    channel_id: str
    unit_id: int
    name: str
    manufacturer: str
    model: str
    status: str  # ON, OFF, VLOST, DEFECT as last reported; "" if never said
    parental: bool
    parent_id: str
    civil_code: str
    address: str
    present: bool  # still in the device's catalogue
    camera_id: int | None  # the registry camera once placed
    first_seen_at: datetime
    last_seen_at: datetime

    @property
    def state(self) -> str:
        return "placed" if self.camera_id is not None else "planned"

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "device_id": self.device_id,
            "channel_id": self.channel_id,
            "unit_id": self.unit_id,
            "name": self.name,
            "manufacturer": self.manufacturer,
            "model": self.model,
            "status": self.status,
            "parental": self.parental,
            "parent_id": self.parent_id,
            "civil_code": self.civil_code,
            "address": self.address,
            "present": self.present,
            "state": self.state,
            "camera_id": self.camera_id,
            "first_seen_at": self.first_seen_at.isoformat(),
            "last_seen_at": self.last_seen_at.isoformat(),
        }


def _clip(text: str | None, limit: int) -> str:
    return (text or "").strip()[:limit]


def channel_from_item(
    item: CatalogItem, device_id: str, unit_id: int, known: GbChannel | None, now: datetime
) -> GbChannel:
    """The channel as ``item`` reports it; fields the item leaves out keep their known value."""
    fresh = GbChannel(
        id=None,
        device_id=device_id,
        channel_id=item.device_id,
        unit_id=unit_id,
        name=_clip(item.name, NAME_MAX) or item.device_id,
        manufacturer=_clip(item.manufacturer, TEXT_MAX),
        model=_clip(item.model, TEXT_MAX),
        status=_clip(STATUS_EVENTS.get(item.event or "", item.status), 16).upper(),
        parental=bool(item.parental),
        parent_id=_clip(item.parent_id, 20),
        civil_code=_clip(item.civil_code, 20),
        address=_clip(item.address, TEXT_MAX),
        present=True,
        camera_id=None,
        first_seen_at=now,
        last_seen_at=now,
    )
    if known is None:
        return fresh
    return replace(
        known,
        name=_clip(item.name, NAME_MAX) or known.name,
        manufacturer=fresh.manufacturer or known.manufacturer,
        model=fresh.model or known.model,
        status=fresh.status or known.status,
        parental=known.parental if item.parental is None else fresh.parental,
        parent_id=fresh.parent_id or known.parent_id,
        civil_code=fresh.civil_code or known.civil_code,
        address=fresh.address or known.address,
        present=True,
        last_seen_at=now,
    )
