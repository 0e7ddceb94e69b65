"""Row ↔ domain mapping for evidence holds, purge garbage rows and alarms."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, delete, insert, or_, select, update

from custos.adapters.db import recording_tables
from custos.adapters.db import retention_tables as rt
from custos.adapters.db.access_repositories import _dt
from custos.domain.access_requests import FootageScope
from custos.domain.alarms import Alarm, AlarmKind, Handling, Severity
from custos.domain.holds import EvidenceHold, Extension, HoldKind, HoldState
from custos.domain.retention import GarbageRow


def _t(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _hold_row(h: EvidenceHold) -> dict[str, Any]:
    return {
        "kind": h.kind.value,
        "state": h.state.value,
        "case_number": h.case_number,
        "camera_ids": "," + ",".join(str(c) for c in h.scope.camera_ids) + ",",
        "start_at": h.scope.start,
        "end_at": h.scope.end,
        "expires_at": h.expires_at,
        "created_by": h.created_by,
        "created_at": h.created_at,
        "body": json.dumps(
            {
                "reason": h.reason,
                "camera_ids": list(h.scope.camera_ids),
                "release_requested_by": h.release_requested_by,
                "release_requested_at": _t(h.release_requested_at),
                "release_reason": h.release_reason,
                "released_by": h.released_by,
                "released_at": _t(h.released_at),
                "extensions": [
                    {
                        "at": _t(e.at),
                        "by": e.by,
                        "old_expiry": _t(e.old_expiry),
                        "new_expiry": _t(e.new_expiry),
                    }
                    for e in h.extensions
                ],
            },
            ensure_ascii=False,
        ),
    }


def _hold(r: RowMapping) -> EvidenceHold:
    b = json.loads(r["body"])
    return EvidenceHold(
        id=r["id"],
        kind=HoldKind(r["kind"]),
        case_number=r["case_number"],
        reason=b["reason"],
        scope=FootageScope(tuple(b["camera_ids"]), r["start_at"], r["end_at"]),
        expires_at=r["expires_at"],
        created_by=r["created_by"],
        created_at=r["created_at"],
        state=HoldState(r["state"]),
        release_requested_by=b["release_requested_by"],
        release_requested_at=_dt(b["release_requested_at"]),
        release_reason=b["release_reason"],
        released_by=b["released_by"],
        released_at=_dt(b["released_at"]),
        extensions=tuple(
            Extension(
                datetime.fromisoformat(e["at"]),
                e["by"],
                _dt(e["old_expiry"]),
                _dt(e["new_expiry"]),
            )
            for e in b["extensions"]
        ),
    )


class HoldRepository:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(self, h: EvidenceHold) -> EvidenceHold:
        q = insert(rt.evidence_holds).values(**_hold_row(h)).returning(rt.evidence_holds.c.id)
        h.id = self._c.execute(q).scalar_one()
        return h

    def update(self, h: EvidenceHold) -> None:
        t = rt.evidence_holds
        self._c.execute(update(t).where(t.c.id == h.id).values(**_hold_row(h)))

    def get(self, hold_id: int) -> EvidenceHold | None:
        t = rt.evidence_holds
        row = self._c.execute(select(t).where(t.c.id == hold_id)).mappings().first()
        return _hold(row) if row else None

    def find(
        self, camera_id: int | None = None, include_released: bool = True
    ) -> list[EvidenceHold]:
        t = rt.evidence_holds
        q = select(t).order_by(t.c.id)
        if camera_id is not None:
            q = q.where(t.c.camera_ids.like(f"%,{camera_id},%"))
        if not include_released:
            q = q.where(t.c.state != HoldState.RELEASED.value)
        return [_hold(r) for r in self._c.execute(q).mappings()]


class GarbageRepository:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(self, rows: Sequence[GarbageRow]) -> None:
        if rows:
            self._c.execute(insert(rt.segment_garbage), [g.__dict__ for g in rows])

    def find(self) -> list[GarbageRow]:
        t = rt.segment_garbage
        rows = self._c.execute(select(t).order_by(t.c.segment_id)).mappings()
        return [GarbageRow(**dict(r)) for r in rows]

    def of_node(self, node: str | None) -> list[GarbageRow]:
        """The rows whose file is on recorder node ``node`` (None: the one-machine recorder's,
        and any whose segment row is already gone)."""
        t, s = rt.segment_garbage, recording_tables.segments
        where = s.c.node.is_(None) if node is None else s.c.node == node
        q = select(t).select_from(t.outerjoin(s, s.c.id == t.c.segment_id)).where(where)
        rows = self._c.execute(q.order_by(t.c.segment_id)).mappings()
        return [GarbageRow(**dict(r)) for r in rows]

    def drop(self, segment_ids: Sequence[int]) -> None:
        t = rt.segment_garbage
        ids = list(segment_ids)
        for i in range(0, len(ids), 900):
            self._c.execute(delete(t).where(t.c.segment_id.in_(ids[i : i + 900])))


def _handling(r: RowMapping, step: str) -> Handling | None:
    if r[f"{step}_at"] is None:
        return None
    return Handling(
        r[f"{step}_by"] or 0, r[f"{step}_by_name"] or "", r[f"{step}_at"], r[f"{step}_note"] or ""
    )


def _alarm(r: RowMapping) -> Alarm:
    return Alarm(
        id=r["id"],
        kind=AlarmKind(r["kind"]),
        severity=Severity(r["severity"]),
        subject=r["subject"],
        message=r["message"],
        raised_at=r["raised_at"],
        cleared_at=r["cleared_at"],
        detail=json.loads(r["detail"]),
        camera_id=r["camera_id"],
        acknowledged=_handling(r, "acknowledged"),
        resolved=_handling(r, "resolved"),
    )


class AlarmRepository:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def open_for(self, kind: AlarmKind, subject: str) -> Alarm | None:
        t = rt.alarms
        q = select(t).where(
            t.c.kind == kind.value, t.c.subject == subject, t.c.cleared_at.is_(None)
        )
        row = self._c.execute(q).mappings().first()
        return _alarm(row) if row else None

    def add(self, a: Alarm) -> Alarm:
        row = {
            "kind": a.kind.value,
            "severity": a.severity.value,
            "subject": a.subject,
            "message": a.message,
            "raised_at": a.raised_at,
            "cleared_at": a.cleared_at,
            "detail": json.dumps(a.detail, ensure_ascii=False, default=str),
            "camera_id": a.camera_id,
        }
        a.id = self._c.execute(
            insert(rt.alarms).values(**row).returning(rt.alarms.c.id)
        ).scalar_one()
        return a

    def get(self, alarm_id: int) -> Alarm | None:
        t = rt.alarms
        row = self._c.execute(select(t).where(t.c.id == alarm_id)).mappings().first()
        return _alarm(row) if row else None

    def clear(self, alarm_id: int, at: datetime) -> None:
        t = rt.alarms
        self._c.execute(update(t).where(t.c.id == alarm_id).values(cleared_at=at))

    def record(self, alarm_id: int, step: str, h: Handling) -> None:
        """Store an acknowledgement (``step="acknowledged"``) or a resolution (``"resolved"``)."""
        if step not in ("acknowledged", "resolved"):
            raise ValueError(step)
        t = rt.alarms
        values = {f"{step}_by": h.by, f"{step}_by_name": h.by_name, f"{step}_at": h.at,
                  f"{step}_note": h.note}  # fmt: skip
        self._c.execute(update(t).where(t.c.id == alarm_id).values(**values))

    def find(
        self,
        open_only: bool = True,
        limit: int = 500,
        severity: Severity | None = None,
        camera_ids: Sequence[int] | None = None,
        with_system: bool = False,
        site_ids: Sequence[int] = (),
    ) -> list[Alarm]:
        """Newest first; ``camera_ids`` keeps only alarms about those cameras, and those about
        the whole of one of ``site_ids`` (subject ``site:<id>:…``); with ``with_system``, also
        every alarm about no camera (a volume, the recorder, a site)."""
        t = rt.alarms
        q = select(t).order_by(t.c.raised_at.desc(), t.c.id.desc()).limit(limit)
        if open_only:
            q = q.where(t.c.cleared_at.is_(None), t.c.resolved_at.is_(None))
        if severity is not None:
            q = q.where(t.c.severity == severity.value)
        if camera_ids is not None:
            about = or_(
                t.c.camera_id.in_(list(camera_ids)),
                *(t.c.subject.like(f"site:{int(s)}:%") for s in site_ids),
            )
            q = q.where(or_(about, t.c.camera_id.is_(None)) if with_system else about)
        return [_alarm(r) for r in self._c.execute(q).mappings()]
