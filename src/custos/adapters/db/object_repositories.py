"""Row ↔ record mapping for ``segment_objects`` (which segments are in the object store)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from sqlalchemy import ColumnElement, Connection, RowMapping, delete, false, insert, select, update

from custos.adapters.db import object_tables as ot
from custos.adapters.db import recording_tables as rt
from custos.domain.recording import Segment
from custos.services.offload import SegmentObject

_SEGMENT_FIELDS = {f.name for f in dataclasses.fields(Segment)}


class SegmentObjectRepository:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(self, o: SegmentObject) -> None:
        """Record the segment's object, and mark its row offloaded (the same transaction)."""
        self._c.execute(insert(ot.segment_objects).values(**dataclasses.asdict(o)))
        _mark(self._c, o.segment_id, offloaded=True)

    def get(self, segment_id: int) -> SegmentObject | None:
        t = ot.segment_objects
        row = self._c.execute(select(t).where(t.c.segment_id == segment_id)).mappings().first()
        return _record(row) if row is not None else None

    def find(self) -> list[SegmentObject]:
        t = ot.segment_objects
        return [_record(r) for r in self._c.execute(select(t).order_by(t.c.segment_id)).mappings()]

    def pending(
        self, limit: int, exclude: Iterable[int] = (), node: str | None = None
    ) -> list[Segment]:
        """Indexed segments (not flagged missing) without an object yet, oldest first, of
        recorder node ``node`` (None: the one-machine recorder's, whose rows name no node):
        the first entries of the partial index ``ix_segments_offload_pending``."""
        s = rt.segments
        q = (
            select(s)
            .where(*not_offloaded())
            .where(s.c.node.is_(None) if node is None else s.c.node == node)
            .order_by(s.c.id)
            .limit(limit)
        )
        skip = list(exclude)
        if skip:
            q = q.where(s.c.id.not_in(skip))
        return [
            Segment(**{k: v for k, v in r.items() if k in _SEGMENT_FIELDS})
            for r in self._c.execute(q).mappings()
        ]

    def remove(self, segment_id: int) -> None:
        t = ot.segment_objects
        self._c.execute(delete(t).where(t.c.segment_id == segment_id))
        _mark(self._c, segment_id, offloaded=False)


def not_offloaded() -> tuple[ColumnElement[bool], ...]:
    """Indexed segments with no object yet, not flagged missing: the predicate of the partial
    index ``ix_segments_offload_pending``, written as it is (migration 0027)."""
    s = rt.segments
    return s.c.offloaded == false(), s.c.missing == false()


def _mark(conn: Connection, segment_id: int, offloaded: bool) -> None:
    s = rt.segments
    conn.execute(update(s).where(s.c.id == segment_id).values(offloaded=offloaded))


def _record(r: RowMapping) -> SegmentObject:
    return SegmentObject(**{f.name: r[f.name] for f in dataclasses.fields(SegmentObject)})
