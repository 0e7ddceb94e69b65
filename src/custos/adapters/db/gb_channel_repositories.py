"""Repositories of migration 0019: GB/T 28181 channels and devices' last reports."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, insert, select, update

from custos.adapters.db import gb_channel_tables as gt
from custos.domain.gb_channel import GbChannel

_FIELDS = [f.name for f in dataclasses.fields(GbChannel) if f.name != "id"]


class GbChannelRepository:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(self, channel: GbChannel) -> GbChannel:
        values = {name: getattr(channel, name) for name in _FIELDS}
        key = self._c.execute(insert(gt.gb_channels).values(**values)).inserted_primary_key
        assert key is not None
        return dataclasses.replace(channel, id=int(key[0]))

    def update(self, channel: GbChannel) -> None:
        """What the device reported; never ``camera_id`` (see :meth:`attach`), so a catalogue
        read before a placement cannot undo it."""
        values = {name: getattr(channel, name) for name in _FIELDS if name != "camera_id"}
        self._c.execute(
            update(gt.gb_channels).where(gt.gb_channels.c.id == channel.id).values(**values)
        )

    def attach(self, channel_pk: int, camera_id: int) -> None:
        t = gt.gb_channels
        self._c.execute(update(t).where(t.c.id == channel_pk).values(camera_id=camera_id))

    def get(self, channel_pk: int) -> GbChannel | None:
        row = self._c.execute(select(gt.gb_channels).where(gt.gb_channels.c.id == channel_pk))
        found = row.mappings().first()
        return None if found is None else _channel(found)

    def by_camera(self, camera_id: int) -> GbChannel | None:
        t = gt.gb_channels
        found = self._c.execute(select(t).where(t.c.camera_id == camera_id)).mappings().first()
        return None if found is None else _channel(found)

    def find(self, unit_id: int | None = None, device_id: str | None = None) -> list[GbChannel]:
        q = select(gt.gb_channels).order_by(gt.gb_channels.c.device_id, gt.gb_channels.c.channel_id)
        if unit_id is not None:
            q = q.where(gt.gb_channels.c.unit_id == unit_id)
        if device_id is not None:
            q = q.where(gt.gb_channels.c.device_id == device_id)
        return [_channel(r) for r in self._c.execute(q).mappings()]


def _channel(r: RowMapping) -> GbChannel:
    return GbChannel(id=r["id"], **{name: r[name] for name in _FIELDS})


class GbDeviceReportRepository:
    """What each device last said in DeviceInfo and DeviceStatus (plain dictionaries)."""

    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def save(self, device_id: str, kind: str, report: dict[str, Any], at: datetime) -> None:
        assert kind in ("info", "status")
        t = gt.gb_device_reports
        values = {kind: report, f"{kind}_at": at}
        done = self._c.execute(update(t).where(t.c.device_id == device_id).values(**values))
        if done.rowcount == 0:
            self._c.execute(insert(t).values(device_id=device_id, **values))

    def get(self, device_id: str) -> dict[str, Any]:
        t = gt.gb_device_reports
        row = self._c.execute(select(t).where(t.c.device_id == device_id)).mappings().first()
        if row is None:
            return {"info": None, "info_at": None, "status": None, "status_at": None}
        return {
            "info": row["info"],
            "info_at": None if row["info_at"] is None else row["info_at"].isoformat(),
            "status": row["status"],
            "status_at": None if row["status_at"] is None else row["status_at"].isoformat(),
        }
