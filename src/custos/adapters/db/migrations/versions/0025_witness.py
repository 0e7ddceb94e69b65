"""The bureau as a witness of its units' signed checkpoints (issue 13, docs/design/evidence.md)

- ``witness_senders``: the unit systems whose operation-log key the bureau registered.
- ``witness_checkpoints``: every distinct checkpoint received, append-only; at most one accepted
  copy per (key id, tree size), conflicting copies kept beside it as evidence. On PostgreSQL
  triggers refuse UPDATE, DELETE and TRUNCATE, as on the operation log.

Revision ID: 0025
Revises: 0024
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import custos.adapters.db.tables

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

UTC_TIME = custos.adapters.db.tables.UTCDateTime
ACCEPTED = "conflict IS NULL"

REFUSE_FUNCTION = """
CREATE OR REPLACE FUNCTION custos_refuse_witness_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'witnessed checkpoints are append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$
"""


def upgrade() -> None:
    op.create_table(
        "witness_senders",
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("public_key", sa.LargeBinary(32), nullable=False),
        sa.Column("registered_at", UTC_TIME(), nullable=False),
        sa.Column("registered_by", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_witness_senders")),
    )
    op.create_table(
        "witness_checkpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("signed_at", UTC_TIME(), nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.Column("line_sha256", sa.String(64), nullable=False),
        sa.Column("received_at", UTC_TIME(), nullable=False),
        sa.Column("conflict", sa.String(16), nullable=True),
        sa.Column("conflicts_with", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_witness_checkpoints")),
        sa.ForeignKeyConstraint(
            ["key_id"],
            ["witness_senders.key_id"],
            name=op.f("fk_witness_checkpoints_key_id_witness_senders"),
        ),
        sa.ForeignKeyConstraint(
            ["conflicts_with"],
            ["witness_checkpoints.id"],
            name=op.f("fk_witness_checkpoints_conflicts_with_witness_checkpoints"),
        ),
        sa.UniqueConstraint("line_sha256", name=op.f("uq_witness_checkpoints_line_sha256")),
    )
    op.create_index("ix_witness_checkpoints_key_id_id", "witness_checkpoints", ["key_id", "id"])
    op.create_index(
        "uq_witness_checkpoints_accepted",
        "witness_checkpoints",
        ["key_id", "tree_size"],
        unique=True,
        sqlite_where=sa.text(ACCEPTED),
        postgresql_where=sa.text(ACCEPTED),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(REFUSE_FUNCTION)
        op.execute(
            "CREATE TRIGGER witness_checkpoints_append_only BEFORE UPDATE OR DELETE ON "
            "witness_checkpoints FOR EACH ROW EXECUTE FUNCTION custos_refuse_witness_change()"
        )
        op.execute(
            "CREATE TRIGGER witness_checkpoints_no_truncate BEFORE TRUNCATE ON "
            "witness_checkpoints FOR EACH STATEMENT EXECUTE FUNCTION "
            "custos_refuse_witness_change()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS witness_checkpoints_append_only ON witness_checkpoints")
        op.execute("DROP TRIGGER IF EXISTS witness_checkpoints_no_truncate ON witness_checkpoints")
        op.execute("DROP FUNCTION IF EXISTS custos_refuse_witness_change()")
    op.drop_index("uq_witness_checkpoints_accepted", "witness_checkpoints")
    op.drop_index("ix_witness_checkpoints_key_id_id", "witness_checkpoints")
    op.drop_table("witness_checkpoints")
    op.drop_table("witness_senders")
