"""audit chain: canonical entries with leaf and chain hashes, signed checkpoints, append-only

Revision ID: 0002
Revises: 0001

``audit_events`` keeps one column of content, ``entry``: the canonical JSON the leaf hash covers.
Existing rows are rewritten into it, renumbered 1..n without gaps (a PostgreSQL sequence skips
numbers on rollback) and chained from the genesis hash; the first append after the upgrade signs
the first checkpoint. On PostgreSQL, triggers then refuse UPDATE, DELETE and TRUNCATE on the log
and its checkpoints. See docs/design/audit.md.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

import custos.adapters.db.tables
from custos.domain.audit import AuditEvent, Outcome
from custos.domain.audit_chain import GENESIS, canonical_entry, event_of, next_chain
from custos.domain.merkle import leaf_hash

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UTC_TIME = custos.adapters.db.tables.UTCDateTime
APPEND_ONLY = ("audit_events", "audit_checkpoints")
FIELDS = ("at", "actor", "action", "object_type", "object_id", "outcome", "before", "after")

REFUSE_FUNCTION = """
CREATE OR REPLACE FUNCTION custos_refuse_audit_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the operation log is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$
"""


def _old_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("at", UTC_TIME(timezone=True), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=True),
        sa.Column("object_type", sa.String(length=32), nullable=True),
        sa.Column("object_id", sa.String(length=64), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
    ]


def _events_table() -> sa.TableClause:
    return sa.table(
        "audit_events",
        sa.column("seq", sa.Integer()),
        sa.column("entry", sa.Text()),
        sa.column("leaf_hash", sa.LargeBinary()),
        sa.column("chain_hash", sa.LargeBinary()),
        *(sa.column(c.name, c.type) for c in _old_columns()),
    )


def upgrade() -> None:
    op.create_table(
        "audit_checkpoints",
        sa.Column("tree_size", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("root_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("chain_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("signed_at", UTC_TIME(timezone=True), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("signature", sa.LargeBinary(length=64), nullable=False),
        sa.Column("frontier", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("tree_size", name=op.f("pk_audit_checkpoints")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("entry", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("leaf_hash", sa.LargeBinary(length=32), nullable=True))
        batch_op.add_column(sa.Column("chain_hash", sa.LargeBinary(length=32), nullable=True))
    _chain_existing_entries()
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_events_action"))
        for column in _old_columns():
            batch_op.drop_column(column.name)
        batch_op.alter_column("entry", existing_type=sa.Text(), nullable=False)
        for name in ("leaf_hash", "chain_hash"):
            batch_op.alter_column(name, existing_type=sa.LargeBinary(32), nullable=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE audit_events ALTER COLUMN seq DROP DEFAULT")
        op.execute("DROP SEQUENCE IF EXISTS audit_events_seq_seq")
        op.execute(REFUSE_FUNCTION)
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION custos_refuse_audit_change()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION custos_refuse_audit_change()"
            )


def _chain_existing_entries() -> None:
    events, bind = _events_table(), op.get_bind()
    rows = bind.execute(sa.select(events).order_by(events.c.seq)).mappings().all()
    chain = GENESIS
    for new_seq, r in enumerate(rows, start=1):
        event = AuditEvent(
            r["at"],
            r["actor"],
            r["action"],
            r["object_type"],
            r["object_id"],
            Outcome(r["outcome"]),
            r["before"],
            r["after"],
            r["detail"] or {},
        )
        entry = canonical_entry(new_seq, event)
        leaf = leaf_hash(entry)
        chain = next_chain(chain, leaf)
        bind.execute(
            events.update()
            .where(events.c.seq == r["seq"])
            .values(seq=new_seq, entry=entry.decode(), leaf_hash=leaf, chain_hash=chain)
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS custos_refuse_audit_change()")
        op.execute("CREATE SEQUENCE IF NOT EXISTS audit_events_seq_seq OWNED BY audit_events.seq")
        op.execute(
            "SELECT setval('audit_events_seq_seq', COALESCE(MAX(seq), 0) + 1, false) "
            "FROM audit_events"
        )
        op.execute(
            "ALTER TABLE audit_events ALTER COLUMN seq SET DEFAULT nextval('audit_events_seq_seq')"
        )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        for column in _old_columns():
            batch_op.add_column(column)
    events, bind = _events_table(), op.get_bind()
    for seq, entry in bind.execute(sa.select(events.c.seq, events.c.entry)).all():
        _, e = event_of(entry)
        values = {name: getattr(e, name) for name in FIELDS}
        values["outcome"] = e.outcome.value
        bind.execute(events.update().where(events.c.seq == seq).values(**values, detail=e.detail))
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        for column in _old_columns():
            if column.name not in ("object_id", "before", "after"):
                batch_op.alter_column(column.name, existing_type=column.type, nullable=False)
        batch_op.create_index(batch_op.f("ix_audit_events_action"), ["action"], unique=False)
        batch_op.drop_column("chain_hash")
        batch_op.drop_column("leaf_hash")
        batch_op.drop_column("entry")
    op.drop_table("audit_checkpoints")
