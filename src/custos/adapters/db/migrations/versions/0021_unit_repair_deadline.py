"""A unit's own repair deadline (issue 14 §1: "the unit's deadline")

- ``unit_settings.repair_deadline_hours``: the hours within which the unit repairs a camera
  fault, shorter than the rule packs' deadline (1..720; NULL or no row: the packs' deadline).

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "unit_settings",
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("units.id"), primary_key=True),
        sa.Column("repair_deadline_hours", sa.Integer()),
    )


def downgrade() -> None:
    op.drop_table("unit_settings")
