"""The table of copies for public dissemination (migration 0022).

One row per case; the proposal, the review and the masking settings are in ``body`` (JSON),
the columns are what is searched or shown in lists.
"""

from __future__ import annotations

from sqlalchemy import Column, Integer, String, Table, Text

from custos.adapters.db.tables import UTCDateTime, metadata

publications = Table(
    "publications",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("state", String(16), nullable=False),
    Column("source_sha256", String(64), nullable=False),
    Column("division_code", String(12), nullable=False),
    Column("requested_by", Integer),
    Column("requested_at", UTCDateTime(), nullable=False),
    Column("reviewer_id", Integer),
    Column("released_at", UTCDateTime()),
    Column("package_sha256", String(64)),
    Column("body", Text, nullable=False),
)
