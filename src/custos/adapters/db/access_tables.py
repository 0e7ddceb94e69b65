"""Tables of footage access: requests, the registration register, sessions and exports.

Defined on the shared ``metadata``; migration 0004 creates them. Each keeps the columns a search
needs as columns and the rest of the record as one JSON document (``body``).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, Table, Text

from custos.adapters.db.tables import UTCDateTime, metadata

access_requests = Table(
    "access_requests",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("state", String(16), nullable=False),
    Column("action", String(16), nullable=False),
    Column("requested_by", Integer, ForeignKey("users.id"), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("body", Text, nullable=False),
)
Index("ix_access_requests_state", access_requests.c.state)

register_entries = Table(
    "register_entries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("unit_id", Integer, ForeignKey("units.id")),
    Column("user_id", Integer, ForeignKey("users.id")),
    Column("request_id", Integer, ForeignKey("access_requests.id")),
    Column("session_id", Integer),
    Column("camera_ids", String(2000), nullable=False),  # ",3,5," for a LIKE search
    Column("persons", Text, nullable=False),  # names, for a LIKE search; details in body
    Column("start_at", UTCDateTime()),
    Column("end_at", UTCDateTime()),
    Column("ended_at", UTCDateTime()),
    Column("body", Text, nullable=False),
)
Index("ix_register_entries_unit_at", register_entries.c.unit_id, register_entries.c.at)

playback_sessions = Table(
    "playback_sessions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("request_id", Integer, ForeignKey("access_requests.id")),
    Column("opened_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("closed_at", UTCDateTime()),
    Column("body", Text, nullable=False),
)

export_packages = Table(
    "export_packages",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("request_id", Integer, ForeignKey("access_requests.id")),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("path", String(500), nullable=False, unique=True),
    Column("sha256", String(64), nullable=False),
    Column("bytes", BigInteger, nullable=False),
    Column("body", Text, nullable=False),
)
