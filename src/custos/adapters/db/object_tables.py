"""The object-store copies of segments (``segment_objects``): one row per verified upload.

Defined on the shared ``metadata``; migration 0006 creates it. No foreign key to ``segments``:
the retention purge removes the object, then this row (``OffloadService.delete_object``), then
the segment's row, and a row left behind by a crash is harmless (``custos check`` reports the
object if its segment is gone).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, String, Table

from custos.adapters.db.tables import UTCDateTime, metadata

segment_objects = Table(
    "segment_objects",
    metadata,
    Column("segment_id", Integer, primary_key=True, autoincrement=False),
    Column("key", String(500), nullable=False, unique=True),
    Column("sha256", String(64), nullable=False),
    Column("bytes", BigInteger, nullable=False),
    Column("version_id", String(200)),  # None where the bucket is not versioned
    Column("uploaded_at", UTCDateTime(), nullable=False),
    Column("retain_until", UTCDateTime()),  # the Object Lock date, if one was set
)
