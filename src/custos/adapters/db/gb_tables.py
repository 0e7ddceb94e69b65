"""Tables of migration 0018: GB/T 28181 devices (the allow-list and their registrations)."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Float, ForeignKey, Integer, LargeBinary, String, Table

from custos.adapters.db.tables import UTCDateTime, metadata

gb_devices = Table(
    "gb_devices",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("device_id", String(20), nullable=False, unique=True),
    Column("unit_id", Integer, ForeignKey("units.id"), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("password_sealed", LargeBinary, nullable=False),  # the secret box's token
    Column("created_at", UTCDateTime(), nullable=False),
    Column("created_by", String(100), nullable=False),
    # what the SIP server last heard
    Column("registered_at", UTCDateTime()),
    Column("expires_at", UTCDateTime()),
    Column("last_seen_at", UTCDateTime()),
    Column("last_keepalive_at", UTCDateTime()),
    Column("address", String(100), nullable=False),
    Column("transport", String(3), nullable=False),
    Column("clock_drift_s", Float),
    Column("offline", Boolean, nullable=False),
)
