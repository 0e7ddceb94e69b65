"""video quality diagnosis: thresholds, samples and reference snapshots (issue 14 §2)

- ``diagnosis_cameras``: per camera, threshold overrides, the last sample's metrics and faults,
  the K-in-a-row counters and the baseline's fault-free samples (JSON);
- ``diagnosis_references``: reference snapshots (file path under DATA/diagnosis and SHA-256),
  proposed by one person and approved by another.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import custos.adapters.db.tables

UTC_TIME = custos.adapters.db.tables.UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "diagnosis_cameras",
        sa.Column("camera_id", sa.Integer(), sa.ForeignKey("cameras.id"), primary_key=True),
        sa.Column("overrides", sa.Text(), nullable=False),
        sa.Column("last_segment_id", sa.Integer(), nullable=True),
        sa.Column("sampled_at", UTC_TIME(), nullable=True),
        sa.Column("metrics", sa.Text(), nullable=True),
        sa.Column("faults", sa.Text(), nullable=False),
        sa.Column("counters", sa.Text(), nullable=False),
        sa.Column("history", sa.Text(), nullable=False),
    )
    op.create_table(
        "diagnosis_references",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "camera_id", sa.Integer(), sa.ForeignKey("cameras.id"), nullable=False, index=True
        ),
        sa.Column("path", sa.String(300), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(1000), nullable=False),
        sa.Column("proposed_by", sa.String(100), nullable=False),
        sa.Column("proposed_at", UTC_TIME(), nullable=False),
        sa.Column("approved_by", sa.String(100), nullable=True),
        sa.Column("approved_at", UTC_TIME(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("diagnosis_references")
    op.drop_table("diagnosis_cameras")
