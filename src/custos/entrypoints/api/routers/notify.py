"""Alarm delivery: notification channels, the escalation rota, and each alarm's deliveries.

A channel's URL and secret are write-only: answers carry a masked target (scheme and host).
``unit_id`` absent means the system's own channels and rota (administrators)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Response
from pydantic import Field

from custos.domain.access import Permission
from custos.domain.notify import MAX_ENTRIES_PER_LEVEL, MAX_ROTA_LEVELS, ChannelKind, RotaEntry
from custos.entrypoints.api.bounds import Id
from custos.entrypoints.api.deps import Caller, ContainerDep, needs
from custos.entrypoints.api.schemas import In
from custos.services.notify_channels import ChannelChange, ChannelInput

router = APIRouter(tags=["alarm delivery"])
Manager = Annotated[Caller, needs(Permission.NOTIFY_MANAGE)]
Reader = Annotated[Caller, needs(Permission.ALARM_READ)]


class ChannelIn(In):
    unit_id: Id | None = Field(default=None, description="absent: a system-wide channel")
    name: str = Field(min_length=1, max_length=100)
    kind: ChannelKind
    url: str = Field(
        min_length=4,
        max_length=2000,
        description="an Apprise URL (mailto://, dingtalk://, wecombot://, feishu:// …) or, for "
        "a webhook, http(s)://; stored encrypted, never shown again",
    )
    secret: str | None = Field(
        default=None, min_length=16, max_length=200, description="the webhook's HMAC key"
    )
    enabled: bool = True


class ChannelPatch(In):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    url: str | None = Field(default=None, min_length=4, max_length=2000)
    secret: str | None = Field(default=None, min_length=16, max_length=200)
    enabled: bool | None = None


class RotaEntryIn(In):
    user_id: Id | None = None
    channel_id: Id | None = None


class RotaIn(In):
    levels: list[Annotated[list[RotaEntryIn], Field(max_length=MAX_ENTRIES_PER_LEVEL)]] = Field(
        max_length=MAX_ROTA_LEVELS,
        description="level 0 first (used when nobody is signed on duty), then who is reached "
        "when an alarm stays unacknowledged",
    )


def _rota(levels: list[list[RotaEntry]]) -> dict[str, Any]:
    return {
        "levels": [
            [{"user_id": e.user_id, "channel_id": e.channel_id} for e in level] for level in levels
        ]
    }


@router.get("/notify/channels")
def list_channels(caller: Manager, c: ContainerDep, unit_id: Id | None = None) -> list[Any]:
    return [ch.as_dict() for ch in c.channels.channels_of(caller.principal, unit_id)]


@router.post("/notify/channels", status_code=201)
def create_channel(body: ChannelIn, caller: Manager, c: ContainerDep) -> dict[str, Any]:
    data = ChannelInput(body.unit_id, body.name, body.kind, body.url, body.secret, body.enabled)
    return c.channels.create(caller.principal, data).as_dict()


@router.patch("/notify/channels/{channel_id}")
def update_channel(
    channel_id: Id, body: ChannelPatch, caller: Manager, c: ContainerDep
) -> dict[str, Any]:
    change = ChannelChange(body.name, body.url, body.secret, body.enabled)
    return c.channels.update(caller.principal, channel_id, change).as_dict()


@router.delete("/notify/channels/{channel_id}", status_code=204)
def delete_channel(channel_id: Id, caller: Manager, c: ContainerDep) -> Response:
    """Remove the channel from every rota; it is kept, disabled, while deliveries cite it."""
    c.channels.remove(caller.principal, channel_id)
    return Response(status_code=204)


@router.post("/notify/channels/{channel_id}/test")
def test_channel(channel_id: Id, caller: Manager, c: ContainerDep) -> dict[str, Any]:
    """Send a test message now; the answer says whether the channel took it."""
    return c.channels.test(caller.principal, channel_id)


@router.get("/notify/rota")
def get_rota(caller: Manager, c: ContainerDep, unit_id: Id | None = None) -> dict[str, Any]:
    return {"unit_id": unit_id, **_rota(c.channels.rota(caller.principal, unit_id))}


@router.get("/notify/rota/people")
def rota_people(caller: Manager, c: ContainerDep, unit_id: Id | None = None) -> list[Any]:
    """The people who may stand in the rota (the unit's active users)."""
    return c.channels.people(caller.principal, unit_id)


@router.put("/notify/rota")
def put_rota(
    body: RotaIn, caller: Manager, c: ContainerDep, unit_id: Id | None = None
) -> dict[str, Any]:
    levels = [
        [RotaEntry(i, e.user_id, e.channel_id) for e in lv] for i, lv in enumerate(body.levels)
    ]
    return {"unit_id": unit_id, **_rota(c.channels.set_rota(caller.principal, unit_id, levels))}


@router.get("/alarms/{alarm_id}/deliveries")
def alarm_deliveries(alarm_id: Id, caller: Reader, c: ContainerDep) -> dict[str, Any]:
    """Where the alarm was sent, each delivery's status, tries and last error."""
    return c.delivery.deliveries(caller.principal, alarm_id)
