"""Tables of retention: evidence holds, the purge's garbage rows, and alarms.

Defined on the shared ``metadata``; migration 0005 creates them (and ``segments.verified_at``),
0009 adds the alarms' camera and handling.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text

from custos.adapters.db.tables import UTCDateTime, metadata

evidence_holds = Table(
    "evidence_holds",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(24), nullable=False),
    Column("state", String(24), nullable=False),
    Column("case_number", String(100), nullable=False),
    Column("camera_ids", String(4000), nullable=False),  # ",3,5," for a LIKE search
    Column("start_at", UTCDateTime(), nullable=False),
    Column("end_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime()),  # None: indefinite
    Column("created_by", Integer, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("body", Text, nullable=False),
)

# A segment chosen for deletion: written before the file is unlinked, dropped with the row.
segment_garbage = Table(
    "segment_garbage",
    metadata,
    Column("segment_id", Integer, primary_key=True, autoincrement=False),
    Column("camera_id", Integer, nullable=False),
    Column("path", String(500), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("bytes", BigInteger, nullable=False),
    Column("marked_at", UTCDateTime(), nullable=False),
    Column("batch", String(40), nullable=False),
)

alarms = Table(
    "alarms",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(40), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("message", Text, nullable=False),
    Column("raised_at", UTCDateTime(), nullable=False),
    Column("cleared_at", UTCDateTime()),
    Column("detail", Text, nullable=False),
    # migration 0009: the camera it is about, and who acknowledged and resolved it
    Column("camera_id", Integer),
    Column("acknowledged_by", Integer),
    Column("acknowledged_by_name", String(100)),
    Column("acknowledged_at", UTCDateTime()),
    Column("acknowledged_note", Text),
    Column("resolved_by", Integer),
    Column("resolved_by_name", String(100)),
    Column("resolved_at", UTCDateTime()),
    Column("resolved_note", Text),
    # migration 0013: how far up the rota an unacknowledged alarm has gone (issue 14 §1)
    Column("escalation_level", Integer, nullable=False, server_default="0"),
    Column("escalated_at", UTCDateTime()),
    Column("routed_at", UTCDateTime()),  # NULL: its deliveries are not written yet (the outbox)
)
Index("ix_alarms_open", alarms.c.kind, alarms.c.subject, alarms.c.cleared_at)
Index("ix_alarms_camera", alarms.c.camera_id)
