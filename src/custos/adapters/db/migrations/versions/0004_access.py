"""access: user profiles, access requests, registration register, playback sessions, exports

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import custos.adapters.db.tables

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

UTC_TIME = custos.adapters.db.tables.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("full_name", sa.String(length=100), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("jurisdiction", sa.String(length=6), nullable=True))
        batch.add_column(sa.Column("approver_title", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("scopes", sa.Text(), nullable=False, server_default="[]"))
    op.create_table(
        "access_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_TIME(timezone=True), nullable=False),
        sa.Column("expires_at", UTC_TIME(timezone=True), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["requested_by"], ["users.id"], name=op.f("fk_access_requests_requested_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_requests")),
    )
    op.create_index("ix_access_requests_state", "access_requests", ["state"])
    op.create_table(
        "register_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", UTC_TIME(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("camera_ids", sa.String(length=2000), nullable=False),
        sa.Column("persons", sa.Text(), nullable=False),
        sa.Column("start_at", UTC_TIME(timezone=True), nullable=True),
        sa.Column("end_at", UTC_TIME(timezone=True), nullable=True),
        sa.Column("ended_at", UTC_TIME(timezone=True), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name=op.f("fk_register_entries_unit_id_units")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_register_entries_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["access_requests.id"],
            name=op.f("fk_register_entries_request_id_access_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_register_entries")),
    )
    op.create_index("ix_register_entries_unit_at", "register_entries", ["unit_id", "at"])
    op.create_table(
        "playback_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("opened_at", UTC_TIME(timezone=True), nullable=False),
        sa.Column("expires_at", UTC_TIME(timezone=True), nullable=False),
        sa.Column("closed_at", UTC_TIME(timezone=True), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_playback_sessions_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["access_requests.id"],
            name=op.f("fk_playback_sessions_request_id_access_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_playback_sessions")),
    )
    op.create_table(
        "export_packages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC_TIME(timezone=True), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_export_packages_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["access_requests.id"],
            name=op.f("fk_export_packages_request_id_access_requests"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_packages")),
        sa.UniqueConstraint("path", name=op.f("uq_export_packages_path")),
    )


def downgrade() -> None:
    op.drop_table("export_packages")
    op.drop_table("playback_sessions")
    op.drop_index("ix_register_entries_unit_at", table_name="register_entries")
    op.drop_table("register_entries")
    op.drop_index("ix_access_requests_state", table_name="access_requests")
    op.drop_table("access_requests")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("scopes")
        batch.drop_column("approver_title")
        batch.drop_column("jurisdiction")
        batch.drop_column("full_name")
