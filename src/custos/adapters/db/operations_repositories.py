"""Repositories of migration 0012: camera faults (the interruption accounting)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, RowMapping, and_, delete, func, insert, or_, select, update

from custos.adapters.db import operations_tables as ot
from custos.adapters.db import recording_tables as rt
from custos.domain.accounting import CameraFault, FaultKind
from custos.domain.camera_watch import LastSeal


class UnitSettingsRepository:
    """A unit's own settings (migration 0021): its repair deadline."""

    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def repair_deadline_hours(self, unit_id: int) -> int | None:
        t = ot.unit_settings
        got = self._c.execute(
            select(t.c.repair_deadline_hours).where(t.c.unit_id == unit_id)
        ).first()
        return None if got is None or got[0] is None else int(got[0])

    def repair_deadlines(self) -> dict[int, int]:
        """Every unit that set its own deadline: unit id -> hours."""
        t = ot.unit_settings
        q = select(t.c.unit_id, t.c.repair_deadline_hours).where(
            t.c.repair_deadline_hours.is_not(None)
        )
        return {int(u): int(h) for u, h in self._c.execute(q)}

    def set_repair_deadline_hours(self, unit_id: int, hours: int | None) -> None:
        t = ot.unit_settings
        self._c.execute(delete(t).where(t.c.unit_id == unit_id))
        self._c.execute(insert(t).values(unit_id=unit_id, repair_deadline_hours=hours))


class CameraFaultRepository:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(self, f: CameraFault) -> CameraFault:
        values = {
            "camera_id": f.camera_id,
            "kind": f.kind.value,
            "started_at": f.started_at,
            "recovered_at": f.recovered_at,
            "reason": f.reason[:40],
            "detail": f.detail[:1000],
        }
        key = self._c.execute(insert(ot.camera_faults).values(**values)).inserted_primary_key
        assert key is not None
        return dataclasses.replace(f, id=int(key[0]))

    def recover(self, fault_id: int, at: datetime) -> None:
        t = ot.camera_faults
        self._c.execute(update(t).where(t.c.id == fault_id).values(recovered_at=at))

    def open_faults(self) -> list[CameraFault]:
        """Every fault not yet recovered, oldest first."""
        t = ot.camera_faults
        q = select(t).where(t.c.recovered_at.is_(None)).order_by(t.c.started_at, t.c.id)
        return [_fault(r) for r in self._c.execute(q).mappings()]

    def find(
        self, camera_ids: Sequence[int], start: datetime | None = None, end: datetime | None = None
    ) -> list[CameraFault]:
        """The faults of these cameras that overlap [start, end) (open ones included)."""
        t = ot.camera_faults
        q = select(t).where(t.c.camera_id.in_(list(camera_ids)))
        if end is not None:
            q = q.where(t.c.started_at < end)
        if start is not None:
            q = q.where(or_(t.c.recovered_at.is_(None), and_(t.c.recovered_at > start)))
        return [_fault(r) for r in self._c.execute(q.order_by(t.c.started_at, t.c.id)).mappings()]


class RecentSealRepository:
    """The alarm watcher's one query over the segment index per tick."""

    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def latest_since(self, cutoff: datetime) -> dict[int, LastSeal]:
        """Each camera's latest seal among the segments ending after ``cutoff`` (a range on
        ``ix_segments_end``: only recent rows are read)."""
        s = rt.segments
        q = (
            select(s.c.camera_id, func.max(s.c.sealed_at), func.max(s.c.end_at))
            .where(s.c.end_at > cutoff)
            .group_by(s.c.camera_id)
        )
        return {int(cid): LastSeal(sealed, end) for cid, sealed, end in self._c.execute(q)}


def _fault(r: RowMapping) -> CameraFault:
    return CameraFault(
        id=r["id"],
        camera_id=r["camera_id"],
        kind=FaultKind(r["kind"]),
        started_at=r["started_at"],
        recovered_at=r["recovered_at"],
        reason=r["reason"],
        detail=r["detail"],
    )
