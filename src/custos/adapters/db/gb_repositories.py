"""GB/T 28181 devices: the allow-list (password sealed by the secret box) and registrations."""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from custos.adapters.db.gb_tables import gb_devices
from custos.domain.gb_device import GbDevice
from custos.services.ports import SecretBox

_STATE = ("registered_at", "expires_at", "last_seen_at", "last_keepalive_at", "address",
          "transport", "clock_drift_s", "offline")  # fmt: skip


class GbDeviceRepository:
    def __init__(self, conn: Connection, secrets: SecretBox) -> None:
        self._conn = conn
        self._secrets = secrets

    def add(self, d: GbDevice, password: str) -> GbDevice:
        row = {k: v for k, v in _row(d).items() if k != "id"}
        row["password_sealed"] = self._secrets.seal(password)
        new_id = self._conn.execute(insert(gb_devices).values(**row)).inserted_primary_key
        assert new_id is not None
        return dataclasses.replace(d, id=int(new_id[0]))

    def update(self, d: GbDevice, password: str | None) -> None:
        values: dict[str, Any] = {"name": d.name}
        if password is not None:
            values["password_sealed"] = self._secrets.seal(password)
        self._conn.execute(update(gb_devices).where(gb_devices.c.id == d.id).values(**values))

    def save_state(self, d: GbDevice) -> None:
        values = {k: v for k, v in _row(d).items() if k in _STATE}
        self._conn.execute(update(gb_devices).where(gb_devices.c.id == d.id).values(**values))

    def remove(self, device_pk: int) -> None:
        self._conn.execute(delete(gb_devices).where(gb_devices.c.id == device_pk))

    def get(self, device_pk: int) -> GbDevice | None:
        r = self._conn.execute(select(gb_devices).where(gb_devices.c.id == device_pk)).first()
        return _device(r._mapping) if r is not None else None

    def by_device_id(self, device_id: str) -> GbDevice | None:
        q = select(gb_devices).where(gb_devices.c.device_id == device_id)
        r = self._conn.execute(q).first()
        return _device(r._mapping) if r is not None else None

    def password(self, device_id: str) -> str | None:
        q = select(gb_devices.c.password_sealed).where(gb_devices.c.device_id == device_id)
        sealed = self._conn.execute(q).scalar_one_or_none()
        return self._secrets.open(sealed) if sealed is not None else None

    def find(self, unit_id: int | None = None) -> list[GbDevice]:
        q = select(gb_devices).order_by(gb_devices.c.device_id)
        if unit_id is not None:
            q = q.where(gb_devices.c.unit_id == unit_id)
        return [_device(r._mapping) for r in self._conn.execute(q)]

    def registered(self) -> list[GbDevice]:
        """Devices with a live registration the offline check must watch."""
        q = select(gb_devices).where(
            gb_devices.c.expires_at.is_not(None), gb_devices.c.offline.is_(False)
        )
        return [_device(r._mapping) for r in self._conn.execute(q)]


def _row(d: GbDevice) -> dict[str, Any]:
    return {f.name: getattr(d, f.name) for f in dataclasses.fields(d)}


def _device(m: Any) -> GbDevice:
    return GbDevice(**{f.name: m[f.name] for f in dataclasses.fields(GbDevice)})
