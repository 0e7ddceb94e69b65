"""recorder: segments.tail_checked_at, when ``custos check`` last decoded a segment's last fragment

Torn tails themselves are cut off before sealing and kept in the volume's quarantine; each cut is
an audit entry (``segment.torn_tail``), so it needs no table (docs/design/recording.md).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import custos.adapters.db.tables

UTC_TIME = custos.adapters.db.tables.UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("segments") as batch:
        batch.add_column(sa.Column("tail_checked_at", UTC_TIME(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("segments") as batch:
        batch.drop_column("tail_checked_at")
