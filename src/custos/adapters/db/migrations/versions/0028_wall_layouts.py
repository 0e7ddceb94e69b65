"""The duty wall's saved layouts, per user and per monitoring room (issue 17, docs/design/live.md §3)

- ``wall_layouts``: the grid ("1", "4", "9", "16" or "RxC") and its tiles (a camera, a tour of
  cameras at an interval, or empty) of one user (``owner_id``) or one room (``room_id``), never
  both; at most one row per user and per room.

Revision ID: 0028
Revises: 0027
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import custos.adapters.db.tables

UTC_TIME = custos.adapters.db.tables.UTCDateTime

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wall_layouts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("room_id", sa.Integer(), nullable=True),
        sa.Column("grid", sa.String(length=8), nullable=False),
        sa.Column("tiles", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTC_TIME(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_wall_layouts_owner_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["room_id"],
            ["monitoring_rooms.id"],
            name=op.f("fk_wall_layouts_room_id_monitoring_rooms"),
        ),
        sa.CheckConstraint(
            "(owner_id IS NULL) <> (room_id IS NULL)", name=op.f("ck_wall_layouts_one_holder")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wall_layouts")),
        sa.UniqueConstraint("owner_id", name=op.f("uq_wall_layouts_owner_id")),
        sa.UniqueConstraint("room_id", name=op.f("uq_wall_layouts_room_id")),
    )


def downgrade() -> None:
    op.drop_table("wall_layouts")
