"""GB/T 28181 channels: catalogued channels awaiting placement, device info and status (issue 12 §1)

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import custos.adapters.db.tables

UTC_TIME = custos.adapters.db.tables.UTCDateTime

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gb_channels",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("device_id", sa.String(20), nullable=False, index=True),
        sa.Column("channel_id", sa.String(20), nullable=False),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("units.id"), nullable=False, index=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("manufacturer", sa.String(200), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("parental", sa.Boolean(), nullable=False),
        sa.Column("parent_id", sa.String(20), nullable=False),
        sa.Column("civil_code", sa.String(20), nullable=False),
        sa.Column("address", sa.String(200), nullable=False),
        sa.Column("present", sa.Boolean(), nullable=False),
        sa.Column("camera_id", sa.Integer(), sa.ForeignKey("cameras.id"), index=True),
        sa.Column("first_seen_at", UTC_TIME(), nullable=False),
        sa.Column("last_seen_at", UTC_TIME(), nullable=False),
        sa.UniqueConstraint("device_id", "channel_id"),
    )
    op.create_table(
        "gb_device_reports",
        sa.Column("device_id", sa.String(20), primary_key=True),
        sa.Column("info", sa.JSON()),
        sa.Column("info_at", UTC_TIME()),
        sa.Column("status", sa.JSON()),
        sa.Column("status_at", UTC_TIME()),
    )


def downgrade() -> None:
    op.drop_table("gb_device_reports")
    op.drop_table("gb_channels")
