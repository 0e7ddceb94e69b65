"""The duty wall's saved layouts (table in :mod:`custos.adapters.db.wall_tables`): one row per
user or room, replaced in place when saved again."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, RowMapping, insert, select, update

from custos.adapters.db.wall_tables import wall_layouts as t
from custos.domain.wall import Tile, Tour, WallLayout


class WallLayoutRepository:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def of_user(self, user_id: int) -> WallLayout | None:
        row = self._c.execute(select(t).where(t.c.owner_id == user_id)).mappings().first()
        return _layout(row) if row is not None else None

    def of_room(self, room_id: int) -> WallLayout | None:
        row = self._c.execute(select(t).where(t.c.room_id == room_id)).mappings().first()
        return _layout(row) if row is not None else None

    def save(self, layout: WallLayout) -> WallLayout:
        """Insert the holder's layout, or replace the one it has (its id stays)."""
        old = (
            self.of_user(layout.owner_id)
            if layout.owner_id is not None
            else self.of_room(layout.room_id or 0)
        )
        values = {
            "owner_id": layout.owner_id,
            "room_id": layout.room_id,
            "grid": layout.grid,
            "tiles": [tile.as_dict() for tile in layout.tiles],
            "updated_at": layout.updated_at,
            "updated_by": layout.updated_by,
        }
        if old is not None:
            self._c.execute(update(t).where(t.c.id == old.id).values(**values))
            return dataclasses.replace(layout, id=old.id)
        key = self._c.execute(insert(t).values(**values)).inserted_primary_key
        assert key is not None
        return dataclasses.replace(layout, id=int(key[0]))

    def drop_user(self, user_id: int) -> bool:
        """Remove the user's own layout; whether there was one."""
        return bool(self._c.execute(t.delete().where(t.c.owner_id == user_id)).rowcount)


def _tile(data: Mapping[str, Any]) -> Tile:
    tour = data.get("tour")
    if isinstance(tour, Mapping):
        return Tile(tour=Tour(tuple(int(c) for c in tour["camera_ids"]), int(tour["interval_s"])))
    camera = data.get("camera_id")
    return Tile(camera_id=int(camera) if camera is not None else None)


def _layout(row: RowMapping) -> WallLayout:
    return WallLayout(
        id=row["id"],
        owner_id=row["owner_id"],
        room_id=row["room_id"],
        grid=row["grid"],
        tiles=tuple(_tile(d) for d in row["tiles"]),
        updated_at=row["updated_at"],
        updated_by=row["updated_by"],
    )
