"""Repositories of inspection and maintenance, contractors and agreements, assessments, and
emergency plans and drills (tables in :mod:`custos.adapters.db.staff_tables`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from sqlalchemy import Connection, RowMapping, select, update

from custos.adapters.db import staff_tables as st
from custos.adapters.db.staff_repositories import insert_row, plain
from custos.domain.emergency import Drill, EmergencyPlan
from custos.domain.maintenance import (
    Assessment,
    AssessmentConclusion,
    Contractor,
    EntrustmentAgreement,
    Inspection,
    InspectionResult,
    InspectionSchedule,
    WorkOrder,
    WorkOrderState,
)


class MaintenanceRepository:
    """Inspection schedules, inspections, work orders and assessments."""

    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add_schedule(self, s: InspectionSchedule) -> InspectionSchedule:
        return dataclasses.replace(s, id=insert_row(self._c, st.inspection_schedules, plain(s)))

    def get_schedule(self, schedule_id: int) -> InspectionSchedule | None:
        t = st.inspection_schedules
        row = self._c.execute(select(t).where(t.c.id == schedule_id)).mappings().first()
        return InspectionSchedule(**row) if row is not None else None

    def schedules(self, site_ids: Sequence[int]) -> list[InspectionSchedule]:
        t = st.inspection_schedules
        q = select(t).where(t.c.site_id.in_(site_ids)).order_by(t.c.id)
        return [InspectionSchedule(**r) for r in self._c.execute(q).mappings()]

    def add_inspection(self, i: Inspection) -> Inspection:
        return dataclasses.replace(i, id=insert_row(self._c, st.inspections, plain(i)))

    def inspections(self, schedule_ids: Sequence[int]) -> list[Inspection]:
        t = st.inspections
        q = select(t).where(t.c.schedule_id.in_(schedule_ids)).order_by(t.c.done_on, t.c.id)
        return [
            Inspection(**{**r, "result": InspectionResult(r["result"])})
            for r in self._c.execute(q).mappings()
        ]

    def add_order(self, o: WorkOrder) -> WorkOrder:
        return dataclasses.replace(o, id=insert_row(self._c, st.work_orders, plain(o)))

    def update_order(self, o: WorkOrder) -> None:
        t = st.work_orders
        values = plain(o)
        del values["id"]
        self._c.execute(update(t).where(t.c.id == o.id).values(**values))

    def get_order(self, order_id: int) -> WorkOrder | None:
        t = st.work_orders
        row = self._c.execute(select(t).where(t.c.id == order_id)).mappings().first()
        return _order(row) if row is not None else None

    def orders(self, site_ids: Sequence[int]) -> list[WorkOrder]:
        t = st.work_orders
        q = select(t).where(t.c.site_id.in_(site_ids)).order_by(t.c.opened_at, t.c.id)
        return [_order(r) for r in self._c.execute(q).mappings()]

    def add_assessment(self, a: Assessment) -> Assessment:
        return dataclasses.replace(a, id=insert_row(self._c, st.assessments, plain(a)))

    def assessments(self, unit_ids: Sequence[int]) -> list[Assessment]:
        t = st.assessments
        q = select(t).where(t.c.unit_id.in_(unit_ids)).order_by(t.c.done_on, t.c.id)
        return [
            Assessment(**{**r, "conclusion": AssessmentConclusion(r["conclusion"])})
            for r in self._c.execute(q).mappings()
        ]


def _order(r: RowMapping) -> WorkOrder:
    return WorkOrder(**{**r, "state": WorkOrderState(r["state"])})


class ContractorRepository:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(self, c: Contractor) -> Contractor:
        return dataclasses.replace(c, id=insert_row(self._c, st.contractors, plain(c)))

    def set_maintains(self, contractor_id: int, maintains: bool) -> None:
        t = st.contractors
        self._c.execute(update(t).where(t.c.id == contractor_id).values(maintains=maintains))

    def get(self, contractor_id: int) -> Contractor | None:
        t = st.contractors
        row = self._c.execute(select(t).where(t.c.id == contractor_id)).mappings().first()
        return Contractor(**row) if row is not None else None

    def find(self, unit_ids: Sequence[int]) -> list[Contractor]:
        t = st.contractors
        q = select(t).where(t.c.unit_id.in_(unit_ids)).order_by(t.c.name, t.c.id)
        return [Contractor(**r) for r in self._c.execute(q).mappings()]

    def add_agreement(self, a: EntrustmentAgreement) -> EntrustmentAgreement:
        return dataclasses.replace(a, id=insert_row(self._c, st.entrustment_agreements, plain(a)))

    def agreements(self, contractor_ids: Sequence[int]) -> list[EntrustmentAgreement]:
        t = st.entrustment_agreements
        q = select(t).where(t.c.contractor_id.in_(contractor_ids)).order_by(t.c.valid_from, t.c.id)
        return [EntrustmentAgreement(**r) for r in self._c.execute(q).mappings()]


class EmergencyRepository:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add_plan(self, p: EmergencyPlan) -> EmergencyPlan:
        return dataclasses.replace(p, id=insert_row(self._c, st.emergency_plans, plain(p)))

    def plans(self, unit_ids: Sequence[int]) -> list[EmergencyPlan]:
        t = st.emergency_plans
        q = select(t).where(t.c.unit_id.in_(unit_ids)).order_by(t.c.approved_on, t.c.id)
        return [EmergencyPlan(**r) for r in self._c.execute(q).mappings()]

    def add_drill(self, d: Drill) -> Drill:
        return dataclasses.replace(d, id=insert_row(self._c, st.drills, plain(d)))

    def drills(self, unit_ids: Sequence[int]) -> list[Drill]:
        t = st.drills
        q = select(t).where(t.c.unit_id.in_(unit_ids)).order_by(t.c.held_on, t.c.id)
        return [
            Drill(**{**r, "participant_ids": tuple(int(i) for i in r["participant_ids"])})
            for r in self._c.execute(q).mappings()
        ]
