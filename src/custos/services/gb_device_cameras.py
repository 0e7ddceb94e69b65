"""A GB/T 28181 device that goes offline takes the cameras placed from its channels with it
(issue 12 §1: "raises the same camera-offline state the recorder uses").

The recorder publishes each camera's health (state, reason, since) and the alarm watcher judges
it (:mod:`custos.services.alarm_watch`): a camera that should record and has not for longer than
the grace gets a camera fault and a ``camera_offline`` alarm, and the web UI shows the state.
When the SIP server's offline check marks a device offline (3 keepalive intervals silent), this
service writes the same health row for each camera placed from the device's channels: *offline*,
``unreachable``, since the device was last heard, its detail naming the device — unless the
recorder already reports that camera as not recording (its word stands). While the device stays
offline the rows are kept fresh, so the watcher never takes them for a recorder that stopped
reporting. When the device is heard again (keepalive or REGISTER), unregisters or is removed
from the allow-list, the rows still ours are taken away: the recorder's own report (or none)
is the state again, and the watcher recovers the fault and clears the alarm.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from custos.domain.camera_watch import STALE_HEALTH_S
from custos.domain.clock import Clock
from custos.domain.gb_channel import GbChannel
from custos.domain.gb_device import GbDevice
from custos.domain.recording import CameraHealth, OfflineReason, RecorderState
from custos.services.ports import UnitOfWork

log = logging.getLogger(__name__)

#: our rows are refreshed when older than this (the watcher takes 30 s old rows for stale)
REFRESH_AFTER = timedelta(seconds=STALE_HEALTH_S / 3)
_OURS = re.compile(r"^GB/T 28181 device ([0-9]{20}) offline")


class DeviceChannels(Protocol):
    def find(self, unit_id: int | None = None, device_id: str | None = None) -> list[GbChannel]: ...


class OfflineDevices(Protocol):
    def by_device_id(self, device_id: str) -> GbDevice | None: ...


class CameraHealthRows(Protocol):
    def put_many(self, board: Sequence[CameraHealth]) -> None: ...
    def get(self, camera_id: int) -> CameraHealth | None: ...
    def find(self) -> list[CameraHealth]: ...
    def remove(self, camera_id: int) -> None: ...


class GbCameraStateUnitOfWork(UnitOfWork, Protocol):
    @property
    def gb_channels(self) -> DeviceChannels: ...
    @property
    def gb_devices(self) -> OfflineDevices: ...
    @property
    def health(self) -> CameraHealthRows: ...


def offline_detail(device_id: str, seen: datetime) -> str:
    return f"GB/T 28181 device {device_id} offline: no keepalive since {seen.isoformat()}"


def device_of(health: CameraHealth) -> str | None:
    """The device whose going offline wrote this row, or None if the recorder wrote it."""
    if health.state is not RecorderState.OFFLINE:
        return None
    found = _OURS.match(health.detail)
    return found.group(1) if found else None


def offline_health(
    camera_id: int, device: GbDevice, before: CameraHealth | None, now: datetime
) -> CameraHealth | None:
    """The row saying the camera is offline with its device, or None where the recorder already
    reports it as not recording (a fresh row that is not *recording*)."""
    seen = device.last_seen_at or device.registered_at or now
    fresh = before is not None and now - before.updated_at <= timedelta(seconds=STALE_HEALTH_S)
    if before is not None and fresh and before.state is not RecorderState.RECORDING:
        return None
    if before is None:
        since = seen
    elif before.state is RecorderState.RECORDING:  # recorded until its last frame, at least
        since = min(now, max(seen, before.last_frame_at or before.updated_at))
    else:
        since = before.since
    return CameraHealth(
        camera_id=camera_id,
        state=RecorderState.OFFLINE,
        reason=OfflineReason.UNREACHABLE,
        detail=offline_detail(device.device_id, seen),
        since=since,
        last_frame_at=before.last_frame_at if before is not None else None,
        fps=None,
        bitrate_kbps=None,
        updated_at=now,
    )


class GbDeviceCameras:
    def __init__(self, uow: Callable[[], GbCameraStateUnitOfWork], clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def device_offline(self, device: GbDevice) -> list[int]:
        """Mark the cameras placed from ``device``'s channels offline; their ids."""
        now = self._clock.now()
        with self._uow() as uow:
            board = []
            for camera_id in _cameras_of(uow, device.device_id):
                row = offline_health(camera_id, device, uow.health.get(camera_id), now)
                if row is not None:
                    board.append(row)
            uow.health.put_many(board)
            uow.commit()
        if board:
            log.info("GB device %s offline: cameras %s marked offline", device.device_id,
                     [h.camera_id for h in board])  # fmt: skip
        return [h.camera_id for h in board]

    def device_back(self, device_id: str) -> list[int]:
        """The device is heard again (or said goodbye, or was removed): take away the rows its
        going offline wrote; the cameras' ids."""
        with self._uow() as uow:
            taken = []
            for camera_id in _cameras_of(uow, device_id):
                row = uow.health.get(camera_id)
                if row is not None and device_of(row) == device_id:
                    uow.health.remove(camera_id)
                    taken.append(camera_id)
            uow.commit()
        return taken

    def refresh(self) -> None:
        """Keep our rows fresh while their device is still offline; take away those of a device
        that is not (it came back while this server was down, or was removed)."""
        now = self._clock.now()
        with self._uow() as uow:
            ours = [(h, dev) for h in uow.health.find() if (dev := device_of(h)) is not None]
            if not ours:
                return
            fresh = []
            for h, device_id in ours:
                d = uow.gb_devices.by_device_id(device_id)
                if d is None or not d.offline:
                    uow.health.remove(h.camera_id)
                elif now - h.updated_at >= REFRESH_AFTER:
                    fresh.append(dataclasses.replace(h, updated_at=now))
            uow.health.put_many(fresh)
            uow.commit()


def _cameras_of(uow: GbCameraStateUnitOfWork, device_id: str) -> list[int]:
    return [c.camera_id for c in uow.gb_channels.find(device_id=device_id) if c.camera_id]
