"""alarm delivery: channels, the rota and the delivery outbox (issue 14 §1)

An alarm row is the outbox's record: ``routed_at`` NULL until the notifier has written its
deliveries (so a crash between the raise and the send loses nothing); ``escalation_level`` and
``escalated_at`` say how far up the rota an unacknowledged alarm has gone.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import custos.adapters.db.tables

UTC_TIME = custos.adapters.db.tables.UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alarms", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("escalation_level", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("escalated_at", UTC_TIME(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("routed_at", UTC_TIME(timezone=True), nullable=True))
    # alarms raised before delivery existed are not sent now
    op.execute("UPDATE alarms SET routed_at = raised_at")
    op.create_table(
        "notify_channels",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("units.id"), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("url_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("secret_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC_TIME(timezone=True), nullable=False),
    )
    op.create_index("ix_notify_channels_unit_id", "notify_channels", ["unit_id"])
    op.create_table(
        "rota_entries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("units.id"), nullable=True),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("channel_id", sa.Integer(), sa.ForeignKey("notify_channels.id"), nullable=True),
    )
    op.create_index("ix_rota_entries_unit_id", "rota_entries", ["unit_id"])
    op.create_table(
        "alarm_deliveries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("alarm_id", sa.Integer(), sa.ForeignKey("alarms.id"), nullable=False),
        sa.Column("channel_id", sa.Integer(), sa.ForeignKey("notify_channels.id"), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_at", UTC_TIME(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_attempt_at", UTC_TIME(timezone=True), nullable=True),
        sa.Column("sent_at", UTC_TIME(timezone=True), nullable=True),
        sa.Column("created_at", UTC_TIME(timezone=True), nullable=False),
    )
    op.create_index("ix_alarm_deliveries_alarm_id", "alarm_deliveries", ["alarm_id"])
    op.create_index("ix_alarm_deliveries_due", "alarm_deliveries", ["status", "next_at"])


def downgrade() -> None:
    op.drop_index("ix_alarm_deliveries_due", table_name="alarm_deliveries")
    op.drop_index("ix_alarm_deliveries_alarm_id", table_name="alarm_deliveries")
    op.drop_table("alarm_deliveries")
    op.drop_index("ix_rota_entries_unit_id", table_name="rota_entries")
    op.drop_table("rota_entries")
    op.drop_index("ix_notify_channels_unit_id", table_name="notify_channels")
    op.drop_table("notify_channels")
    with op.batch_alter_table("alarms", schema=None) as batch_op:
        batch_op.drop_column("routed_at")
        batch_op.drop_column("escalated_at")
        batch_op.drop_column("escalation_level")
