"""Repositories of the duty records (tables in :mod:`custos.adapters.db.duty_tables`).

The duty log and the reports have no update or delete: a correction is a new entry."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import Connection, RowMapping, Table, insert, select, update

from custos.adapters.db import duty_tables as dt
from custos.domain.duty import (
    DutySession,
    LogEntry,
    MonitoringRoom,
    PoliceReport,
    ReportChannel,
    RoomEntry,
    RotaEntry,
    Shift,
)


def _insert(conn: Connection, table: Table, values: dict[str, Any]) -> int:
    values.pop("id", None)
    key = conn.execute(insert(table).values(**values)).inserted_primary_key
    assert key is not None
    return int(key[0])


def _fields(record: Any) -> dict[str, Any]:
    return {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}


class MonitoringRoomRepository:
    """Rooms and their access register."""

    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(self, room: MonitoringRoom) -> MonitoringRoom:
        values = _fields(room) | {
            "camera_ids": list(room.camera_ids),
            "authorised": list(room.authorised),
        }
        return dataclasses.replace(room, id=_insert(self._c, dt.monitoring_rooms, values))

    def update(self, room: MonitoringRoom) -> None:
        t = dt.monitoring_rooms
        values = {"name": room.name, "camera_ids": list(room.camera_ids),
                  "authorised": list(room.authorised)}  # fmt: skip
        self._c.execute(update(t).where(t.c.id == room.id).values(**values))

    def get(self, room_id: int) -> MonitoringRoom | None:
        t = dt.monitoring_rooms
        row = self._c.execute(select(t).where(t.c.id == room_id)).mappings().first()
        return _room(row) if row is not None else None

    def find(self, unit_ids: Sequence[int] | None = None) -> list[MonitoringRoom]:
        t = dt.monitoring_rooms
        q = select(t).order_by(t.c.id)
        if unit_ids is not None:
            q = q.where(t.c.unit_id.in_(unit_ids))
        return [_room(r) for r in self._c.execute(q).mappings()]

    def add_entry(self, e: RoomEntry) -> RoomEntry:
        return dataclasses.replace(e, id=_insert(self._c, dt.room_entries, _fields(e)))

    def leave(self, entry_id: int, left_at: datetime) -> None:
        t = dt.room_entries
        self._c.execute(update(t).where(t.c.id == entry_id).values(left_at=left_at))

    def get_entry(self, entry_id: int) -> RoomEntry | None:
        t = dt.room_entries
        row = self._c.execute(select(t).where(t.c.id == entry_id)).mappings().first()
        return RoomEntry(**row) if row is not None else None

    def entries(self, room_id: int) -> list[RoomEntry]:
        t = dt.room_entries
        q = select(t).where(t.c.room_id == room_id).order_by(t.c.entered_at, t.c.id)
        return [RoomEntry(**r) for r in self._c.execute(q).mappings()]


def _room(r: RowMapping) -> MonitoringRoom:
    return MonitoringRoom(
        id=r["id"],
        unit_id=r["unit_id"],
        site_id=r["site_id"],
        name=r["name"],
        camera_ids=tuple(int(i) for i in r["camera_ids"]),
        authorised=tuple(str(n) for n in r["authorised"]),
        created_by=r["created_by"],
        created_at=r["created_at"],
    )


class DutyRepository:
    """Shifts, the rota, duty sessions and the duty log of the rooms."""

    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add_shift(self, s: Shift) -> Shift:
        values = _fields(s) | {"starts": _hhmm(s.starts), "ends": _hhmm(s.ends)}
        return dataclasses.replace(s, id=_insert(self._c, dt.duty_shifts, values))

    def shifts(self, room_id: int) -> list[Shift]:
        t = dt.duty_shifts
        q = select(t).where(t.c.room_id == room_id).order_by(t.c.starts, t.c.id)
        return [
            Shift(
                r["id"],
                r["room_id"],
                r["name"],
                time.fromisoformat(r["starts"]),
                time.fromisoformat(r["ends"]),
                r["requires_duty"],
                r["created_at"],
            )
            for r in self._c.execute(q).mappings()
        ]

    def add_rota(self, e: RotaEntry) -> RotaEntry:
        return dataclasses.replace(e, id=_insert(self._c, dt.duty_rota, _fields(e)))

    def rota(self, room_id: int, first: date, last: date) -> list[RotaEntry]:
        t = dt.duty_rota
        q = (
            select(t)
            .where(t.c.room_id == room_id, t.c.day >= first, t.c.day <= last)
            .order_by(t.c.day, t.c.shift_id, t.c.id)
        )
        return [RotaEntry(**r) for r in self._c.execute(q).mappings()]

    def add_session(self, s: DutySession) -> DutySession:
        return dataclasses.replace(s, id=_insert(self._c, dt.duty_sessions, _fields(s)))

    def update_session(self, s: DutySession) -> None:
        t = dt.duty_sessions
        values = _fields(s)
        values.pop("id")
        self._c.execute(update(t).where(t.c.id == s.id).values(**values))

    def get_session(self, session_id: int) -> DutySession | None:
        t = dt.duty_sessions
        row = self._c.execute(select(t).where(t.c.id == session_id)).mappings().first()
        return DutySession(**row) if row is not None else None

    def sessions(
        self, room_ids: Sequence[int], since: datetime | None = None, open_only: bool = False
    ) -> list[DutySession]:
        t = dt.duty_sessions
        q = select(t).where(t.c.room_id.in_(room_ids)).order_by(t.c.signed_on_at, t.c.id)
        if open_only:
            q = q.where(t.c.signed_off_at.is_(None))
        if since is not None:
            q = q.where((t.c.signed_off_at.is_(None)) | (t.c.signed_off_at >= since))
        return [DutySession(**r) for r in self._c.execute(q).mappings()]

    def append(self, e: LogEntry) -> LogEntry:
        return dataclasses.replace(e, id=_insert(self._c, dt.duty_log, _fields(e)))

    def get_entry(self, entry_id: int) -> LogEntry | None:
        t = dt.duty_log
        row = self._c.execute(select(t).where(t.c.id == entry_id)).mappings().first()
        return LogEntry(**row) if row is not None else None

    def log(self, room_id: int, since: datetime | None = None) -> list[LogEntry]:
        t = dt.duty_log
        q = select(t).where(t.c.room_id == room_id).order_by(t.c.at, t.c.id)
        if since is not None:
            q = q.where(t.c.at >= since)
        return [LogEntry(**r) for r in self._c.execute(q).mappings()]


class PoliceReportRepository:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(self, r: PoliceReport) -> PoliceReport:
        values = _fields(r) | {"channel": r.channel.value}
        return dataclasses.replace(r, id=_insert(self._c, dt.police_reports, values))

    def find(self, room_id: int) -> list[PoliceReport]:
        t = dt.police_reports
        q = select(t).where(t.c.room_id == room_id).order_by(t.c.seen_at, t.c.id)
        return [
            PoliceReport(**{**r, "channel": ReportChannel(r["channel"])})
            for r in self._c.execute(q).mappings()
        ]


def _hhmm(t: time) -> str:
    return t.strftime("%H:%M")
