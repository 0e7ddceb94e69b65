"""PTZ from the duty wall: ContinuousMove, Stop, GotoPreset; every command in the operation log.

A command reaches the camera only for a person with the ``ptz`` permission who reaches the
camera, and only for a camera that came in through ONVIF with a PTZ profile. A command the
device refuses is a refusal (logged as such), not a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from custos.domain.access import Permission
from custos.domain.audit import AuditEvent
from custos.domain.clock import Clock
from custos.domain.errors import FieldError, ValidationFailed
from custos.domain.onvif import PtzCommand, check_ptz
from custos.domain.users import Principal
from custos.services.onvif_ports import OnvifClient, OnvifLinks, reached_camera
from custos.services.ports import UnitOfWork
from custos.services.refusals import refusals_logged


class PtzUnitOfWork(UnitOfWork, Protocol):
    @property
    def onvif_links(self) -> OnvifLinks: ...


class PtzService:
    def __init__(self, uow: Callable[[], PtzUnitOfWork], client: OnvifClient, clock: Clock) -> None:
        self._uow = uow
        self._client = client
        self._clock = clock

    def command(self, actor: Principal, camera_id: int, cmd: PtzCommand) -> dict[str, Any]:
        actor.require(Permission.PTZ)
        detail = cmd.as_dict()
        with refusals_logged(self._uow, self._clock, actor, "camera.ptz", "camera", camera_id,
                             detail):  # fmt: skip
            if errors := check_ptz(cmd):
                raise ValidationFailed(errors)
            with self._uow() as uow:
                reached_camera(uow, actor, camera_id)
                link = uow.onvif_links.get(camera_id)
            if link is None or not link.has_ptz or link.profile_token is None:
                raise ValidationFailed(
                    FieldError(
                        "camera_id",
                        "is not an ONVIF camera with pan/tilt/zoom",
                        key="onvif.not_ptz",
                    )
                )
            self._client.ptz(link.xaddr, link.credentials, link.profile_token, cmd)
            now = self._clock.now()
            with self._uow() as uow:
                uow.audit.append(
                    AuditEvent(now, actor.username, "camera.ptz", "camera", str(camera_id),
                               detail=detail)
                )  # fmt: skip
                uow.commit()
        return {"camera_id": camera_id, **detail, "at": now.isoformat()}

    def presets(self, actor: Principal, camera_id: int) -> list[str]:
        """The camera's preset tokens (GetPresets)."""
        actor.require(Permission.PTZ)
        with self._uow() as uow:
            reached_camera(uow, actor, camera_id)
            link = uow.onvif_links.get(camera_id)
        if link is None or not link.has_ptz or link.profile_token is None:
            raise ValidationFailed(
                FieldError(
                    "camera_id", "is not an ONVIF camera with pan/tilt/zoom", key="onvif.not_ptz"
                )
            )
        return self._client.presets(link.xaddr, link.credentials, link.profile_token)

    def ptz_cameras(self, actor: Principal, camera_ids: list[int]) -> set[int]:
        """Of ``camera_ids`` (already in the actor's reach), those PTZ commands can move."""
        if not actor.can(Permission.PTZ):
            return set()
        with self._uow() as uow:
            links = (uow.onvif_links.get(i) for i in camera_ids)
            return {link.camera_id for link in links if link is not None and link.has_ptz}
