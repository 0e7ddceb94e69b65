"""Tables of migration 0019: GB/T 28181 channels from devices' catalogues, and what each device
last said of itself (DeviceInfo, DeviceStatus)."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, ForeignKey, Integer, String, Table, UniqueConstraint

from custos.adapters.db.tables import UTCDateTime, metadata

gb_channels = Table(
    "gb_channels",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("device_id", String(20), nullable=False, index=True),
    Column("channel_id", String(20), nullable=False),
    Column("unit_id", Integer, ForeignKey("units.id"), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("manufacturer", String(200), nullable=False),
    Column("model", String(200), nullable=False),
    Column("status", String(16), nullable=False),
    Column("parental", Boolean, nullable=False),
    Column("parent_id", String(20), nullable=False),
    Column("civil_code", String(20), nullable=False),
    Column("address", String(200), nullable=False),
    Column("present", Boolean, nullable=False),
    Column("camera_id", Integer, ForeignKey("cameras.id"), index=True),
    Column("first_seen_at", UTCDateTime(), nullable=False),
    Column("last_seen_at", UTCDateTime(), nullable=False),
    UniqueConstraint("device_id", "channel_id"),
)

gb_device_reports = Table(
    "gb_device_reports",
    metadata,
    Column("device_id", String(20), primary_key=True),
    Column("info", JSON),
    Column("info_at", UTCDateTime()),
    Column("status", JSON),
    Column("status_at", UTCDateTime()),
)
