"""The duty wall (docs/design/live.md §3): its saved layouts, per user and per monitoring room,
and a snapshot of a camera's newest frame, taken away as a registered export.

A layout's JSON (what the GET answers under ``layout`` and what both PUTs answer)::

    {"id": 7, "owner_id": 12, "room_id": null, "grid": "4", "rows": 2, "cols": 2,
     "tiles": [{"camera_id": 5}, {"tour": {"camera_ids": [5, 6], "interval_s": 10}}, {}],
     "updated_at": "2026-12-07T23:40:00+00:00", "updated_by": "operator1"}

Tile ``i`` is the grid's cell ``i``, row by row; cells past the list are empty.
"""

from __future__ import annotations

from typing import Annotated, Any

from annotated_types import Ge, Le
from fastapi import APIRouter, Response
from pydantic import Field

from custos.domain.access import Permission
from custos.domain.wall import Tile, Tour
from custos.entrypoints.api.bounds import Id
from custos.entrypoints.api.deps import Caller, ContainerDep, needs
from custos.entrypoints.api.schemas import In
from custos.services.wall_layouts import LayoutInput

router = APIRouter(tags=["wall"])
Watcher = Annotated[Caller, needs(Permission.LIVE_VIEW)]
Manager = Annotated[Caller, needs(Permission.DUTY_MANAGE)]
Exporter = Annotated[Caller, needs(Permission.EXPORT)]

# Wider than the layout's rules on purpose: the domain refuses past them naming the tile's field
# (tiles[2].tour.interval_s) in the user's language; these only keep numbers and lists bounded.
Seconds = Annotated[int, Ge(0), Le(86_400)]


class TourIn(In):
    camera_ids: list[Id] = Field(max_length=64, description="2..32 cameras, in turn")
    interval_s: Seconds = Field(description="5..600 seconds each")


class TileIn(In):
    camera_id: Id | None = None
    tour: TourIn | None = None

    def domain(self) -> Tile:
        tour = Tour(tuple(self.tour.camera_ids), self.tour.interval_s) if self.tour else None
        return Tile(self.camera_id, tour)


class LayoutIn(In):
    grid: str = Field(max_length=8, description='"1", "4", "9", "16" or "RxC" (1..6 each)')
    tiles: list[TileIn] = Field(default_factory=list, max_length=64)

    def domain(self) -> LayoutInput:
        return LayoutInput(self.grid, tuple(t.domain() for t in self.tiles))


class SnapshotIn(In):
    purpose: str = Field(max_length=2000, description="why the frame is taken (required)")


@router.get("/wall/layout")
def wall_layout(caller: Watcher, c: ContainerDep) -> dict[str, Any]:
    """What the wall opens: ``{"layout": {...} | null, "source": "user" | "room" | null,
    "room_id": n | null, "rooms": [{"id", "name", "unit_id", "site_id"}]}``. The user's own
    layout, else that of the room they are signed on duty in, else of a room of their unit;
    ``rooms``: those the user may save a layout for (``duty.manage``)."""
    return c.wall.opening(caller.principal).as_dict()


@router.put("/wall/layout")
def save_my_layout(body: LayoutIn, caller: Watcher, c: ContainerDep) -> dict[str, Any]:
    """Save the caller's own wall (replacing it); every camera must be one they can see."""
    return c.wall.save_mine(caller.principal, body.domain()).as_dict()


@router.delete("/wall/layout", status_code=204)
def drop_my_layout(caller: Watcher, c: ContainerDep) -> Response:
    """Drop the caller's own wall: it opens the room's layout again."""
    c.wall.drop_mine(caller.principal)
    return Response(status_code=204)


@router.put("/wall/rooms/{room_id}/layout")
def save_room_layout(
    room_id: Id, body: LayoutIn, caller: Manager, c: ContainerDep
) -> dict[str, Any]:
    """Save a monitoring room's wall (``duty.manage``, as the room's camera list): every
    operator of the room without a layout of their own opens it. Each camera must be one the
    caller can see and the room watches."""
    return c.wall.save_room(caller.principal, room_id, body.domain()).as_dict()


@router.post(
    "/cameras/{camera_id}/snapshot",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}, "description": "the frame as a JPEG"}},
)
def snapshot(camera_id: Id, body: SnapshotIn, caller: Exporter, c: ContainerDep) -> Response:
    """The camera's newest keyframe as a JPEG, registered as an export with the purpose given
    (the register gets an ``export`` and a ``download`` entry with the JPEG's SHA-256).
    Answered as ``image/jpeg``; headers ``X-Register-Entry-Id`` (the export's entry in the
    register), ``X-Content-SHA256`` and ``X-Frame-At`` (the frame's moment, about). 409 when
    the camera has no frame recorded in the last seconds."""
    shot = c.snapshots.take(caller.principal, camera_id, body.purpose)
    return Response(
        shot.jpeg,
        media_type="image/jpeg",
        headers={
            "X-Register-Entry-Id": str(shot.register_entry_id),
            "X-Content-SHA256": shot.sha256,
            "X-Frame-At": shot.frame_at.isoformat(),
            "Content-Disposition": f'attachment; filename="{shot.filename}"',
            "Cache-Control": "no-store",
        },
    )
