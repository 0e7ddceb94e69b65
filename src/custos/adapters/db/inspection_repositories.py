"""The bureau's inspections and rectification notices in SQL, inside the unit of work's
transaction (tables in :mod:`custos.adapters.db.inspection_tables`)."""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection, insert, select, update

from custos.adapters.db.inspection_tables import rectification_notices as nt
from custos.adapters.db.inspection_tables import supervision_inspections as it
from custos.domain.inspection import Inspection, InspectionState
from custos.domain.rectification import Notice, NoticeState


def _json(body: dict[str, Any]) -> str:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


class InspectionRepository:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(self, i: Inspection) -> Inspection:
        result = self._c.execute(insert(it).values(**_inspection_columns(i)))
        key = result.inserted_primary_key
        assert key is not None
        i.id = int(key[0])
        return i

    def get(self, inspection_id: int, for_update: bool = False) -> Inspection | None:
        query = select(it).where(it.c.id == inspection_id)
        row = self._c.execute(query.with_for_update() if for_update else query).first()
        return None if row is None else _inspection(row)

    def update(self, i: Inspection) -> None:
        assert i.id is not None
        self._c.execute(update(it).where(it.c.id == i.id).values(**_inspection_columns(i)))

    def find(
        self,
        unit_ids: Collection[int] | None = None,
        states: Collection[InspectionState] | None = None,
    ) -> list[Inspection]:
        """Newest first."""
        query = select(it).order_by(it.c.id.desc())
        if unit_ids is not None:
            query = query.where(it.c.unit_id.in_(list(unit_ids)))
        if states is not None:
            query = query.where(it.c.state.in_([s.value for s in states]))
        return [_inspection(row) for row in self._c.execute(query)]


class RectificationRepository:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(self, n: Notice) -> Notice:
        result = self._c.execute(insert(nt).values(**_notice_columns(n)))
        key = result.inserted_primary_key
        assert key is not None
        n.id = int(key[0])
        return n

    def get(self, notice_id: int, for_update: bool = False) -> Notice | None:
        query = select(nt).where(nt.c.id == notice_id)
        row = self._c.execute(query.with_for_update() if for_update else query).first()
        return None if row is None else _notice(row)

    def update(self, n: Notice) -> None:
        assert n.id is not None
        self._c.execute(update(nt).where(nt.c.id == n.id).values(**_notice_columns(n)))

    def find(
        self,
        unit_ids: Collection[int] | None = None,
        states: Collection[NoticeState] | None = None,
    ) -> list[Notice]:
        """Newest first."""
        query = select(nt).order_by(nt.c.id.desc())
        if unit_ids is not None:
            query = query.where(nt.c.unit_id.in_(list(unit_ids)))
        if states is not None:
            query = query.where(nt.c.state.in_([s.value for s in states]))
        return [_notice(row) for row in self._c.execute(query)]


def _inspection_columns(i: Inspection) -> dict[str, Any]:
    return {
        "unit_id": i.unit_id,
        "planned_on": i.planned_on,
        "state": i.state.value,
        "body": _json(i.body()),
    }


def _inspection(row: Any) -> Inspection:
    return Inspection.of(
        int(row.id), int(row.unit_id), row.planned_on, row.state, json.loads(row.body)
    )


def _notice_columns(n: Notice) -> dict[str, Any]:
    return {
        "inspection_id": n.inspection_id,
        "unit_id": n.unit_id,
        "item_key": n.item_key,
        "state": n.state.value,
        "due_on": n.due_on,
        "body": _json(n.body()),
    }


def _notice(row: Any) -> Notice:
    return Notice.of(
        int(row.id), int(row.inspection_id), int(row.unit_id), row.item_key, row.state,
        row.due_on, json.loads(row.body),
    )  # fmt: skip
