"""retention: evidence holds, purge garbage rows, alarms, segment verification time

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import custos.adapters.db.tables

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

UTC_TIME = custos.adapters.db.tables.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "evidence_holds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("case_number", sa.String(length=100), nullable=False),
        sa.Column("camera_ids", sa.String(length=4000), nullable=False),
        sa.Column("start_at", UTC_TIME(timezone=True), nullable=False),
        sa.Column("end_at", UTC_TIME(timezone=True), nullable=False),
        sa.Column("expires_at", UTC_TIME(timezone=True), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_TIME(timezone=True), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_holds")),
    )
    op.create_table(
        "segment_garbage",
        sa.Column("segment_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("marked_at", UTC_TIME(timezone=True), nullable=False),
        sa.Column("batch", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("segment_id", name=op.f("pk_segment_garbage")),
    )
    op.create_table(
        "alarms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("raised_at", UTC_TIME(timezone=True), nullable=False),
        sa.Column("cleared_at", UTC_TIME(timezone=True), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarms")),
    )
    op.create_index("ix_alarms_open", "alarms", ["kind", "subject", "cleared_at"])
    with op.batch_alter_table("segments") as batch:
        batch.add_column(sa.Column("verified_at", UTC_TIME(timezone=True), nullable=True))
    op.create_index("ix_segments_end", "segments", ["end_at"])


def downgrade() -> None:
    op.drop_index("ix_segments_end", table_name="segments")
    with op.batch_alter_table("segments") as batch:
        batch.drop_column("verified_at")
    op.drop_index("ix_alarms_open", table_name="alarms")
    op.drop_table("alarms")
    op.drop_table("segment_garbage")
    op.drop_table("evidence_holds")
