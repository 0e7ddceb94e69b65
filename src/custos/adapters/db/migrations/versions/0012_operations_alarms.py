"""alarms: escalation and the interruption accounting (issue 14 §1)

- ``camera_faults``: a stretch in which a camera that should record did not, long enough to raise
  an alarm (camera_offline after the grace, recording_gap); opened and recovered by the alarm
  watcher, read by the interruption accounting (repair time, "restore promptly").

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import custos.adapters.db.tables

UTC_TIME = custos.adapters.db.tables.UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "camera_faults",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("camera_id", sa.Integer(), sa.ForeignKey("cameras.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("started_at", UTC_TIME(), nullable=False),
        sa.Column("recovered_at", UTC_TIME(), nullable=True),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("detail", sa.String(1000), nullable=False, server_default=""),
    )
    op.create_index("ix_camera_faults_camera_started", "camera_faults", ["camera_id", "started_at"])


def downgrade() -> None:
    op.drop_index("ix_camera_faults_camera_started", table_name="camera_faults")
    op.drop_table("camera_faults")
