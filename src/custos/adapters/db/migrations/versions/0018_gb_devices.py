"""GB/T 28181 devices: the allow-list, sealed passwords, registrations and keepalives (issue 12 §1)

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import custos.adapters.db.tables

UTC_TIME = custos.adapters.db.tables.UTCDateTime

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gb_devices",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("device_id", sa.String(length=20), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("password_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTC_TIME(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("registered_at", UTC_TIME(timezone=True), nullable=True),
        sa.Column("expires_at", UTC_TIME(timezone=True), nullable=True),
        sa.Column("last_seen_at", UTC_TIME(timezone=True), nullable=True),
        sa.Column("last_keepalive_at", UTC_TIME(timezone=True), nullable=True),
        sa.Column("address", sa.String(length=100), nullable=False),
        sa.Column("transport", sa.String(length=3), nullable=False),
        sa.Column("clock_drift_s", sa.Float(), nullable=True),
        sa.Column("offline", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_gb_devices_unit_id_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gb_devices")),
        sa.UniqueConstraint("device_id", name=op.f("uq_gb_devices_device_id")),
    )
    op.create_index(op.f("ix_gb_devices_unit_id"), "gb_devices", ["unit_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_gb_devices_unit_id"), table_name="gb_devices")
    op.drop_table("gb_devices")
