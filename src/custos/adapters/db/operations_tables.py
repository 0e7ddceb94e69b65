"""Tables of migration 0012: the camera faults the alarm watcher opens and closes (issue 14 §1,
the interruption accounting)."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table

from custos.adapters.db.tables import UTCDateTime, metadata

camera_faults = Table(
    "camera_faults",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("camera_id", Integer, ForeignKey("cameras.id"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("recovered_at", UTCDateTime()),
    Column("reason", String(40), nullable=False),
    Column("detail", String(1000), nullable=False, server_default=""),
    Index("ix_camera_faults_camera_started", "camera_id", "started_at"),
)

# Migration 0021: a unit's own settings. ``repair_deadline_hours``: the unit's repair deadline,
# shorter than the rule packs' (NULL: the packs' deadline applies; no row: the same).
unit_settings = Table(
    "unit_settings",
    metadata,
    Column("unit_id", Integer, ForeignKey("units.id"), primary_key=True),
    Column("repair_deadline_hours", Integer),
)
