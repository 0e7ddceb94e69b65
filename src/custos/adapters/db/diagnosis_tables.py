"""Tables of migration 0014: video quality diagnosis (issue 14 §2)."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Integer, String, Table, Text

from custos.adapters.db.tables import UTCDateTime, metadata

diagnosis_cameras = Table(
    "diagnosis_cameras",
    metadata,
    Column("camera_id", Integer, ForeignKey("cameras.id"), primary_key=True),
    Column("overrides", Text, nullable=False),  # JSON: threshold name -> value
    Column("last_segment_id", Integer),
    Column("sampled_at", UTCDateTime()),
    Column("metrics", Text),  # JSON FrameMetrics of the last sample
    Column("faults", Text, nullable=False),  # JSON list of the last sample's faults
    Column("counters", Text, nullable=False),  # JSON fault -> {bad, good, raised}
    Column("history", Text, nullable=False),  # JSON list of fault-free FrameMetrics
)

diagnosis_references = Table(
    "diagnosis_references",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("camera_id", Integer, ForeignKey("cameras.id"), nullable=False, index=True),
    Column("path", String(300), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("reason", String(1000), nullable=False),
    Column("proposed_by", String(100), nullable=False),
    Column("proposed_at", UTCDateTime(), nullable=False),
    Column("approved_by", String(100)),
    Column("approved_at", UTCDateTime()),
)
