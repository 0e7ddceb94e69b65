"""The offload's backlog without an anti-join (issue 16, docs/design/cluster.md, "Reading less at
10,000 cameras")

- ``segments.offloaded``: true once the segment's object is in the store; backfilled from
  ``segment_objects``, then set and cleared in the same transaction as that table's row.
- ``ix_segments_offload_pending``: a partial index on ``(node, id)`` of the segments not yet
  offloaded and not flagged missing: what the offload's candidates and the offload lag read.

Revision ID: 0027
Revises: 0026
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

#: as ``recording_tables.OFFLOAD_PENDING`` (each dialect's rendering of ``== false()``)
PG_PENDING = "offloaded = false AND missing = false"
SQLITE_PENDING = "offloaded = 0 AND missing = 0"


def upgrade() -> None:
    with op.batch_alter_table("segments") as batch_op:
        batch_op.add_column(
            sa.Column("offloaded", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    segments = sa.table("segments", sa.column("id"), sa.column("offloaded", sa.Boolean()))
    objects = sa.table("segment_objects", sa.column("segment_id"))
    op.execute(
        segments.update()
        .where(segments.c.id.in_(sa.select(objects.c.segment_id)))
        .values(offloaded=True)
    )
    op.create_index(
        "ix_segments_offload_pending",
        "segments",
        ["node", "id"],
        postgresql_where=sa.text(PG_PENDING),
        sqlite_where=sa.text(SQLITE_PENDING),
    )


def downgrade() -> None:
    op.drop_index("ix_segments_offload_pending", "segments")
    with op.batch_alter_table("segments") as batch_op:
        batch_op.drop_column("offloaded")
