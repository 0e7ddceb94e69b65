"""Tables of migration 0020: GB/T 28181 upper platforms, their link state and share lists."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Table,
    UniqueConstraint,
)

from custos.adapters.db.tables import UTCDateTime, metadata

gb_upper_platforms = Table(
    "gb_upper_platforms",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False),
    Column("sip_id", String(20), nullable=False, unique=True),
    Column("domain", String(64), nullable=False),
    Column("host", String(253), nullable=False),
    Column("port", Integer, nullable=False),
    Column("transport", String(3), nullable=False),
    Column("password_sealed", LargeBinary, nullable=False),  # the secret box's token
    Column("register_expiry_s", Integer, nullable=False),
    Column("keepalive_interval_s", Integer, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    # the cascade client's last word on the link
    Column("state", String(16), nullable=False),
    Column("state_since", UTCDateTime(), nullable=False),
    Column("last_error", String(500), nullable=False),
    Column("registered_until", UTCDateTime()),
    Column("attempts", Integer, nullable=False),
)

gb_shares = Table(
    "gb_shares",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("platform_id", Integer, ForeignKey("gb_upper_platforms.id"), nullable=False, index=True),
    Column("camera_id", Integer, ForeignKey("cameras.id"), nullable=False),
    Column("shared_by", String(100), nullable=False),
    Column("shared_at", UTCDateTime(), nullable=False),
    UniqueConstraint("platform_id", "camera_id", name="uq_gb_shares_platform_camera"),
)
