"""ONVIF onboarding: proposals, camera clock checks, PTZ (issue 14 §3)

- ``onvif_proposals``: what WS-Discovery found and the device said about itself, waiting for a
  unit manager to accept it into the registry or dismiss it; the ONVIF credentials sealed;
- ``onvif_links``: a camera that came in through ONVIF (device URL, sealed credentials, the
  profile PTZ commands name, the last measured clock drift);
- ``onvif_unit_settings.camera_time_sync``: the unit lets Custos set its cameras' clocks
  (default off: no row).

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import custos.adapters.db.tables

UTC_TIME = custos.adapters.db.tables.UTCDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "onvif_proposals",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("units.id"), nullable=False, index=True),
        sa.Column("endpoint", sa.String(300), nullable=False),
        sa.Column("xaddr", sa.String(500), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("manufacturer", sa.String(200)),
        sa.Column("model", sa.String(200)),
        sa.Column("serial", sa.String(200)),
        sa.Column("firmware", sa.String(200)),
        sa.Column("main_stream_uri", sa.String(1000)),
        sa.Column("sub_stream_uri", sa.String(1000)),
        sa.Column("profile_token", sa.String(100)),
        sa.Column("has_ptz", sa.Boolean(), nullable=False),
        sa.Column("clock_drift_s", sa.Float()),
        sa.Column("probe_error", sa.String(500), nullable=False),
        sa.Column("credentials_secret", sa.LargeBinary()),
        sa.Column("discovered_at", UTC_TIME(), nullable=False),
        sa.Column("discovered_by", sa.String(100), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("decided_by", sa.String(100)),
        sa.Column("decided_at", UTC_TIME()),
        sa.Column("camera_id", sa.Integer(), sa.ForeignKey("cameras.id")),
    )
    op.create_table(
        "onvif_links",
        sa.Column("camera_id", sa.Integer(), sa.ForeignKey("cameras.id"), primary_key=True),
        sa.Column("xaddr", sa.String(500), nullable=False),
        sa.Column("endpoint", sa.String(300), nullable=False),
        sa.Column("credentials_secret", sa.LargeBinary()),
        sa.Column("profile_token", sa.String(100)),
        sa.Column("has_ptz", sa.Boolean(), nullable=False),
        sa.Column("clock_drift_s", sa.Float()),
        sa.Column("clock_checked_at", UTC_TIME()),
    )
    op.create_table(
        "onvif_unit_settings",
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("units.id"), primary_key=True),
        sa.Column("camera_time_sync", sa.Boolean(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("onvif_unit_settings")
    op.drop_table("onvif_links")
    op.drop_table("onvif_proposals")
