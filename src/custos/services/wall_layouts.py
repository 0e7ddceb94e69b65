"""The duty wall's saved layouts (docs/design/live.md §3): which one a wall opens, and saving
one's own or a monitoring room's.

The wall opens the user's own layout; without one, the layout of the room they are signed on
duty in; else of a room of their unit (rooms at a site their scopes name first, then the oldest
room); else none (the page picks a default). Each save is checked against the layout's shape
(:func:`custos.domain.wall.check_layout`) and the saver's reach: every camera must be one they
can see, and for a room, one the room watches. A room's layout is shared by everyone on duty
there, so it is arranged like the room's camera list and rota are: with ``duty.manage`` (unit
managers, admins), never by an operator, who saves their own. Each save and each refusal is an
entry in the operation log (``wall.layout.save``, ``wall.layout.drop``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from custos.domain.access import Permission
from custos.domain.audit import AuditEvent
from custos.domain.clock import Clock
from custos.domain.duty import MonitoringRoom
from custos.domain.errors import FieldError, ValidationFailed
from custos.domain.users import Principal, parse_scope
from custos.domain.visibility import reaches_site
from custos.domain.wall import Tile, WallLayout, check_layout
from custos.services.monitoring_room import DutyUnitOfWork, get_room
from custos.services.reach import reaches
from custos.services.refusals import refusals_logged


class WallLayouts(Protocol):
    def of_user(self, user_id: int) -> WallLayout | None: ...
    def of_room(self, room_id: int) -> WallLayout | None: ...
    def save(self, layout: WallLayout) -> WallLayout: ...
    def drop_user(self, user_id: int) -> bool: ...


class WallUnitOfWork(DutyUnitOfWork, Protocol):
    @property
    def wall_layouts(self) -> WallLayouts: ...


@dataclass(frozen=True)
class LayoutInput:
    grid: str
    tiles: tuple[Tile, ...]


@dataclass(frozen=True)
class WallOpening:
    """What a wall opens: the layout and whose it is ("user", "room" or None), and the rooms
    the principal may save a layout for."""

    layout: WallLayout | None
    source: str | None
    room_id: int | None
    rooms: list[MonitoringRoom]

    def as_dict(self) -> dict[str, Any]:
        return {
            "layout": self.layout.as_dict() if self.layout else None,
            "source": self.source,
            "room_id": self.room_id,
            "rooms": [
                {"id": r.id, "name": r.name, "unit_id": r.unit_id, "site_id": r.site_id}
                for r in self.rooms
            ],
        }


class WallLayoutService:
    def __init__(self, uow: Callable[[], WallUnitOfWork], clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def opening(self, actor: Principal) -> WallOpening:
        """The layout the principal's wall opens (see the module's docstring)."""
        actor.require(Permission.LIVE_VIEW)
        with self._uow() as uow:
            rooms = self._rooms_in_reach(uow, actor)
            savable = rooms if actor.can(Permission.DUTY_MANAGE) else []
            if actor.user_id is not None:
                mine = uow.wall_layouts.of_user(actor.user_id)
                if mine is not None:
                    return WallOpening(mine, "user", None, savable)
            for room in self._rooms_to_open(uow, actor, rooms):
                layout = uow.wall_layouts.of_room(room.id or 0)
                if layout is not None:
                    return WallOpening(layout, "room", room.id, savable)
            return WallOpening(None, None, None, savable)

    def save_mine(self, actor: Principal, data: LayoutInput) -> WallLayout:
        actor.require(Permission.LIVE_VIEW)
        with self._logged(actor, "wall_layout", None), self._uow() as uow:
            if actor.user_id is None:
                raise ValidationFailed(
                    FieldError(
                        "owner", "only a signed-in person has a wall", key="refusal.wall.owner"
                    )
                )
            layout = self._layout(actor, data, owner_id=actor.user_id)
            self._check_reach(uow, actor, layout, None)
            saved = self._save(uow, actor, layout, uow.wall_layouts.of_user(actor.user_id))
            uow.commit()
        return saved

    def save_room(self, actor: Principal, room_id: int, data: LayoutInput) -> WallLayout:
        """A room's layout: ``duty.manage`` (the room's arrangement, as its camera list)."""
        actor.require(Permission.DUTY_MANAGE)
        with self._logged(actor, "monitoring_room", room_id), self._uow() as uow:
            room, _ = get_room(uow, actor, room_id)
            layout = self._layout(actor, data, room_id=room_id)
            self._check_reach(uow, actor, layout, room)
            saved = self._save(uow, actor, layout, uow.wall_layouts.of_room(room_id))
            uow.commit()
        return saved

    def drop_mine(self, actor: Principal) -> None:
        """Remove one's own layout: the wall opens the room's again. Nothing to drop is fine."""
        actor.require(Permission.LIVE_VIEW)
        with self._uow() as uow:
            if actor.user_id is None or not uow.wall_layouts.drop_user(actor.user_id):
                return
            uow.audit.append(
                AuditEvent(
                    self._clock.now(),
                    actor.username,
                    "wall.layout.drop",
                    "user",
                    str(actor.user_id),
                )
            )
            uow.commit()

    # ---- helpers --------------------------------------------------------------------------
    def _layout(
        self,
        actor: Principal,
        data: LayoutInput,
        owner_id: int | None = None,
        room_id: int | None = None,
    ) -> WallLayout:
        layout = WallLayout(
            None, owner_id, room_id, data.grid, data.tiles, self._clock.now(), actor.username
        )
        check_layout(layout)
        return layout

    @staticmethod
    def _check_reach(
        uow: WallUnitOfWork, actor: Principal, layout: WallLayout, room: MonitoringRoom | None
    ) -> None:
        """Each camera is one the saver sees, and for a room, one the room watches."""
        unit_sites = {s.id for s in uow.sites.find(room.unit_id)} if room is not None else set()

        def watched(cid: int) -> bool:
            if room is None:
                return True
            if room.camera_ids:
                return cid in room.camera_ids
            cam = uow.cameras.get(cid)
            return cam is not None and cam.site_id in unit_sites

        errors: list[FieldError] = []
        for i, tile in enumerate(layout.tiles):
            for j, cid in enumerate(tile.camera_ids):
                at = f"tiles[{i}].tour.camera_ids[{j}]" if tile.tour else f"tiles[{i}].camera_id"
                if not reaches(uow, actor, cid):
                    errors.append(
                        FieldError(
                            at,
                            f"no camera {cid} that you can see",
                            key="refusal.wall.no_camera",
                            params={"camera": cid},
                        )
                    )
                elif not watched(cid):
                    errors.append(
                        FieldError(
                            at,
                            f"camera {cid} is not one the room watches",
                            key="refusal.wall.not_in_room",
                            params={"camera": cid},
                        )
                    )
        if errors:
            raise ValidationFailed(errors)

    def _save(
        self,
        uow: WallUnitOfWork,
        actor: Principal,
        layout: WallLayout,
        before: WallLayout | None,
    ) -> WallLayout:
        saved = uow.wall_layouts.save(layout)
        uow.audit.append(
            AuditEvent(
                saved.updated_at,
                actor.username,
                "wall.layout.save",
                "wall_layout",
                str(saved.id),
                before=before.as_dict() if before else None,
                after=saved.as_dict(),
            )
        )
        return saved

    @staticmethod
    def _rooms_in_reach(uow: WallUnitOfWork, actor: Principal) -> list[MonitoringRoom]:
        if actor.unit_id is None and not actor.can(Permission.DUTY_MANAGE):
            return []  # an authority's officer has no monitoring room
        sites = {s.id: s for s in uow.sites.find(actor.unit_id)}
        return [
            r
            for r in uow.monitoring_rooms.find([actor.unit_id] if actor.unit_id else None)
            if (s := sites.get(r.site_id)) and reaches_site(actor, r.unit_id, s.division_code)
        ]

    @staticmethod
    def _rooms_to_open(
        uow: WallUnitOfWork, actor: Principal, rooms: list[MonitoringRoom]
    ) -> list[MonitoringRoom]:
        """The rooms whose layout the wall may open, in order: those the principal is signed
        on duty in (the latest first), then their unit's (a scoped site's first)."""
        if actor.user_id is None:
            return []
        by_id = {r.id: r for r in rooms if r.id is not None}
        open_here = uow.duty.sessions(list(by_id), open_only=True) if by_id else []
        signed = sorted(
            (s for s in open_here if s.user_id == actor.user_id),
            key=lambda s: s.signed_on_at,
            reverse=True,
        )
        first = [by_id[s.room_id] for s in signed if s.room_id in by_id]
        if actor.unit_id is None:
            return first
        scopes = [parse_scope(s) for s in actor.scopes]
        scoped_sites = {s[1] for s in scopes if s is not None and s[0] == "site"}
        unit_rooms = sorted(
            (r for r in rooms if r.unit_id == actor.unit_id),
            key=lambda r: (r.site_id not in scoped_sites, r.id or 0),
        )
        return list(dict.fromkeys([*first, *unit_rooms]))

    def _logged(self, actor: Principal, kind: str, obj_id: int | None) -> Any:
        return refusals_logged(self._uow, self._clock, actor, "wall.layout.save", kind, obj_id)
