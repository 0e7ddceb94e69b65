"""Table of migration 0028: the duty wall's saved layouts, one per user and one per monitoring
room (docs/design/live.md §3). Exactly one of ``owner_id`` and ``room_id`` is set."""

from __future__ import annotations

from sqlalchemy import JSON, CheckConstraint, Column, ForeignKey, Integer, String, Table

from custos.adapters.db.tables import UTCDateTime, metadata

wall_layouts = Table(
    "wall_layouts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("owner_id", Integer, ForeignKey("users.id"), unique=True),
    Column("room_id", Integer, ForeignKey("monitoring_rooms.id"), unique=True),
    Column("grid", String(8), nullable=False),  # "1", "4", "9", "16" or "RxC"
    Column("tiles", JSON, nullable=False),  # [{"camera_id": n} | {"tour": {...}} | {}]
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("updated_by", String(100), nullable=False),
    CheckConstraint("(owner_id IS NULL) <> (room_id IS NULL)", name="ck_wall_layouts_one_holder"),
)
