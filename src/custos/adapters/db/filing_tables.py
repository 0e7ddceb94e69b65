"""The tables of filing with the police (migration 0023, docs/design/filing.md D2, D3).

A filing profile is one JSON per site; a filing case keeps its recipient, due date, citations,
submissions, history and diff in ``body`` (JSON), the columns are what lists filter on.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Integer, String, Table, Text

from custos.adapters.db.tables import UTCDateTime, metadata

filing_profiles = Table(
    "filing_profiles",
    metadata,
    Column("site_id", Integer, ForeignKey("sites.id"), primary_key=True),
    Column("body", Text, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

filing_cases = Table(
    "filing_cases",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("site_id", Integer, ForeignKey("sites.id"), nullable=False, index=True),
    Column("unit_id", Integer, ForeignKey("units.id"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("state", String(16), nullable=False, index=True),
    Column("filing_id", Integer, ForeignKey("filings.id")),
    Column("opened_at", UTCDateTime(), nullable=False),
    Column("body", Text, nullable=False),
)
