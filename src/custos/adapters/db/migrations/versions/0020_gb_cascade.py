"""GB/T 28181 cascade: upper platforms, their state and the share lists (issue 12 §2)

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import custos.adapters.db.tables

UTC_TIME = custos.adapters.db.tables.UTCDateTime

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gb_upper_platforms",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("sip_id", sa.String(length=20), nullable=False),
        sa.Column("domain", sa.String(length=64), nullable=False),
        sa.Column("host", sa.String(length=253), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("transport", sa.String(length=3), nullable=False),
        sa.Column("password_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("register_expiry_s", sa.Integer(), nullable=False),
        sa.Column("keepalive_interval_s", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC_TIME(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("state_since", UTC_TIME(timezone=True), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=False),
        sa.Column("registered_until", UTC_TIME(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gb_upper_platforms")),
        sa.UniqueConstraint("sip_id", name=op.f("uq_gb_upper_platforms_sip_id")),
    )
    op.create_table(
        "gb_shares",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("platform_id", sa.Integer(), nullable=False),
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("shared_by", sa.String(length=100), nullable=False),
        sa.Column("shared_at", UTC_TIME(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["gb_upper_platforms.id"],
            name=op.f("fk_gb_shares_platform_id_gb_upper_platforms"),
        ),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name=op.f("fk_gb_shares_camera_id_cameras")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gb_shares")),
        sa.UniqueConstraint("platform_id", "camera_id", name="uq_gb_shares_platform_camera"),
    )  # fmt: skip
    op.create_index("ix_gb_shares_platform_id", "gb_shares", ["platform_id"])


def downgrade() -> None:
    op.drop_index("ix_gb_shares_platform_id", table_name="gb_shares")
    op.drop_table("gb_shares")
    op.drop_table("gb_upper_platforms")
