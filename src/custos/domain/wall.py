"""The duty wall's saved layouts (docs/design/live.md §3): a grid of tiles, each showing one
camera, a tour (cameras taking turns in the tile at an interval) or nothing.

A layout belongs to one user (their own wall) or to one monitoring room (the wall every operator
of the room opens when they have none of their own), never both. The checks here are the
layout's own shape; whether each camera is one the saver may see is the service's to decide.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from custos.domain.errors import FieldError, ValidationFailed

#: The fixed grids the wall offers; any other is custom "RxC".
GRIDS = {"1": (1, 1), "4": (2, 2), "9": (3, 3), "16": (4, 4)}
MAX_SIDE = 6  # a custom grid's rows and columns, each
MAX_TILES = MAX_SIDE * MAX_SIDE
TOUR_CAMERAS = (2, 32)  # a tour cycles at least two cameras, at most 32
TOUR_INTERVAL_S = (5, 600)  # seconds each camera of a tour stays in its tile
_CUSTOM = re.compile(r"^([1-9])x([1-9])$")


@dataclass(frozen=True)
class Tour:
    """Cameras taking turns in one tile, ``interval_s`` seconds each, in the order given."""

    camera_ids: tuple[int, ...]
    interval_s: int

    def as_dict(self) -> dict[str, Any]:
        return {"camera_ids": list(self.camera_ids), "interval_s": self.interval_s}


@dataclass(frozen=True)
class Tile:
    """One cell of the grid: a camera, a tour, or empty (both None)."""

    camera_id: int | None = None
    tour: Tour | None = None

    @property
    def camera_ids(self) -> tuple[int, ...]:
        """Every camera the tile shows, in order."""
        if self.tour is not None:
            return self.tour.camera_ids
        return (self.camera_id,) if self.camera_id is not None else ()

    def as_dict(self) -> dict[str, Any]:
        if self.tour is not None:
            return {"tour": self.tour.as_dict()}
        return {"camera_id": self.camera_id} if self.camera_id is not None else {}


@dataclass(frozen=True)
class WallLayout:
    """A saved wall: ``owner_id`` (a user) or ``room_id`` (a monitoring room), exactly one."""

    id: int | None
    owner_id: int | None
    room_id: int | None
    grid: str
    tiles: tuple[Tile, ...]
    updated_at: datetime
    updated_by: str

    @property
    def rows_cols(self) -> tuple[int, int]:
        return grid_size(self.grid) or (0, 0)

    @property
    def camera_ids(self) -> tuple[int, ...]:
        """Every camera on the wall, first appearance first."""
        return tuple(dict.fromkeys(c for t in self.tiles for c in t.camera_ids))

    def as_dict(self) -> dict[str, Any]:
        rows, cols = self.rows_cols
        return {
            "id": self.id,
            "owner_id": self.owner_id,
            "room_id": self.room_id,
            "grid": self.grid,
            "rows": rows,
            "cols": cols,
            "tiles": [t.as_dict() for t in self.tiles],
            "updated_at": self.updated_at.isoformat(),
            "updated_by": self.updated_by,
        }


def grid_size(grid: str) -> tuple[int, int] | None:
    """(rows, cols) of "1", "4", "9", "16" or a custom "RxC" (each 1..6); None if neither."""
    if grid in GRIDS:
        return GRIDS[grid]
    m = _CUSTOM.match(grid)
    if m is None:
        return None
    rows, cols = int(m[1]), int(m[2])
    return (rows, cols) if rows <= MAX_SIDE and cols <= MAX_SIDE else None


def _refusal(field: str, reason: str, key: str, **params: object) -> FieldError:
    return FieldError(field, reason, key=f"refusal.wall.{key}", params={"field": field, **params})


def check_layout(layout: WallLayout) -> None:
    """Raise :class:`ValidationFailed` naming each field that breaks the layout's shape."""
    errors: list[FieldError] = []
    if (layout.owner_id is None) == (layout.room_id is None):
        errors.append(_refusal("owner", "a layout is a user's or a room's", "owner"))
    size = grid_size(layout.grid)
    if size is None:
        errors.append(
            _refusal(
                "grid",
                f'one of 1, 4, 9, 16 or "RxC" with rows and columns 1..{MAX_SIDE}',
                "grid",
                most=MAX_SIDE,
            )
        )
    cells = size[0] * size[1] if size else MAX_TILES
    if len(layout.tiles) > cells:
        errors.append(
            _refusal("tiles", f"at most {cells} tiles in this grid", "too_many_tiles", most=cells)
        )
    for i, tile in enumerate(layout.tiles):
        errors += _check_tile(f"tiles[{i}]", tile)
    if errors:
        raise ValidationFailed(errors)


def _check_tile(at: str, tile: Tile) -> list[FieldError]:
    if tile.tour is None:
        return []
    if tile.camera_id is not None:
        return [_refusal(at, "a tile shows a camera or a tour, not both", "camera_and_tour")]
    errors: list[FieldError] = []
    ids, (least, most) = tile.tour.camera_ids, TOUR_CAMERAS
    if not least <= len(ids) <= most:
        errors.append(
            _refusal(
                f"{at}.tour.camera_ids",
                f"a tour cycles {least} to {most} cameras",
                "tour_size",
                least=least,
                most=most,
            )
        )
    elif len(set(ids)) != len(ids):
        errors.append(_refusal(f"{at}.tour.camera_ids", "a camera is named twice", "tour_repeats"))
    low, high = TOUR_INTERVAL_S
    if not low <= tile.tour.interval_s <= high:
        errors.append(
            _refusal(
                f"{at}.tour.interval_s",
                f"{low} to {high} seconds",
                "tour_interval",
                least=low,
                most=high,
            )
        )
    return errors
