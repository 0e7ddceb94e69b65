"""Tables of migration 0015: ONVIF proposals, the ONVIF link of a camera, a unit's clock setting.

Credentials are sealed with the secret box (``*_secret``), never stored in clear.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Table,
)

from custos.adapters.db.tables import UTCDateTime, metadata

onvif_proposals = Table(
    "onvif_proposals",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("unit_id", Integer, ForeignKey("units.id"), nullable=False, index=True),
    Column("endpoint", String(300), nullable=False),
    Column("xaddr", String(500), nullable=False),
    Column("scopes", JSON, nullable=False),
    Column("manufacturer", String(200)),
    Column("model", String(200)),
    Column("serial", String(200)),
    Column("firmware", String(200)),
    Column("main_stream_uri", String(1000)),
    Column("sub_stream_uri", String(1000)),
    Column("profile_token", String(100)),
    Column("has_ptz", Boolean, nullable=False),
    Column("clock_drift_s", Float),
    Column("probe_error", String(500), nullable=False),
    Column("credentials_secret", LargeBinary),
    Column("discovered_at", UTCDateTime(), nullable=False),
    Column("discovered_by", String(100), nullable=False),
    Column("status", String(16), nullable=False),
    Column("decided_by", String(100)),
    Column("decided_at", UTCDateTime()),
    Column("camera_id", Integer, ForeignKey("cameras.id")),
)

onvif_links = Table(
    "onvif_links",
    metadata,
    Column("camera_id", Integer, ForeignKey("cameras.id"), primary_key=True),
    Column("xaddr", String(500), nullable=False),
    Column("endpoint", String(300), nullable=False),
    Column("credentials_secret", LargeBinary),
    Column("profile_token", String(100)),
    Column("has_ptz", Boolean, nullable=False),
    Column("clock_drift_s", Float),
    Column("clock_checked_at", UTCDateTime()),
)

onvif_unit_settings = Table(
    "onvif_unit_settings",
    metadata,
    Column("unit_id", Integer, ForeignKey("units.id"), primary_key=True),
    Column("camera_time_sync", Boolean, nullable=False),
)
