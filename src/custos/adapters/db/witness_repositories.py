"""The bureau's registered senders and the checkpoints they handed over, in SQL, inside the unit
of work's transaction (tables in :mod:`custos.adapters.db.witness_tables`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, insert, select

from custos.adapters.db.witness_tables import witness_checkpoints as wc
from custos.adapters.db.witness_tables import witness_senders as ws
from custos.domain.audit_witness import parse_witness_line
from custos.domain.bureau_witness import ConflictKind, HeldCheckpoint, Sender


class WitnessSenderRepository:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(self, s: Sender) -> None:
        self._c.execute(
            insert(ws).values(
                key_id=s.key_id,
                name=s.name,
                public_key=s.public_key,
                registered_at=s.registered_at,
                registered_by=s.registered_by,
            )
        )

    def get(self, key_id: str, for_update: bool = False) -> Sender | None:
        query = select(ws).where(ws.c.key_id == key_id)
        row = self._c.execute(query.with_for_update() if for_update else query).first()
        return None if row is None else _sender(row)

    def all(self) -> list[Sender]:
        return [_sender(row) for row in self._c.execute(select(ws).order_by(ws.c.name))]


def _sender(row: Any) -> Sender:
    return Sender(row.key_id, row.name, bytes(row.public_key), row.registered_at, row.registered_by)


class WitnessCheckpointRepository:
    """Append-only: rows are added, never changed."""

    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(self, h: HeldCheckpoint) -> HeldCheckpoint:
        cp = h.checkpoint
        result = self._c.execute(
            insert(wc).values(
                key_id=cp.key_id,
                tree_size=cp.tree_size,
                signed_at=cp.signed_at,
                line=h.line.decode(),
                line_sha256=h.digest,
                received_at=h.received_at,
                conflict=None if h.conflict is None else h.conflict.value,
                conflicts_with=h.conflicts_with,
            )
        )
        key = result.inserted_primary_key
        assert key is not None
        return HeldCheckpoint(cp, h.received_at, h.conflict, h.conflicts_with, int(key[0]))

    def by_digest(self, digest: str) -> HeldCheckpoint | None:
        row = self._c.execute(select(wc).where(wc.c.line_sha256 == digest)).first()
        return None if row is None else _held(row)

    def accepted_at(self, key_id: str, tree_size: int) -> HeldCheckpoint | None:
        query = self._accepted(key_id).where(wc.c.tree_size == tree_size)
        row = self._c.execute(query).first()
        return None if row is None else _held(row)

    def accepted_below(self, key_id: str, tree_size: int) -> HeldCheckpoint | None:
        """The accepted copy of the largest tree size under ``tree_size``."""
        query = self._accepted(key_id).where(wc.c.tree_size < tree_size)
        row = self._c.execute(query.order_by(wc.c.tree_size.desc()).limit(1)).first()
        return None if row is None else _held(row)

    def accepted_above(self, key_id: str, tree_size: int) -> HeldCheckpoint | None:
        """The accepted copy of the smallest tree size over ``tree_size``."""
        query = self._accepted(key_id).where(wc.c.tree_size > tree_size)
        row = self._c.execute(query.order_by(wc.c.tree_size).limit(1)).first()
        return None if row is None else _held(row)

    def newest_size(self, key_id: str) -> int:
        query = select(func.max(wc.c.tree_size)).where(
            wc.c.key_id == key_id, wc.c.conflict.is_(None)
        )
        return int(self._c.execute(query).scalar_one() or 0)

    def page(self, key_id: str, after: int, limit: int) -> list[HeldCheckpoint]:
        """Every copy held for the key (conflicts too), by id after ``after``."""
        query = (
            select(wc).where(wc.c.key_id == key_id, wc.c.id > after).order_by(wc.c.id).limit(limit)
        )
        return [_held(row) for row in self._c.execute(query)]

    @staticmethod
    def _accepted(key_id: str) -> Any:
        return select(wc).where(wc.c.key_id == key_id, wc.c.conflict.is_(None))


def _held(row: Any) -> HeldCheckpoint:
    return HeldCheckpoint(
        parse_witness_line(row.line.encode()),
        row.received_at,
        None if row.conflict is None else ConflictKind(row.conflict),
        row.conflicts_with,
        row.id,
    )
