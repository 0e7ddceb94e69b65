"""Row ↔ record mapping for ``segment_objects`` (which segments are in the object store)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from sqlalchemy import Connection, RowMapping, delete, insert, select

from custos.adapters.db import object_tables as ot
from custos.adapters.db import recording_tables as rt
from custos.domain.recording import Segment
from custos.services.offload import SegmentObject

_SEGMENT_FIELDS = {f.name for f in dataclasses.fields(Segment)}


class SegmentObjectRepository:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(self, o: SegmentObject) -> None:
        self._c.execute(insert(ot.segment_objects).values(**dataclasses.asdict(o)))

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
        recorder node ``node`` (None: the one-machine recorder's, whose rows name no node)."""
        s, o = rt.segments, ot.segment_objects
        q = (
            select(s)
            .select_from(s.outerjoin(o, o.c.segment_id == s.c.id))
            .where(o.c.segment_id.is_(None), s.c.missing.is_(False))
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


def _record(r: RowMapping) -> SegmentObject:
    return SegmentObject(**{f.name: r[f.name] for f in dataclasses.fields(SegmentObject)})
