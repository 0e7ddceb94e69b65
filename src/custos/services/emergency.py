"""The unit's emergency plan on file and its drills (Chongqing art. 20(1), Xi'an art. 22(1);
Beijing art. 12(2) and Liaoning art. 14(2) ask for emergency-handling procedures).

Reading needs ``duty.read``, writing ``duty.manage``; every write enters the operation log.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from custos.domain.access import Permission
from custos.domain.calendar import shanghai_date
from custos.domain.clock import Clock
from custos.domain.emergency import Drill, EmergencyPlan, check_drill, check_plan
from custos.domain.errors import ValidationFailed
from custos.domain.users import Principal
from custos.services.refusals import refusals_logged
from custos.services.staff import StaffUnitOfWork
from custos.services.unit_records import record_write, unit_in_reach


class EmergencyRecords(Protocol):
    def add_plan(self, p: EmergencyPlan) -> EmergencyPlan: ...
    def plans(self, unit_ids: Sequence[int]) -> list[EmergencyPlan]: ...
    def add_drill(self, d: Drill) -> Drill: ...
    def drills(self, unit_ids: Sequence[int]) -> list[Drill]: ...


class EmergencyUnitOfWork(StaffUnitOfWork, Protocol):
    @property
    def emergency(self) -> EmergencyRecords: ...


@dataclass(frozen=True)
class PlanInput:
    title: str
    version: str
    approved_on: date
    approved_by: str
    document_sha256: str


@dataclass(frozen=True)
class DrillInput:
    held_on: date
    scenario: str
    participant_ids: tuple[int, ...]
    findings: str = ""


class EmergencyService:
    def __init__(self, uow: Callable[[], EmergencyUnitOfWork], clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def record_plan(self, actor: Principal, unit_id: int, data: PlanInput) -> EmergencyPlan:
        actor.require(Permission.DUTY_MANAGE)
        now = self._clock.now()
        logged = refusals_logged(
            self._uow, self._clock, actor, "emergency_plan.record", "unit", unit_id
        )
        with logged, self._uow() as uow:
            unit_in_reach(uow, actor, unit_id)
            plan = EmergencyPlan(
                None, unit_id, data.title.strip(), data.version.strip(), data.approved_on,
                data.approved_by.strip(), data.document_sha256.strip().lower(),
                actor.username, now,
            )  # fmt: skip
            if errors := check_plan(plan, shanghai_date(now)):
                raise ValidationFailed(errors)
            plan = uow.emergency.add_plan(plan)
            record_write(
                uow, actor, now, "emergency_plan.record", "emergency_plan", plan.id,
                plan.as_dict(),
            )  # fmt: skip
            uow.commit()
        return plan

    def record_drill(self, actor: Principal, unit_id: int, data: DrillInput) -> Drill:
        actor.require(Permission.DUTY_MANAGE)
        now = self._clock.now()
        logged = refusals_logged(self._uow, self._clock, actor, "drill.record", "unit", unit_id)
        with logged, self._uow() as uow:
            unit_in_reach(uow, actor, unit_id)
            drill = Drill(
                None, unit_id, data.held_on, data.scenario.strip(),
                tuple(dict.fromkeys(data.participant_ids)), data.findings.strip(),
                actor.username, now,
            )  # fmt: skip
            known = {m.id for m in uow.staff.find([unit_id]) if m.id is not None}
            if errors := check_drill(drill, shanghai_date(now), known):
                raise ValidationFailed(errors)
            drill = uow.emergency.add_drill(drill)
            record_write(uow, actor, now, "drill.record", "drill", drill.id, drill.as_dict())
            uow.commit()
        return drill

    def plans(self, actor: Principal, unit_id: int) -> list[EmergencyPlan]:
        actor.require(Permission.DUTY_READ)
        with self._uow() as uow:
            unit_in_reach(uow, actor, unit_id)
            return uow.emergency.plans([unit_id])

    def drills(self, actor: Principal, unit_id: int) -> list[Drill]:
        actor.require(Permission.DUTY_READ)
        with self._uow() as uow:
            unit_in_reach(uow, actor, unit_id)
            return uow.emergency.drills([unit_id])
