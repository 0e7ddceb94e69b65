"""Tables of migration 0008: network interruptions and footage imports (sites.government_invested
is in tables.py with the site)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Integer, String, Table

from custos.adapters.db.tables import UTCDateTime, metadata

network_interruptions = Table(
    "network_interruptions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("site_id", Integer, ForeignKey("sites.id"), nullable=False, index=True),
    Column("cause", String(32), nullable=False),
    Column("detail", String(1000), nullable=False),
    Column("carrier", String(200), nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("ended_at", UTCDateTime()),
    Column("recorded_by", String(100), nullable=False),
    Column("recorded_at", UTCDateTime(), nullable=False),
)

footage_imports = Table(
    "footage_imports",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("camera_id", Integer, ForeignKey("cameras.id"), nullable=False, index=True),
    Column("source_name", String(255), nullable=False),
    Column("source_sha256", String(64), nullable=False),
    Column("source_bytes", BigInteger, nullable=False),
    Column("start_at", UTCDateTime(), nullable=False),
    Column("end_at", UTCDateTime(), nullable=False),
    Column("segments", Integer, nullable=False),
    Column("purpose", String(2000), nullable=False),
    Column("imported_by", String(100), nullable=False),
    Column("imported_at", UTCDateTime(), nullable=False),
)
