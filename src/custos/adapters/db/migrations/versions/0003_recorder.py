"""recorder: segment index, gaps, camera health

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import custos.adapters.db.tables

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

UTC_TIME = custos.adapters.db.tables.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "segments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=40), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("start_at", UTC_TIME(timezone=True), nullable=False),
        sa.Column("end_at", UTC_TIME(timezone=True), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("codec", sa.String(length=16), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("sealed_at", UTC_TIME(timezone=True), nullable=False),
        sa.Column("adopted", sa.Boolean(), nullable=False),
        sa.Column("missing", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name=op.f("fk_segments_camera_id_cameras")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segments")),
        sa.UniqueConstraint("path", name=op.f("uq_segments_path")),
        sa.UniqueConstraint(
            "camera_id", "run_id", "sequence", name="uq_segments_camera_run_sequence"
        ),
    )
    op.create_index("ix_segments_camera_start", "segments", ["camera_id", "start_at"])
    op.create_table(
        "recording_gaps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("start_at", UTC_TIME(timezone=True), nullable=False),
        sa.Column("end_at", UTC_TIME(timezone=True), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name=op.f("fk_recording_gaps_camera_id_cameras")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recording_gaps")),
    )
    op.create_index("ix_recording_gaps_camera_start", "recording_gaps", ["camera_id", "start_at"])
    op.create_table(
        "camera_health",
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("since", UTC_TIME(timezone=True), nullable=False),
        sa.Column("last_frame_at", UTC_TIME(timezone=True), nullable=True),
        sa.Column("fps", sa.Float(), nullable=True),
        sa.Column("bitrate_kbps", sa.Float(), nullable=True),
        sa.Column("updated_at", UTC_TIME(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name=op.f("fk_camera_health_camera_id_cameras")
        ),
        sa.PrimaryKeyConstraint("camera_id", name=op.f("pk_camera_health")),
    )


def downgrade() -> None:
    op.drop_table("camera_health")
    op.drop_index("ix_recording_gaps_camera_start", table_name="recording_gaps")
    op.drop_table("recording_gaps")
    op.drop_index("ix_segments_camera_start", table_name="segments")
    op.drop_table("segments")
