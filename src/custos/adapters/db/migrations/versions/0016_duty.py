"""the duty records: shifts, handovers, duty log, police reports, room access (issue 14 §4)

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import custos.adapters.db.tables

UTC_TIME = custos.adapters.db.tables.UTCDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "monitoring_rooms",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("units.id"), nullable=False, index=True),
        sa.Column("site_id", sa.Integer(), sa.ForeignKey("sites.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("camera_ids", sa.JSON(), nullable=False),
        sa.Column("authorised", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", UTC_TIME(), nullable=False),
    )
    op.create_table(
        "duty_shifts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "room_id",
            sa.Integer(),
            sa.ForeignKey("monitoring_rooms.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("starts", sa.String(5), nullable=False),
        sa.Column("ends", sa.String(5), nullable=False),
        sa.Column("requires_duty", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC_TIME(), nullable=False),
    )
    op.create_table(
        "duty_rota",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "room_id",
            sa.Integer(),
            sa.ForeignKey("monitoring_rooms.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("shift_id", sa.Integer(), sa.ForeignKey("duty_shifts.id"), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id")),
        sa.Column("person_name", sa.String(100), nullable=False),
    )
    op.create_table(
        "duty_sessions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "room_id",
            sa.Integer(),
            sa.ForeignKey("monitoring_rooms.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("username", sa.String(100), nullable=False),
        sa.Column("signed_on_at", UTC_TIME(), nullable=False),
        sa.Column("signed_off_at", UTC_TIME()),
        sa.Column("follows", sa.Integer()),
        sa.Column("handover_to", sa.Integer(), sa.ForeignKey("users.id")),
        sa.Column("handover_note", sa.String(4000), nullable=False),
        sa.Column("handover_at", UTC_TIME()),
    )
    op.create_table(
        "duty_log",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "room_id",
            sa.Integer(),
            sa.ForeignKey("monitoring_rooms.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("session_id", sa.Integer(), sa.ForeignKey("duty_sessions.id")),
        sa.Column("at", UTC_TIME(), nullable=False),
        sa.Column("camera_id", sa.Integer(), sa.ForeignKey("cameras.id")),
        sa.Column("text", sa.String(4000), nullable=False),
        sa.Column("suspicious", sa.Boolean(), nullable=False),
        sa.Column("corrects", sa.Integer(), sa.ForeignKey("duty_log.id")),
        sa.Column("written_by", sa.String(100), nullable=False),
        sa.Column("written_at", UTC_TIME(), nullable=False),
    )
    op.create_table(
        "police_reports",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "room_id",
            sa.Integer(),
            sa.ForeignKey("monitoring_rooms.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("entry_id", sa.Integer(), sa.ForeignKey("duty_log.id")),
        sa.Column("seen_at", UTC_TIME(), nullable=False),
        sa.Column("reported_at", UTC_TIME(), nullable=False),
        sa.Column("organ", sa.String(200), nullable=False),
        sa.Column("organ_code", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("reference", sa.String(200), nullable=False),
        sa.Column("what", sa.String(4000), nullable=False),
        sa.Column("recorded_by", sa.String(100), nullable=False),
        sa.Column("recorded_at", UTC_TIME(), nullable=False),
    )
    op.create_table(
        "room_entries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "room_id",
            sa.Integer(),
            sa.ForeignKey("monitoring_rooms.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("person_name", sa.String(100), nullable=False),
        sa.Column("organisation", sa.String(200), nullable=False),
        sa.Column("reason", sa.String(1000), nullable=False),
        sa.Column("entered_at", UTC_TIME(), nullable=False),
        sa.Column("left_at", UTC_TIME()),
        sa.Column("let_in_by", sa.String(100), nullable=False),
        sa.Column("let_in_by_user_id", sa.Integer(), sa.ForeignKey("users.id")),
        sa.Column("authorised", sa.Boolean(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("room_entries")
    op.drop_table("police_reports")
    op.drop_table("duty_log")
    op.drop_table("duty_sessions")
    op.drop_table("duty_rota")
    op.drop_table("duty_shifts")
    op.drop_table("monitoring_rooms")
