"""Tables of the recorder: the segment index, gaps and per-camera health.

Defined on the shared ``metadata`` of :mod:`custos.adapters.db.tables`; migration 0003 creates them.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)

from custos.adapters.db.tables import UTCDateTime, metadata

segments = Table(
    "segments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("camera_id", Integer, ForeignKey("cameras.id"), nullable=False),
    Column("run_id", String(40), nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("path", String(500), nullable=False, unique=True),
    Column("start_at", UTCDateTime(), nullable=False),
    Column("end_at", UTCDateTime(), nullable=False),
    Column("duration_s", Float, nullable=False),
    Column("bytes", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("codec", String(16), nullable=False),
    Column("width", Integer),
    Column("height", Integer),
    Column("sealed_at", UTCDateTime(), nullable=False),
    Column("adopted", Boolean, nullable=False),
    Column("missing", Boolean, nullable=False),
    Column("verified_at", UTCDateTime()),  # last scrub that re-hashed it (migration 0005)
    Column("clock_drift_s", Float),  # migration 0007
    Column("tail_checked_at", UTCDateTime()),  # its last fragment decoded by check (0011)
    Column("node", String(40)),  # the recorder node that recorded it (0026; none: one machine)
    Column("fencing_token", BigInteger),  # the token of the lease it was recorded under (0026)
    #: its object is in the store (a ``segment_objects`` row; 0027): set and cleared with that row
    Column("offloaded", Boolean, nullable=False, server_default=false()),
    UniqueConstraint("camera_id", "run_id", "sequence", name="uq_segments_camera_run_sequence"),
    Index("ix_segments_camera_start", "camera_id", "start_at"),
    Index("ix_segments_end", "end_at"),
)
#: The offload's backlog only (docs/design/cluster.md, "Reading less at 10,000 cameras"): what the
#: offload's candidates and the offload lag read, instead of an anti-join of every segment.
#: The predicate as each dialect renders ``segments.c.offloaded == false()`` (SQLite's planner
#: uses a partial index only when the query's terms match it as written).
OFFLOAD_PENDING = {"postgresql": "offloaded = false AND missing = false",
                   "sqlite": "offloaded = 0 AND missing = 0"}  # fmt: skip
Index(
    "ix_segments_offload_pending",
    segments.c.node,
    segments.c.id,
    postgresql_where=text(OFFLOAD_PENDING["postgresql"]),
    sqlite_where=text(OFFLOAD_PENDING["sqlite"]),
)

gaps = Table(
    "recording_gaps",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("camera_id", Integer, ForeignKey("cameras.id"), nullable=False),
    Column("start_at", UTCDateTime(), nullable=False),
    Column("end_at", UTCDateTime()),
    Column("reason", String(32), nullable=False),
    Column("detail", Text, nullable=False),
    Index("ix_recording_gaps_camera_start", "camera_id", "start_at"),
)

camera_health = Table(
    "camera_health",
    metadata,
    Column("camera_id", Integer, ForeignKey("cameras.id"), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("reason", String(32)),
    Column("detail", Text, nullable=False),
    Column("since", UTCDateTime(), nullable=False),
    Column("last_frame_at", UTCDateTime()),
    Column("fps", Float),
    Column("bitrate_kbps", Float),
    Column("updated_at", UTCDateTime(), nullable=False),
)
