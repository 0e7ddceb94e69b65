"""alarm handling: the camera an alarm is about, who acknowledged and who resolved it

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import custos.adapters.db.tables

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

UTC_TIME = custos.adapters.db.tables.UTCDateTime
_STEPS = ("acknowledged", "resolved")


def upgrade() -> None:
    with op.batch_alter_table("alarms", schema=None) as batch_op:
        batch_op.add_column(sa.Column("camera_id", sa.Integer(), nullable=True))
        for step in _STEPS:
            batch_op.add_column(sa.Column(f"{step}_by", sa.Integer(), nullable=True))
            batch_op.add_column(sa.Column(f"{step}_by_name", sa.String(length=100), nullable=True))
            batch_op.add_column(sa.Column(f"{step}_at", UTC_TIME(timezone=True), nullable=True))
            batch_op.add_column(sa.Column(f"{step}_note", sa.Text(), nullable=True))
    op.create_index("ix_alarms_camera", "alarms", ["camera_id"])


def downgrade() -> None:
    op.drop_index("ix_alarms_camera", table_name="alarms")
    with op.batch_alter_table("alarms", schema=None) as batch_op:
        for step in reversed(_STEPS):
            for suffix in ("note", "at", "by_name", "by"):
                batch_op.drop_column(f"{step}_{suffix}")
        batch_op.drop_column("camera_id")
