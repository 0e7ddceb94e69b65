"""PTZ of a placed GB/T 28181 channel: a MANSCDP ``DeviceControl`` with the annex A ``PTZCmd``,
sent to the channel's device through the SIP server, each command in the operation log.

The SIP server connects its sender with :meth:`GbPtzService.connect` when it starts (only
``custos serve`` with ``gb_enabled`` runs one); without it a command is refused, saying why.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from typing import Any, Protocol

from custos.domain.access import Permission
from custos.domain.audit import AuditEvent
from custos.domain.clock import Clock
from custos.domain.errors import FieldError, NotFound, ValidationFailed
from custos.domain.gb_channel import GbChannel
from custos.domain.manscdp_build import build_ptz_control
from custos.domain.manscdp_ptz import PtzCommand
from custos.domain.onvif import PtzAction, check_ptz
from custos.domain.onvif import PtzCommand as WallPtzCommand
from custos.domain.users import Principal
from custos.domain.visibility import reaches_site
from custos.services.ports import UnitOfWork
from custos.services.refusals import refusals_logged


def gb_ptz_command(cmd: WallPtzCommand) -> PtzCommand:
    """The duty wall's command (ONVIF-style speeds) for a GB/T 28181 channel: a move at the
    same speeds, or stop. A preset is refused: GB presets (annex A's 0x81–0x83) are not built."""
    if cmd.action is PtzAction.PRESET:
        raise ValidationFailed(
            FieldError("action", "presets are not sent to GB/T 28181 devices; move or stop")
        )
    if errors := check_ptz(cmd):
        raise ValidationFailed(errors)
    if cmd.action is PtzAction.STOP:
        return PtzCommand()
    return PtzCommand.from_velocity(cmd.pan, cmd.tilt, cmd.zoom)


Send = Callable[[str, bytes], None]
"""Send a MANSCDP body in a MESSAGE to a registered device (the SIP server's send_message)."""


class PtzChannels(Protocol):
    def get(self, channel_pk: int) -> GbChannel | None: ...
    def by_camera(self, camera_id: int) -> GbChannel | None: ...


class GbPtzUnitOfWork(UnitOfWork, Protocol):
    @property
    def gb_channels(self) -> PtzChannels: ...


class GbPtzService:
    def __init__(self, uow: Callable[[], GbPtzUnitOfWork], clock: Clock) -> None:
        self._uow = uow
        self._clock = clock
        self._send: Send | None = None
        self._lock = threading.Lock()
        self._sn = itertools.count(1)

    def connect(self, send: Send) -> None:
        self._send = send

    def channel_of(self, camera_id: int) -> int | None:
        """The channel a camera was placed from, if it is a GB/T 28181 channel's camera."""
        with self._uow() as uow:
            channel = uow.gb_channels.by_camera(camera_id)
        return None if channel is None or channel.id is None else channel.id

    def ptz_cameras(self, actor: Principal, camera_ids: list[int]) -> set[int]:
        """Of ``camera_ids`` (already in the actor's reach), the GB channels' cameras a PTZ
        command can reach now (the SIP server runs)."""
        if not actor.can(Permission.PTZ) or self._send is None:
            return set()
        return {i for i in camera_ids if self.channel_of(i) is not None}

    def command(self, actor: Principal, channel_pk: int, command: PtzCommand) -> dict[str, Any]:
        """Send ``command`` to the device of a placed channel; the entry says what was sent."""
        actor.require(Permission.PTZ)
        logged = refusals_logged(
            self._uow, self._clock, actor, "gb_channel.ptz", "gb_channel", channel_pk
        )
        with logged, self._uow() as uow:
            channel = uow.gb_channels.get(channel_pk)
            if channel is None or not reaches_site(actor, channel.unit_id, channel.channel_id[:6]):
                raise NotFound("gb_channel", channel_pk)
            if channel.camera_id is None:
                raise ValidationFailed(
                    FieldError("channel", "is not placed; place it as a camera first")
                )
            if self._send is None:
                reason = "the GB/T 28181 SIP server is not running (setting gb_enabled)"
                raise ValidationFailed(FieldError("device_id", reason))
            with self._lock:
                sn = next(self._sn) % (2**31 - 1)
            body = build_ptz_control(sn, channel.channel_id, command)
            sent = {
                "device_id": channel.device_id,
                "channel_id": channel.channel_id,
                "camera_id": channel.camera_id,
                "sn": sn,
                "ptz_cmd": command.to_hex(),
                "pan": command.pan.value,
                "tilt": command.tilt.value,
                "zoom": command.zoom.value,
            }
            uow.audit.append(
                AuditEvent(self._clock.now(), actor.username, "gb_channel.ptz", "gb_channel",
                           str(channel_pk), detail=sent)
            )  # fmt: skip
            uow.commit()
        self._send(channel.device_id, body)
        return sent
