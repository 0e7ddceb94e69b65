"""The bureau's inspections and their rectification notices (migration 0024).

``supervision_inspections`` (the name ``inspections`` is the unit's own maintenance inspections,
migration 0017): one row per inspection of a unit, the sites, inspectors, checklist with results,
photos' hashes, signatures and the report's SHA-256 in ``body`` (JSON).
``rectification_notices``: one per failed item, the articles, text, penalty, responses and
verification history in ``body``. The columns are what lists filter on.
"""

from __future__ import annotations

from sqlalchemy import Column, Date, ForeignKey, Integer, String, Table, Text

from custos.adapters.db.tables import metadata

supervision_inspections = Table(
    "supervision_inspections",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("unit_id", Integer, ForeignKey("units.id"), nullable=False, index=True),
    Column("planned_on", Date, nullable=False),
    Column("state", String(16), nullable=False),
    Column("body", Text, nullable=False),
)

rectification_notices = Table(
    "rectification_notices",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("inspection_id", Integer, ForeignKey("supervision_inspections.id"), nullable=False),
    Column("unit_id", Integer, ForeignKey("units.id"), nullable=False, index=True),
    Column("item_key", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("due_on", Date, nullable=False),
    Column("body", Text, nullable=False),
)
