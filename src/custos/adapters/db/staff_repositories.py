"""Repositories of the staff archive and trainings (tables in
:mod:`custos.adapters.db.staff_tables`). The ID-card number is sealed by the secret box on the
way in and never read back: rows carry only its masked form."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Connection, RowMapping, Table, insert, select, update

from custos.adapters.db import staff_tables as st
from custos.domain.rules.terms import TrainingContent
from custos.domain.staff import StaffMember, StaffRole, Training
from custos.services.ports import SecretBox


def insert_row(conn: Connection, table: Table, values: dict[str, Any]) -> int:
    values.pop("id", None)
    key = conn.execute(insert(table).values(**values)).inserted_primary_key
    assert key is not None
    return int(key[0])


def plain(record: Any) -> dict[str, Any]:
    """A record's fields, enums as their values, frozensets and tuples as sorted lists."""
    values: dict[str, Any] = {}
    for f in dataclasses.fields(record):
        value = getattr(record, f.name)
        if isinstance(value, frozenset):
            value = sorted(str(v) for v in value)
        elif isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, enum.Enum):
            value = value.value
        values[f.name] = value
    return values


class StaffRepository:
    def __init__(self, conn: Connection, secrets: SecretBox) -> None:
        self._c = conn
        self._secrets = secrets

    def add(self, m: StaffMember) -> StaffMember:
        assert m.id_number is not None, "a new archive entry carries the ID-card number"
        values = plain(m)
        values["id_number_secret"] = self._secrets.seal(values.pop("id_number"))
        saved = dataclasses.replace(m, id=insert_row(self._c, st.staff_members, values))
        return dataclasses.replace(saved, id_number=None)

    def set_left(self, staff_id: int, left_on: date | None) -> None:
        t = st.staff_members
        self._c.execute(update(t).where(t.c.id == staff_id).values(left_on=left_on))

    def get(self, staff_id: int) -> StaffMember | None:
        t = st.staff_members
        row = self._c.execute(select(t).where(t.c.id == staff_id)).mappings().first()
        return _member(row) if row is not None else None

    def find(self, unit_ids: Sequence[int]) -> list[StaffMember]:
        t = st.staff_members
        q = select(t).where(t.c.unit_id.in_(unit_ids)).order_by(t.c.name, t.c.id)
        return [_member(r) for r in self._c.execute(q).mappings()]

    def add_training(self, training: Training) -> Training:
        return dataclasses.replace(training, id=insert_row(self._c, st.trainings, plain(training)))

    def trainings(self, unit_ids: Sequence[int]) -> list[Training]:
        t = st.trainings
        q = select(t).where(t.c.unit_id.in_(unit_ids)).order_by(t.c.held_on, t.c.id)
        return [_training(r) for r in self._c.execute(q).mappings()]


def _member(r: RowMapping) -> StaffMember:
    return StaffMember(
        id=r["id"],
        unit_id=r["unit_id"],
        name=r["name"],
        role=StaffRole(r["role"]),
        id_number_masked=r["id_number_masked"],
        hired_on=r["hired_on"],
        left_on=r["left_on"],
        contractor_id=r["contractor_id"],
        user_id=r["user_id"],
        recorded_by=r["recorded_by"],
        recorded_at=r["recorded_at"],
    )


def _training(r: RowMapping) -> Training:
    return Training(
        id=r["id"],
        unit_id=r["unit_id"],
        held_on=r["held_on"],
        contents=frozenset(TrainingContent(c) for c in r["contents"]),
        trainer=r["trainer"],
        hours=r["hours"],
        attendee_ids=tuple(int(i) for i in r["attendee_ids"]),
        recorded_by=r["recorded_by"],
        recorded_at=r["recorded_at"],
    )
