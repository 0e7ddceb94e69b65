"""staff archive, training, inspection, work orders, contractors, emergency plans (issue 14 §4)

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import custos.adapters.db.tables

UTC_TIME = custos.adapters.db.tables.UTCDateTime

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contractors",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("units.id"), nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("maintains", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", UTC_TIME(), nullable=False),
    )
    op.create_table(
        "entrustment_agreements",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "contractor_id",
            sa.Integer(),
            sa.ForeignKey("contractors.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("signed_on", sa.Date(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date()),
        sa.Column("scope", sa.String(1000), nullable=False),
        sa.Column("document_sha256", sa.String(64), nullable=False),
        sa.Column("recorded_by", sa.String(100), nullable=False),
        sa.Column("recorded_at", UTC_TIME(), nullable=False),
    )
    op.create_table(
        "staff_members",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("units.id"), nullable=False, index=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("id_number_secret", sa.LargeBinary(), nullable=False),
        sa.Column("id_number_masked", sa.String(18), nullable=False),
        sa.Column("hired_on", sa.Date(), nullable=False),
        sa.Column("left_on", sa.Date()),
        sa.Column("contractor_id", sa.Integer(), sa.ForeignKey("contractors.id")),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id")),
        sa.Column("recorded_by", sa.String(100), nullable=False),
        sa.Column("recorded_at", UTC_TIME(), nullable=False),
    )
    op.create_table(
        "trainings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("units.id"), nullable=False, index=True),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("contents", sa.JSON(), nullable=False),
        sa.Column("trainer", sa.String(100), nullable=False),
        sa.Column("hours", sa.Integer(), nullable=False),
        sa.Column("attendee_ids", sa.JSON(), nullable=False),
        sa.Column("recorded_by", sa.String(100), nullable=False),
        sa.Column("recorded_at", UTC_TIME(), nullable=False),
    )
    op.create_table(
        "inspection_schedules",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("units.id"), nullable=False, index=True),
        sa.Column("site_id", sa.Integer(), sa.ForeignKey("sites.id"), nullable=False),
        sa.Column("camera_id", sa.Integer(), sa.ForeignKey("cameras.id")),
        sa.Column("interval_days", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", UTC_TIME(), nullable=False),
    )
    op.create_table(
        "inspections",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "schedule_id",
            sa.Integer(),
            sa.ForeignKey("inspection_schedules.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("done_on", sa.Date(), nullable=False),
        sa.Column("staff_id", sa.Integer(), sa.ForeignKey("staff_members.id"), nullable=False),
        sa.Column("result", sa.String(20), nullable=False),
        sa.Column("note", sa.String(2000), nullable=False),
        sa.Column("recorded_by", sa.String(100), nullable=False),
        sa.Column("recorded_at", UTC_TIME(), nullable=False),
    )
    op.create_table(
        "work_orders",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("units.id"), nullable=False, index=True),
        sa.Column("site_id", sa.Integer(), sa.ForeignKey("sites.id"), nullable=False),
        sa.Column("camera_id", sa.Integer(), sa.ForeignKey("cameras.id")),
        sa.Column("alarm_id", sa.Integer(), sa.ForeignKey("alarms.id")),
        sa.Column("description", sa.String(2000), nullable=False),
        sa.Column("opened_at", UTC_TIME(), nullable=False),
        sa.Column("opened_by", sa.String(100), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("assignee_staff_id", sa.Integer(), sa.ForeignKey("staff_members.id")),
        sa.Column("assignee_contractor_id", sa.Integer(), sa.ForeignKey("contractors.id")),
        sa.Column("assigned_at", UTC_TIME()),
        sa.Column("repaired_at", UTC_TIME()),
        sa.Column("repaired_by", sa.String(100)),
        sa.Column("repair_note", sa.String(2000), nullable=False),
        sa.Column("verified_at", UTC_TIME()),
        sa.Column("verified_by", sa.String(100)),
    )
    op.create_table(
        "assessments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("units.id"), nullable=False, index=True),
        sa.Column("done_on", sa.Date(), nullable=False),
        sa.Column("assessor", sa.String(200), nullable=False),
        sa.Column("effectiveness", sa.String(2000), nullable=False),
        sa.Column("security", sa.String(2000), nullable=False),
        sa.Column("conclusion", sa.String(20), nullable=False),
        sa.Column("recorded_by", sa.String(100), nullable=False),
        sa.Column("recorded_at", UTC_TIME(), nullable=False),
    )
    op.create_table(
        "emergency_plans",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("units.id"), nullable=False, index=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("version", sa.String(50), nullable=False),
        sa.Column("approved_on", sa.Date(), nullable=False),
        sa.Column("approved_by", sa.String(100), nullable=False),
        sa.Column("document_sha256", sa.String(64), nullable=False),
        sa.Column("recorded_by", sa.String(100), nullable=False),
        sa.Column("recorded_at", UTC_TIME(), nullable=False),
    )
    op.create_table(
        "drills",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("units.id"), nullable=False, index=True),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("scenario", sa.String(1000), nullable=False),
        sa.Column("participant_ids", sa.JSON(), nullable=False),
        sa.Column("findings", sa.String(2000), nullable=False),
        sa.Column("recorded_by", sa.String(100), nullable=False),
        sa.Column("recorded_at", UTC_TIME(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("drills")
    op.drop_table("emergency_plans")
    op.drop_table("assessments")
    op.drop_table("work_orders")
    op.drop_table("inspections")
    op.drop_table("inspection_schedules")
    op.drop_table("trainings")
    op.drop_table("staff_members")
    op.drop_table("entrustment_agreements")
    op.drop_table("contractors")
