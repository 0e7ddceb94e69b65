"""The bureau's inspections and rectification notices (issue 15, docs/design/filing.md D6)

- ``supervision_inspections``: one row per inspection of a unit; sites, inspectors, checklist
  items with results, remarks and photo hashes, signatures and the report's SHA-256 as JSON in
  ``body`` (``inspections`` is taken by the unit's maintenance inspections, 0017).
- ``rectification_notices``: one row per failed item; articles, text, penalty, responses and
  verification history as JSON in ``body``.

Revision ID: 0024
Revises: 0023
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "supervision_inspections",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("units.id"), nullable=False),
        sa.Column("planned_on", sa.Date(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
    )
    op.create_index("ix_supervision_inspections_unit_id", "supervision_inspections", ["unit_id"])
    op.create_table(
        "rectification_notices",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "inspection_id",
            sa.Integer(),
            sa.ForeignKey("supervision_inspections.id"),
            nullable=False,
        ),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("units.id"), nullable=False),
        sa.Column("item_key", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
    )
    op.create_index("ix_rectification_notices_unit_id", "rectification_notices", ["unit_id"])


def downgrade() -> None:
    op.drop_index("ix_rectification_notices_unit_id", "rectification_notices")
    op.drop_table("rectification_notices")
    op.drop_index("ix_supervision_inspections_unit_id", "supervision_inspections")
    op.drop_table("supervision_inspections")
