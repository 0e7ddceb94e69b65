"""Row ↔ domain mapping for the segment index, gaps and camera health."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    RowMapping,
    bindparam,
    case,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy import delete as sa_delete

from custos.adapters.db import recording_tables as rt
from custos.domain.recording import (
    CameraFootageStats,
    CameraHealth,
    Gap,
    OfflineReason,
    RecorderState,
    Segment,
)


class SegmentRepository:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(self, s: Segment) -> Segment:
        row = {k: v for k, v in s.__dict__.items() if k != "id"}
        new_id = self._c.execute(
            insert(rt.segments).values(**row).returning(rt.segments.c.id)
        ).scalar_one()
        return Segment(**{**s.__dict__, "id": new_id})

    def mark_missing(self, segment_id: int) -> None:
        q = update(rt.segments).where(rt.segments.c.id == segment_id).values(missing=True)
        self._c.execute(q)

    def find(
        self,
        camera_id: int | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int | None = None,
    ) -> list[Segment]:
        q = select(rt.segments).order_by(rt.segments.c.camera_id, rt.segments.c.start_at)
        if camera_id is not None:
            q = q.where(rt.segments.c.camera_id == camera_id)
        if start is not None:
            q = q.where(rt.segments.c.end_at > start)
        if end is not None:
            q = q.where(rt.segments.c.start_at < end)
        if limit is not None:
            q = q.limit(limit)
        return [_segment(r) for r in self._c.execute(q).mappings()]

    def by_path(self, path: str) -> Segment | None:
        row = self._c.execute(select(rt.segments).where(rt.segments.c.path == path)).mappings()
        found = row.first()
        return _segment(found) if found is not None else None

    def of_node(self, node: str | None) -> list[Segment]:
        """The segments a recorder node recorded (its own disk's); None: a one-machine
        recorder's (no node)."""
        t = rt.segments
        where = t.c.node.is_(None) if node is None else t.c.node == node
        q = select(t).where(where).order_by(t.c.camera_id, t.c.start_at)
        return [_segment(r) for r in self._c.execute(q).mappings()]

    def covering(self, camera_id: int, at: datetime) -> Segment | None:
        """The segment recording ``at`` (start <= at < end), by one index probe."""
        t = rt.segments
        q = (
            select(t)
            .where(t.c.camera_id == camera_id, t.c.start_at <= at)
            .order_by(t.c.start_at.desc())
            .limit(1)
        )
        row = self._c.execute(q).mappings().first()
        if row is None or row["end_at"] <= at:
            return None
        return _segment(row)

    def past(self, camera_id: int, cutoff: datetime, limit: int) -> list[Segment]:
        """Segments of a camera that ended at or before ``cutoff``, oldest first."""
        t = rt.segments
        q = (
            select(t)
            .where(t.c.camera_id == camera_id, t.c.end_at <= cutoff)
            .order_by(t.c.start_at)
            .limit(limit)
        )
        return [_segment(r) for r in self._c.execute(q).mappings()]

    def delete(self, segment_ids: Sequence[int]) -> None:
        """Only the retention purge calls this, after its own checks (services/retention.py)."""
        ids = list(segment_ids)
        for i in range(0, len(ids), 900):
            chunk = ids[i : i + 900]
            self._c.execute(sa_delete(rt.segments).where(rt.segments.c.id.in_(chunk)))

    def least_verified(self, limit: int, node: str | None = None) -> list[Segment]:
        """Segments never re-hashed first, then those re-hashed longest ago, of recorder node
        ``node`` (None: the one-machine recorder's, whose rows name no node)."""
        t = rt.segments
        never = t.c.verified_at.is_(None)
        q = select(t).where(t.c.node.is_(None) if node is None else t.c.node == node)
        q = q.order_by(never.desc(), t.c.verified_at, t.c.id).limit(limit)
        return [_segment(r) for r in self._c.execute(q).mappings()]

    def mark_verified(self, segment_id: int, at: datetime) -> None:
        t = rt.segments
        self._c.execute(update(t).where(t.c.id == segment_id).values(verified_at=at))

    def tails_unchecked(self) -> set[int]:
        t = rt.segments
        q = select(t.c.id).where(t.c.tail_checked_at.is_(None))
        return set(self._c.execute(q).scalars())

    def mark_tail_checked(self, segment_id: int, at: datetime) -> None:
        t = rt.segments
        self._c.execute(update(t).where(t.c.id == segment_id).values(tail_checked_at=at))

    def stats(self, since: datetime, node: str | None = None) -> list[CameraFootageStats]:
        """Per camera, of recorder node ``node``'s segments (None: the one-machine recorder's)."""
        t = rt.segments
        recent = t.c.end_at > since
        q = (
            select(
                t.c.camera_id,
                func.sum(t.c.bytes),
                func.sum(case((recent, t.c.bytes), else_=0)),
                func.sum(case((recent, t.c.duration_s), else_=0.0)),
            )
            .where(t.c.node.is_(None) if node is None else t.c.node == node)
            .group_by(t.c.camera_id)
        )
        return [
            CameraFootageStats(int(c), int(b or 0), int(rb or 0), float(rs or 0.0))
            for c, b, rb, rs in self._c.execute(q)
        ]

    def camera_ids(self) -> list[int]:
        t = rt.segments
        return list(self._c.execute(select(t.c.camera_id).distinct()).scalars())

    def get(self, segment_id: int) -> Segment | None:
        q = select(rt.segments).where(rt.segments.c.id == segment_id)
        row = self._c.execute(q).mappings().first()
        return _segment(row) if row else None

    def paths(self) -> set[str]:
        return set(self._c.execute(select(rt.segments.c.path)).scalars())

    def last_of(self, camera_id: int) -> Segment | None:
        q = (
            select(rt.segments)
            .where(rt.segments.c.camera_id == camera_id)
            .order_by(rt.segments.c.end_at.desc())
            .limit(1)
        )
        row = self._c.execute(q).mappings().first()
        return _segment(row) if row else None


_SEGMENT_FIELDS = frozenset(f.name for f in dataclasses.fields(Segment))


def _segment(r: RowMapping) -> Segment:
    return Segment(**{k: v for k, v in r.items() if k in _SEGMENT_FIELDS})


class GapRepository:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(self, g: Gap) -> Gap:
        row = {
            "camera_id": g.camera_id,
            "start_at": g.start_at,
            "end_at": g.end_at,
            "reason": g.reason.value,
            "detail": g.detail,
        }
        new_id = self._c.execute(insert(rt.gaps).values(**row).returning(rt.gaps.c.id)).scalar_one()
        return Gap(new_id, g.camera_id, g.start_at, g.end_at, g.reason, g.detail)

    def open_for(self, camera_id: int) -> Gap | None:
        q = (
            select(rt.gaps)
            .where(rt.gaps.c.camera_id == camera_id, rt.gaps.c.end_at.is_(None))
            .order_by(rt.gaps.c.id.desc())
            .limit(1)
        )
        row = self._c.execute(q).mappings().first()
        return _gap(row) if row else None

    def close(self, gap_id: int, end_at: datetime) -> None:
        self._c.execute(update(rt.gaps).where(rt.gaps.c.id == gap_id).values(end_at=end_at))

    def find(
        self, camera_id: int, start: datetime | None = None, end: datetime | None = None
    ) -> list[Gap]:
        q = select(rt.gaps).where(rt.gaps.c.camera_id == camera_id).order_by(rt.gaps.c.start_at)
        if start is not None:
            q = q.where(or_(rt.gaps.c.end_at.is_(None), rt.gaps.c.end_at > start))
        if end is not None:
            q = q.where(rt.gaps.c.start_at < end)
        return [_gap(r) for r in self._c.execute(q).mappings()]


def _gap(r: RowMapping) -> Gap:
    return Gap(
        r["id"], r["camera_id"], r["start_at"], r["end_at"], OfflineReason(r["reason"]), r["detail"]
    )


class HealthRepository:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def put_many(self, board: Sequence[CameraHealth]) -> None:
        """Every camera's row in two statements (an update and an insert, each executed for
        many rows): hundreds of cameras are published every two seconds."""
        if not board:
            return
        ids = [h.camera_id for h in board]
        have = set(
            self._c.execute(
                select(rt.camera_health.c.camera_id).where(rt.camera_health.c.camera_id.in_(ids))
            ).scalars()
        )
        rows = [_health_row(h) for h in board]
        old = [r | {"cid": r["camera_id"]} for r in rows if r["camera_id"] in have]
        new = [r for r in rows if r["camera_id"] not in have]
        if old:
            fields: dict[str, Any] = {k: bindparam(k) for k in rows[0] if k != "camera_id"}
            stmt = (
                update(rt.camera_health)
                .where(rt.camera_health.c.camera_id == bindparam("cid"))
                .values(**fields)
            )
            self._c.execute(stmt, old)
        if new:
            self._c.execute(insert(rt.camera_health), new)

    def get(self, camera_id: int) -> CameraHealth | None:
        q = select(rt.camera_health).where(rt.camera_health.c.camera_id == camera_id)
        row = self._c.execute(q).mappings().first()
        return _health(row) if row else None

    def find(self) -> list[CameraHealth]:
        q = select(rt.camera_health).order_by(rt.camera_health.c.camera_id)
        return [_health(r) for r in self._c.execute(q).mappings()]

    def remove(self, camera_id: int) -> None:
        """Forget a camera's row (a GB/T 28181 device's offline mark, once it is heard again)."""
        self._c.execute(
            sa_delete(rt.camera_health).where(rt.camera_health.c.camera_id == camera_id)
        )


def _health_row(h: CameraHealth) -> dict[str, Any]:
    return {
        "camera_id": h.camera_id,
        "state": h.state.value,
        "reason": h.reason.value if h.reason else None,
        "detail": h.detail,
        "since": h.since,
        "last_frame_at": h.last_frame_at,
        "fps": h.fps,
        "bitrate_kbps": h.bitrate_kbps,
        "updated_at": h.updated_at,
    }


def _health(r: RowMapping) -> CameraHealth:
    return CameraHealth(
        camera_id=r["camera_id"],
        state=RecorderState(r["state"]),
        reason=OfflineReason(r["reason"]) if r["reason"] else None,
        detail=r["detail"],
        since=r["since"],
        last_frame_at=r["last_frame_at"],
        fps=r["fps"],
        bitrate_kbps=r["bitrate_kbps"],
        updated_at=r["updated_at"],
    )
