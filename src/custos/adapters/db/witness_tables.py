"""The bureau as a witness: registered senders and the checkpoints they handed over (migration
0025, docs/design/evidence.md, "The bureau as a witness").

``witness_senders``: one row per unit system, by its log key's id. ``witness_checkpoints``:
append-only (on PostgreSQL triggers refuse UPDATE, DELETE and TRUNCATE), one row per distinct
checkpoint received, the canonical witness line in ``line``; ``conflict`` is empty for an
accepted copy, of which there is at most one per key and tree size.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    text,
)

from custos.adapters.db.tables import UTCDateTime, metadata

witness_senders = Table(
    "witness_senders",
    metadata,
    Column("key_id", String(16), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("public_key", LargeBinary(32), nullable=False),
    Column("registered_at", UTCDateTime(), nullable=False),
    Column("registered_by", String(64), nullable=False),
)

ACCEPTED = "conflict IS NULL"

witness_checkpoints = Table(
    "witness_checkpoints",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key_id", String(16), ForeignKey("witness_senders.key_id"), nullable=False),
    Column("tree_size", BigInteger, nullable=False),
    Column("signed_at", UTCDateTime(), nullable=False),
    Column("line", Text, nullable=False),
    Column("line_sha256", String(64), nullable=False, unique=True),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("conflict", String(16)),
    Column("conflicts_with", Integer, ForeignKey("witness_checkpoints.id")),
    Index("ix_witness_checkpoints_key_id_id", "key_id", "id"),
    Index(
        "uq_witness_checkpoints_accepted",
        "key_id",
        "tree_size",
        unique=True,
        sqlite_where=text(ACCEPTED),
        postgresql_where=text(ACCEPTED),
    ),
)
