"""Copies for public dissemination (issue 13: masked copies for publication)

- ``publications``: one row per case (proposed, approved, released), the proposal, review and
  masking settings as JSON in ``body``.

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from custos.adapters.db.tables import UTCDateTime

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "publications",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("source_sha256", sa.String(64), nullable=False),
        sa.Column("division_code", sa.String(12), nullable=False),
        sa.Column("requested_by", sa.Integer()),
        sa.Column("requested_at", UTCDateTime(), nullable=False),
        sa.Column("reviewer_id", sa.Integer()),
        sa.Column("released_at", UTCDateTime()),
        sa.Column("package_sha256", sa.String(64)),
        sa.Column("body", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("publications")
