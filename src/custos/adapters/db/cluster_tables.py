"""Several machines (migration 0026, docs/design/cluster.md): recorder nodes, camera leases with
fencing tokens and their terms, segments the index refused for a stale token, and the leases of
the housekeeper's timed duties."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from custos.adapters.db.tables import UTCDateTime, metadata

recorder_nodes = Table(
    "recorder_nodes",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("address", String(255), nullable=False),
    Column("capacity", Integer, nullable=False),
    Column("version", String(40), nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("heartbeat_at", UTCDateTime(), nullable=False),
    Column("state", String(16), nullable=False),
    Column("instance", String(40), nullable=False),  # the process now using the name
)

camera_leases = Table(
    "camera_leases",
    metadata,
    Column("camera_id", Integer, ForeignKey("cameras.id"), primary_key=True),
    Column("holder", String(40)),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("fencing_token", BigInteger, nullable=False),
    Column("granted_at", UTCDateTime()),
    Column("releasing", Boolean, nullable=False),
    Index("ix_camera_leases_holder", "holder"),
)

camera_lease_terms = Table(
    "camera_lease_terms",
    metadata,
    Column("camera_id", Integer, ForeignKey("cameras.id"), primary_key=True),
    Column("fencing_token", BigInteger, primary_key=True),
    Column("holder", String(40), nullable=False),
    Column("granted_at", UTCDateTime(), nullable=False),
)

refused_segments = Table(
    "refused_segments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("camera_id", Integer, ForeignKey("cameras.id"), nullable=False),
    Column("node", String(40), nullable=False),
    Column("fencing_token", BigInteger, nullable=False),
    Column("current_token", BigInteger, nullable=False),
    Column("path", String(500), nullable=False),
    Column("kept_at", String(500), nullable=False),
    Column("start_at", UTCDateTime(), nullable=False),
    Column("end_at", UTCDateTime(), nullable=False),
    Column("bytes", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("refused_at", UTCDateTime(), nullable=False),
    Column("why", Text, nullable=False),
    Index("ix_refused_segments_camera_start", "camera_id", "start_at"),
)

duty_leases = Table(
    "duty_leases",
    metadata,
    Column("duty", String(40), primary_key=True),
    Column("holder", String(120)),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("token", BigInteger, nullable=False),
    Column("granted_at", UTCDateTime()),
)
