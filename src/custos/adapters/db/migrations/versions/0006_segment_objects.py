"""object storage: which sealed segments are in the object store

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import custos.adapters.db.tables

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

UTC_TIME = custos.adapters.db.tables.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "segment_objects",
        sa.Column("segment_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("key", sa.String(length=500), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("version_id", sa.String(length=200), nullable=True),
        sa.Column("uploaded_at", UTC_TIME(timezone=True), nullable=False),
        sa.Column("retain_until", UTC_TIME(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("segment_id", name=op.f("pk_segment_objects")),
        sa.UniqueConstraint("key", name=op.f("uq_segment_objects_key")),
    )


def downgrade() -> None:
    op.drop_table("segment_objects")
