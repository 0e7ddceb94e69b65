"""The stored operation log: chained rows in ``audit_events``, signed ``audit_checkpoints``.

Appends run in the caller's transaction, so an entry commits or rolls back with the change it
records. They are serialised so that seq and chain have no gaps or forks: on SQLite by
``BEGIN IMMEDIATE`` (every Custos transaction holds the write lock from its start), on PostgreSQL
by a transaction-level advisory lock taken, in its own statement, before the tail is read.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from json import encoder
from typing import Any

from sqlalchemy import Connection, RootTransaction, Select, and_, func, insert, select, true
from sqlalchemy.sql.elements import ColumnElement

from custos.adapters.db import tables as t
from custos.domain.audit import AuditEvent
from custos.domain.audit_chain import GENESIS, Checkpoint, canonical_entry, event_of, next_chain
from custos.domain.audit_verify import EntryBatch
from custos.domain.errors import Conflict
from custos.domain.merkle import CompactRange, leaf_hash
from custos.services.audit_log import Checkpointer, EntryFilter

encode_basestring = encoder.encode_basestring  # JSON string literal, as canonical_json writes it

APPEND_LOCK = 0x637573746F73  # pg_advisory_xact_lock key: "custos" in ASCII
_HOLES = "the stored log has entries missing below its end; run 'custos audit verify'"
log = logging.getLogger(__name__)
_e = t.audit_events
_INSERT_QMARK = "INSERT INTO audit_events (seq, entry, leaf_hash, chain_hash) VALUES (?, ?, ?, ?)"
_INSERT_FORMAT = (
    "INSERT INTO audit_events (seq, entry, leaf_hash, chain_hash) VALUES (%s, %s, %s, %s)"
)
_k = t.audit_checkpoints


@dataclass
class _Tail:
    """The end of the log as this transaction, holding the append lock, sees it."""

    txn: RootTransaction | None
    seq: int
    chain: bytes
    signed_size: int  # tree size of the latest checkpoint
    signed_at: datetime | None
    tree: CompactRange | None = None  # loaded only when a checkpoint is to be signed


class AuditRepository:
    """Append-only: this class has no update or delete, by design."""

    def __init__(self, conn: Connection, checkpointer: Checkpointer | None = None) -> None:
        self._c = conn
        self._checkpointer = checkpointer
        self._tail: _Tail | None = None
        self.signed_uncommitted = False  # a checkpoint was signed in the open transaction

    # -- writing -----------------------------------------------------------------------------

    def append(self, e: AuditEvent) -> int:
        return self.append_many([e])[-1]

    def append_many(self, events: Sequence[AuditEvent]) -> list[int]:
        """Chain and insert entries; sign a checkpoint every ``every_entries`` and when due."""
        tail = self._lock_tail()
        rows: list[dict[str, Any]] = []
        seq, chain = tail.seq, tail.chain
        for e in events:
            seq += 1
            row = _row(seq, e)
            chain = next_chain(chain, row["leaf_hash"])
            row["chain_hash"] = chain
            rows.append(row)
        if not rows:
            return []
        self._insert(rows)
        self._sign_due(tail, rows)
        tail.seq, tail.chain = seq, chain
        return [r["seq"] for r in rows]

    def _insert(self, rows: list[dict[str, Any]]) -> None:
        """One executemany straight to the driver: no per-value type processing to pay for."""
        sql = _INSERT_QMARK if self._c.dialect.paramstyle == "qmark" else _INSERT_FORMAT
        values = [(r["seq"], r["entry"], r["leaf_hash"], r["chain_hash"]) for r in rows]
        self._c.exec_driver_sql(sql, values)

    def checkpoint(self, force: bool = True) -> Checkpoint | None:
        """Sign the log as it stands: always (``force``), or only if the policy says it is due."""
        tail = self._lock_tail()
        if self._checkpointer is None:
            raise RuntimeError("this repository has no signing key to make checkpoints with")
        if tail.seq <= tail.signed_size:
            return None
        if not force and not self._checkpointer.due(tail.seq, tail.signed_size, tail.signed_at):
            return None
        tree = self._tree(tail)
        if tree is None:
            raise Conflict("audit_events", _HOLES)
        return self._sign(tail, tree, tail.chain)

    def _sign_due(self, tail: _Tail, rows: list[dict[str, Any]]) -> None:
        cp = self._checkpointer
        if cp is None:
            return
        if tail.tree is None and not cp.due(rows[-1]["seq"], tail.signed_size, tail.signed_at):
            return  # nothing to sign: leave the tree unloaded
        tree, done = self._tree(tail), 0
        if tree is None:
            log.error("no checkpoint signed: %s", _HOLES)  # the entries still go in
            return
        for i, row in enumerate(rows):
            if cp.due_by_count(row["seq"], tail.signed_size):
                tree.extend([r["leaf_hash"] for r in rows[done : i + 1]])
                done = i + 1
                self._sign(tail, tree, row["chain_hash"])
        tree.extend([r["leaf_hash"] for r in rows[done:]])
        if cp.due(tree.size, tail.signed_size, tail.signed_at):
            self._sign(tail, tree, rows[-1]["chain_hash"])

    def _sign(self, tail: _Tail, tree: CompactRange, chain: bytes) -> Checkpoint:
        assert self._checkpointer is not None
        cp = self._checkpointer.sign(tree.size, tree.root(), chain)
        self._c.execute(
            insert(_k).values(
                tree_size=cp.tree_size,
                root_hash=cp.root,
                chain_hash=cp.chain,
                signed_at=cp.signed_at,
                key_id=cp.key_id,
                signature=cp.signature,
                frontier=tree.to_bytes(),
            )
        )
        tail.signed_size, tail.signed_at = cp.tree_size, cp.signed_at
        self.signed_uncommitted = True
        return cp

    def lock(self) -> None:
        self._lock_tail()

    def _lock_tail(self) -> _Tail:
        txn = self._c.get_transaction()
        if self._tail is not None and txn is not None and self._tail.txn is txn:
            return self._tail
        if self._c.dialect.name == "postgresql":
            # Its own statement: the tail query below must take its snapshot after the wait.
            self._c.execute(select(func.pg_advisory_xact_lock(APPEND_LOCK)))
        last = self._c.execute(
            select(_e.c.seq, _e.c.chain_hash).order_by(_e.c.seq.desc()).limit(1)
        ).first()
        signed = self._c.execute(
            select(_k.c.tree_size, _k.c.signed_at).order_by(_k.c.tree_size.desc()).limit(1)
        ).first()
        self._tail = _Tail(
            txn=self._c.get_transaction(),
            seq=last.seq if last else 0,
            chain=bytes(last.chain_hash) if last else GENESIS,
            signed_size=signed.tree_size if signed else 0,
            signed_at=signed.signed_at if signed else None,
        )
        return self._tail

    def _tree(self, tail: _Tail) -> CompactRange | None:
        """The tree at the tail: the latest checkpoint's frontier plus the leaves after it.

        None when the stored log has holes below its tail: nothing sound can be signed then,
        and ``custos audit verify`` will say where the hole is.
        """
        if tail.tree is not None:
            return tail.tree
        tree = CompactRange()
        stored = self._c.execute(
            select(_k.c.tree_size, _k.c.frontier).order_by(_k.c.tree_size.desc()).limit(1)
        ).first()
        if stored is not None and stored.tree_size <= tail.seq:
            try:
                tree = CompactRange.from_bytes(stored.tree_size, bytes(stored.frontier))
            except ValueError:
                tree = CompactRange()  # a damaged frontier: rebuild from every leaf instead
        tree.extend(self._leaf_range(tree.size, tail.seq))
        if tree.size != tail.seq:  # a hole, or a frontier that lies: try from every leaf
            tree = CompactRange()
            tree.extend(self._leaf_range(0, tail.seq))
        if tree.size != tail.seq:
            return None
        tail.tree = tree
        return tree

    def _leaf_range(self, after: int, upto: int) -> list[bytes]:
        q = select(_e.c.leaf_hash).where(_e.c.seq > after, _e.c.seq <= upto).order_by(_e.c.seq)
        return [bytes(h) for h in self._c.execute(q).scalars()]

    # -- reading -----------------------------------------------------------------------------

    def size(self) -> int:
        return int(self._c.execute(select(func.coalesce(func.max(_e.c.seq), 0))).scalar_one())

    def leaves(self, upto: int) -> list[bytes]:
        return self._leaf_range(0, upto)

    def batch(self, after_seq: int, limit: int) -> EntryBatch:
        """The next ``limit`` stored entries after ``after_seq``, with their stored hashes."""
        return self._entries(_e.c.seq > after_seq, limit)

    def newest(self, before_seq: int | None, limit: int, where: EntryFilter) -> EntryBatch:
        """Up to ``limit`` entries before ``before_seq`` (all when None), newest first, that
        match ``where``: a filter on the canonical text, whose key order is fixed (action,
        actor, after, at, …), so a prefix or a quoted pair finds a field exactly."""
        clauses: list[ColumnElement[bool]] = []
        if before_seq is not None:
            clauses.append(_e.c.seq < before_seq)
        if where.action:
            head = '{"action":' + encode_basestring(where.action)[:-1]
            clauses.append(_e.c.entry.startswith(head, autoescape=True))
        if where.actor:
            pair = ',"actor":' + encode_basestring(where.actor) + ","
            clauses.append(_e.c.entry.contains(pair, autoescape=True))
        if where.text:
            clauses.append(
                _e.c.entry.icontains(encode_basestring(where.text)[1:-1], autoescape=True)
            )
        return self._entries(and_(true(), *clauses), limit, newest_first=True)

    def span(self, after_seq: int, upto: int) -> EntryBatch:
        """The stored entries with ``after_seq < seq <= upto`` (fewer where rows are missing)."""
        return self._entries(and_(_e.c.seq > after_seq, _e.c.seq <= upto), None)

    def _entries(
        self, where: ColumnElement[bool], limit: int | None, newest_first: bool = False
    ) -> EntryBatch:
        q = select(_e.c.seq, _e.c.entry, _e.c.leaf_hash, _e.c.chain_hash).where(where)
        order = _e.c.seq.desc() if newest_first else _e.c.seq
        rows = self._raw_rows(q.order_by(order).limit(limit))
        seqs, leaves, chains = [r[0] for r in rows], [r[2] for r in rows], [r[3] for r in rows]
        try:
            entries = [r[1].encode() for r in rows]
        except AttributeError:  # a NULL or a number written in by hand
            entries = [_bytes(r[1]) for r in rows]
        if not {*map(type, leaves), *map(type, chains)} <= {bytes}:
            leaves, chains = [_bytes(h) for h in leaves], [_bytes(h) for h in chains]
        return EntryBatch(seqs, entries, leaves, chains)

    def _raw_rows(self, q: Select[Any]) -> list[tuple[Any, ...]]:
        """Plain DBAPI tuples: a million rows cost a second less without Row objects."""
        sql = str(q.compile(dialect=self._c.dialect, compile_kwargs={"literal_binds": True}))
        cursor = self._c.connection.cursor()
        try:
            cursor.execute(sql)
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def checkpoints(self, after_size: int = 0, limit: int | None = None) -> list[Checkpoint]:
        q = select(_k).where(_k.c.tree_size > after_size).order_by(_k.c.tree_size)
        if limit is not None:
            q = q.limit(limit)
        return [_checkpoint(r) for r in self._c.execute(q)]

    def latest_checkpoint(self) -> Checkpoint | None:
        r = self._c.execute(select(_k).order_by(_k.c.tree_size.desc()).limit(1)).first()
        return _checkpoint(r) if r is not None else None

    def find(self, limit: int = 100, after_seq: int = 0) -> list[tuple[int, AuditEvent]]:
        q = select(_e.c.seq, _e.c.entry).where(_e.c.seq > after_seq).order_by(_e.c.seq)
        return [(seq, event_of(entry)[1]) for seq, entry in self._c.execute(q.limit(limit))]


def _row(seq: int, e: AuditEvent) -> dict[str, Any]:
    entry = canonical_entry(seq, e)
    return {"seq": seq, "entry": entry.decode(), "leaf_hash": leaf_hash(entry)}


def _bytes(value: Any) -> bytes:
    """Stored text or bytes as bytes; a NULL or a number put there by hand as what it is."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    return b"" if value is None else bytes(str(value), "utf-8")


def _checkpoint(r: Any) -> Checkpoint:
    return Checkpoint(
        r.tree_size,
        bytes(r.root_hash),
        bytes(r.chain_hash),
        r.signed_at,
        r.key_id,
        bytes(r.signature),
    )
