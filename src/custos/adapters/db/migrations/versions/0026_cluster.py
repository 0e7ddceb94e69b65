"""Custos on several machines (issue 16, docs/design/cluster.md)

- ``recorder_nodes``: each ``custos recorder --node NAME``, its capacity and heartbeat.
- ``camera_leases``: which node records a camera, until when, under which fencing token.
- ``camera_lease_terms``: one row per grant, so the index knows when a token's term ended.
- ``segments.node``/``segments.fencing_token``: who recorded a segment, under which token.
- ``refused_segments``: sealed files the index refused for a stale token, kept aside.
- ``duty_leases``: which server runs each of the housekeeper's timed duties.

Revision ID: 0026
Revises: 0025
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import custos.adapters.db.tables

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

UTC_TIME = custos.adapters.db.tables.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "recorder_nodes",
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("address", sa.String(255), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(40), nullable=False),
        sa.Column("started_at", UTC_TIME(), nullable=False),
        sa.Column("heartbeat_at", UTC_TIME(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("instance", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_recorder_nodes")),
    )
    op.create_table(
        "camera_leases",
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("holder", sa.String(40), nullable=True),
        sa.Column("expires_at", UTC_TIME(), nullable=False),
        sa.Column("fencing_token", sa.BigInteger(), nullable=False),
        sa.Column("granted_at", UTC_TIME(), nullable=True),
        sa.Column("releasing", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("camera_id", name=op.f("pk_camera_leases")),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name=op.f("fk_camera_leases_camera_id_cameras")
        ),
    )
    op.create_index("ix_camera_leases_holder", "camera_leases", ["holder"])
    op.create_table(
        "camera_lease_terms",
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("fencing_token", sa.BigInteger(), nullable=False),
        sa.Column("holder", sa.String(40), nullable=False),
        sa.Column("granted_at", UTC_TIME(), nullable=False),
        sa.PrimaryKeyConstraint("camera_id", "fencing_token", name=op.f("pk_camera_lease_terms")),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name=op.f("fk_camera_lease_terms_camera_id_cameras")
        ),
    )
    op.create_table(
        "refused_segments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("node", sa.String(40), nullable=False),
        sa.Column("fencing_token", sa.BigInteger(), nullable=False),
        sa.Column("current_token", sa.BigInteger(), nullable=False),
        sa.Column("path", sa.String(500), nullable=False),
        sa.Column("kept_at", sa.String(500), nullable=False),
        sa.Column("start_at", UTC_TIME(), nullable=False),
        sa.Column("end_at", UTC_TIME(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("refused_at", UTC_TIME(), nullable=False),
        sa.Column("why", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refused_segments")),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name=op.f("fk_refused_segments_camera_id_cameras")
        ),
    )
    op.create_index(
        "ix_refused_segments_camera_start", "refused_segments", ["camera_id", "start_at"]
    )
    op.create_table(
        "duty_leases",
        sa.Column("duty", sa.String(40), nullable=False),
        sa.Column("holder", sa.String(120), nullable=True),
        sa.Column("expires_at", UTC_TIME(), nullable=False),
        sa.Column("token", sa.BigInteger(), nullable=False),
        sa.Column("granted_at", UTC_TIME(), nullable=True),
        sa.PrimaryKeyConstraint("duty", name=op.f("pk_duty_leases")),
    )
    with op.batch_alter_table("segments") as batch_op:
        batch_op.add_column(sa.Column("node", sa.String(40), nullable=True))
        batch_op.add_column(sa.Column("fencing_token", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("segments") as batch_op:
        batch_op.drop_column("fencing_token")
        batch_op.drop_column("node")
    op.drop_table("duty_leases")
    op.drop_index("ix_refused_segments_camera_start", "refused_segments")
    op.drop_table("refused_segments")
    op.drop_table("camera_lease_terms")
    op.drop_index("ix_camera_leases_holder", "camera_leases")
    op.drop_table("camera_leases")
    op.drop_table("recorder_nodes")
