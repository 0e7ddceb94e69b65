"""Inspection and maintenance: schedules per camera or per site, inspections done, repair work
orders (open → assigned → repaired → verified, four eyes on the verification), and the
periodic assessment of effectiveness and security (Chongqing art. 20(4), Xi'an art. 22(4)).

Reading needs ``duty.read``; opening a work order, recording an inspection and reporting a
repair ``duty.write`` (the people on duty do it); schedules, assignments, verification and
assessments ``duty.manage``. Every write enters the operation log.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from custos.domain.access import Permission
from custos.domain.alarms import Alarm, site_of_subject
from custos.domain.calendar import shanghai_date
from custos.domain.clock import Clock
from custos.domain.errors import FieldError, NotFound, ValidationFailed
from custos.domain.maintenance import (
    MAX_INTERVAL_DAYS,
    Assessment,
    AssessmentConclusion,
    Inspection,
    InspectionResult,
    InspectionSchedule,
    WorkOrder,
    WorkOrderState,
    transition_error,
)
from custos.domain.registry import Site
from custos.domain.rules import RuleBook
from custos.domain.users import Principal
from custos.services.refusals import refusals_logged
from custos.services.staff import StaffUnitOfWork
from custos.services.unit_records import record_write, unit_in_reach


class MaintenanceRecords(Protocol):
    def add_schedule(self, s: InspectionSchedule) -> InspectionSchedule: ...
    def get_schedule(self, schedule_id: int) -> InspectionSchedule | None: ...
    def schedules(self, site_ids: Sequence[int]) -> list[InspectionSchedule]: ...
    def add_inspection(self, i: Inspection) -> Inspection: ...
    def inspections(self, schedule_ids: Sequence[int]) -> list[Inspection]: ...
    def add_order(self, o: WorkOrder) -> WorkOrder: ...
    def update_order(self, o: WorkOrder) -> None: ...
    def get_order(self, order_id: int) -> WorkOrder | None: ...
    def orders(self, site_ids: Sequence[int]) -> list[WorkOrder]: ...
    def add_assessment(self, a: Assessment) -> Assessment: ...
    def assessments(self, unit_ids: Sequence[int]) -> list[Assessment]: ...


class AlarmLookup(Protocol):
    def get(self, alarm_id: int) -> Alarm | None: ...


class MaintenanceUnitOfWork(StaffUnitOfWork, Protocol):
    @property
    def maintenance(self) -> MaintenanceRecords: ...
    @property
    def alarms(self) -> AlarmLookup: ...


@dataclass(frozen=True)
class OrderInput:
    description: str
    camera_id: int | None = None
    alarm_id: int | None = None


@dataclass(frozen=True)
class AssessmentInput:
    done_on: date
    assessor: str
    effectiveness: str
    security: str
    conclusion: AssessmentConclusion


class MaintenanceService:
    def __init__(
        self, uow: Callable[[], MaintenanceUnitOfWork], rules: RuleBook, clock: Clock
    ) -> None:
        self._uow = uow
        self._rules = rules
        self._clock = clock

    # ---- schedules and inspections ------------------------------------------------------

    def add_schedule(
        self,
        actor: Principal,
        site_id: int,
        camera_id: int | None,
        interval_days: int,
        starts_on: date,
    ) -> InspectionSchedule:
        """A schedule's interval is the unit's own; it may be shorter than the packs', never
        longer (the refusal cites the articles)."""
        actor.require(Permission.DUTY_MANAGE)
        now = self._clock.now()
        with self._logged(actor, "inspection.schedule", "site", site_id), self._uow() as uow:
            site = self._site(uow, actor, site_id)
            errors = self._camera_errors(uow, site, camera_id)
            duty = self._rules.effective(site.division_code).operating.inspection_interval_days
            if not 1 <= interval_days <= MAX_INTERVAL_DAYS:
                errors.append(FieldError("interval_days", f"must be 1 to {MAX_INTERVAL_DAYS}"))
            elif duty.value is not None and interval_days > duty.value:
                errors.append(
                    FieldError(
                        "interval_days",
                        f"at most {duty.value} days under {', '.join(duty.rule_ids)}",
                        rule_id=duty.rule_ids[0] if duty.rule_ids else None,
                        article=duty.citations[0].human if duty.citations else None,
                        key="refusal.inspection_interval",
                        params={"days": duty.value},
                    )
                )
            if errors:
                raise ValidationFailed(errors)
            schedule = uow.maintenance.add_schedule(
                InspectionSchedule(
                    None, site.unit_id, site_id, camera_id, interval_days, starts_on,
                    actor.username, now,
                )
            )  # fmt: skip
            record_write(
                uow, actor, now, "inspection.schedule", "inspection_schedule", schedule.id,
                schedule.as_dict(),
            )  # fmt: skip
            uow.commit()
        return schedule

    def schedules(self, actor: Principal, site_id: int) -> list[dict[str, Any]]:
        """The site's schedules with their inspections."""
        actor.require(Permission.DUTY_READ)
        with self._uow() as uow:
            self._site(uow, actor, site_id)
            found = uow.maintenance.schedules([site_id])
            done = uow.maintenance.inspections([s.id or 0 for s in found])
            return [
                {**s.as_dict(), "inspections": [i.as_dict() for i in done if i.schedule_id == s.id]}
                for s in found
            ]

    def record_inspection(
        self,
        actor: Principal,
        schedule_id: int,
        done_on: date,
        staff_id: int,
        result: InspectionResult,
        note: str,
    ) -> Inspection:
        actor.require(Permission.DUTY_WRITE)
        now = self._clock.now()
        logged = self._logged(actor, "inspection.record", "inspection_schedule", schedule_id)
        with logged, self._uow() as uow:
            schedule = uow.maintenance.get_schedule(schedule_id)
            if schedule is None:
                raise NotFound("inspection_schedule", schedule_id)
            self._site(uow, actor, schedule.site_id)
            errors: list[FieldError] = []
            if done_on > shanghai_date(now):
                errors.append(FieldError("done_on", "is in the future"))
            staff = uow.staff.get(staff_id)
            if staff is None or staff.unit_id != schedule.unit_id:
                errors.append(FieldError("staff_id", "not in this unit's staff archive"))
            if errors:
                raise ValidationFailed(errors)
            inspection = uow.maintenance.add_inspection(
                Inspection(
                    None, schedule_id, done_on, staff_id, result, note.strip(),
                    actor.username, now,
                )
            )  # fmt: skip
            record_write(
                uow, actor, now, "inspection.record", "inspection", inspection.id,
                inspection.as_dict(),
            )  # fmt: skip
            uow.commit()
        return inspection

    # ---- work orders ----------------------------------------------------------------------

    def open_order(self, actor: Principal, site_id: int, data: OrderInput) -> WorkOrder:
        """A work order by hand, or from an alarm (then about the alarm's camera)."""
        actor.require(Permission.DUTY_WRITE)
        now = self._clock.now()
        with self._logged(actor, "work_order.open", "site", site_id), self._uow() as uow:
            site = self._site(uow, actor, site_id)
            camera_id = data.camera_id
            errors: list[FieldError] = []
            if data.alarm_id is not None:
                alarm = uow.alarms.get(data.alarm_id)
                if alarm is None or not _alarm_of_site(alarm, site_id, actor):
                    errors.append(FieldError("alarm_id", "no such alarm at this site"))
                elif camera_id is not None and alarm.camera_id not in (None, camera_id):
                    errors.append(FieldError("camera_id", "not the camera the alarm is about"))
                else:
                    camera_id = camera_id or alarm.camera_id
            errors += self._camera_errors(uow, site, camera_id)
            if not data.description.strip():
                errors.append(FieldError("description", "describe the fault"))
            if errors:
                raise ValidationFailed(errors)
            order = uow.maintenance.add_order(
                WorkOrder(
                    None, site.unit_id, site_id, camera_id, data.alarm_id,
                    data.description.strip(), now, actor.username,
                )
            )  # fmt: skip
            record_write(
                uow, actor, now, "work_order.open", "work_order", order.id, order.as_dict()
            )
            uow.commit()
        return order

    def assign(
        self,
        actor: Principal,
        order_id: int,
        staff_id: int | None,
        contractor_id: int | None,
    ) -> WorkOrder:
        actor.require(Permission.DUTY_MANAGE)

        def change(uow: MaintenanceUnitOfWork, o: WorkOrder, now: datetime) -> WorkOrder:
            errors: list[FieldError] = []
            if (staff_id is None) == (contractor_id is None):
                errors.append(FieldError("staff_id", "assign to one staff member or contractor"))
            if staff_id is not None:
                staff = uow.staff.get(staff_id)
                if staff is None or staff.unit_id != o.unit_id:
                    errors.append(FieldError("staff_id", "not in this unit's staff archive"))
            if contractor_id is not None:
                contractor = uow.contractors.get(contractor_id)
                if contractor is None or contractor.unit_id != o.unit_id:
                    errors.append(FieldError("contractor_id", "not a contractor of this unit"))
            if errors:
                raise ValidationFailed(errors)
            return dataclasses.replace(
                o, state=WorkOrderState.ASSIGNED, assignee_staff_id=staff_id,
                assignee_contractor_id=contractor_id, assigned_at=now,
            )  # fmt: skip

        return self._move(actor, order_id, WorkOrderState.ASSIGNED, "work_order.assign", change)

    def repair(self, actor: Principal, order_id: int, note: str) -> WorkOrder:
        actor.require(Permission.DUTY_WRITE)

        def change(_: MaintenanceUnitOfWork, o: WorkOrder, now: datetime) -> WorkOrder:
            return dataclasses.replace(
                o, state=WorkOrderState.REPAIRED, repaired_at=now, repaired_by=actor.username,
                repair_note=note.strip(),
            )  # fmt: skip

        return self._move(actor, order_id, WorkOrderState.REPAIRED, "work_order.repair", change)

    def verify(self, actor: Principal, order_id: int) -> WorkOrder:
        actor.require(Permission.DUTY_MANAGE)

        def change(_: MaintenanceUnitOfWork, o: WorkOrder, now: datetime) -> WorkOrder:
            return dataclasses.replace(
                o, state=WorkOrderState.VERIFIED, verified_at=now, verified_by=actor.username
            )

        return self._move(actor, order_id, WorkOrderState.VERIFIED, "work_order.verify", change)

    def orders(self, actor: Principal, site_id: int) -> list[WorkOrder]:
        actor.require(Permission.DUTY_READ)
        with self._uow() as uow:
            self._site(uow, actor, site_id)
            return uow.maintenance.orders([site_id])

    def _move(
        self,
        actor: Principal,
        order_id: int,
        to: WorkOrderState,
        action: str,
        change: Callable[[MaintenanceUnitOfWork, WorkOrder, datetime], WorkOrder],
    ) -> WorkOrder:
        now = self._clock.now()
        with self._logged(actor, action, "work_order", order_id), self._uow() as uow:
            order = uow.maintenance.get_order(order_id)
            if order is None:
                raise NotFound("work_order", order_id)
            self._site(uow, actor, order.site_id)
            if (refused := transition_error(order, to, actor.username)) is not None:
                raise ValidationFailed(refused)
            changed = change(uow, order, now)
            uow.maintenance.update_order(changed)
            record_write(uow, actor, now, action, "work_order", order_id, changed.as_dict())
            uow.commit()
        return changed

    # ---- assessments ------------------------------------------------------------------------

    def record_assessment(
        self, actor: Principal, unit_id: int, data: AssessmentInput
    ) -> Assessment:
        actor.require(Permission.DUTY_MANAGE)
        now = self._clock.now()
        with self._logged(actor, "assessment.record", "unit", unit_id), self._uow() as uow:
            unit_in_reach(uow, actor, unit_id)
            errors = [
                FieldError(name, "must not be empty")
                for name, value in (
                    ("assessor", data.assessor),
                    ("effectiveness", data.effectiveness),
                    ("security", data.security),
                )
                if not value.strip()
            ]
            if data.done_on > shanghai_date(now):
                errors.append(FieldError("done_on", "is in the future"))
            if errors:
                raise ValidationFailed(errors)
            assessment = uow.maintenance.add_assessment(
                Assessment(
                    None, unit_id, data.done_on, data.assessor.strip(), data.effectiveness.strip(),
                    data.security.strip(), data.conclusion, actor.username, now,
                )
            )  # fmt: skip
            record_write(
                uow, actor, now, "assessment.record", "assessment", assessment.id,
                assessment.as_dict(),
            )  # fmt: skip
            uow.commit()
        return assessment

    def assessments(self, actor: Principal, unit_id: int) -> list[Assessment]:
        actor.require(Permission.DUTY_READ)
        with self._uow() as uow:
            unit_in_reach(uow, actor, unit_id)
            return uow.maintenance.assessments([unit_id])

    # ---- helpers ------------------------------------------------------------------------------

    def _logged(self, actor: Principal, action: str, kind: str, obj_id: int) -> Any:
        return refusals_logged(self._uow, self._clock, actor, action, kind, obj_id)

    @staticmethod
    def _site(uow: MaintenanceUnitOfWork, actor: Principal, site_id: int) -> Site:
        site = uow.sites.get(site_id)
        if site is None:
            raise NotFound("site", site_id)
        try:
            unit_in_reach(uow, actor, site.unit_id)
        except NotFound:
            raise NotFound("site", site_id) from None
        return site

    @staticmethod
    def _camera_errors(
        uow: MaintenanceUnitOfWork, site: Site, camera_id: int | None
    ) -> list[FieldError]:
        if camera_id is None:
            return []
        camera = uow.cameras.get(camera_id)
        if camera is None or camera.site_id != site.id:
            return [FieldError("camera_id", "no such camera at this site")]
        return []


def _alarm_of_site(alarm: Alarm, site_id: int, actor: Principal) -> bool:
    """An order may cite an alarm about this site: one of its cameras (checked with the
    camera), the whole site, or (for those who see them) the system."""
    if alarm.camera_id is not None:
        return True  # the camera is checked to be at this site with the order's camera
    site = site_of_subject(alarm.subject)
    if site is not None:
        return site == site_id
    return actor.can(Permission.STORAGE_READ)
