"""Inspection and maintenance (定期检查和维护保养), repair work orders, contractors with their
entrustment agreements, and the periodic assessment of effectiveness and security.

The texts: inspect and maintain periodically (Decree 799 art. 15 ¶1, Beijing art. 12(2),
Liaoning art. 14(2), Shaanxi art. 16(1), Chongqing art. 20(5), Xi'an art. 22(5)); restore a
fault promptly (Chongqing art. 20(6), Xi'an art. 22(6)); where management or maintenance is
entrusted, the parties set out who answers for safe operation (Decree 799 art. 15 ¶2, Beijing
art. 12 ¶2, Liaoning art. 14 ¶2, Chongqing art. 20 ¶2, Xi'an art. 22 ¶2); assess effectiveness
and security periodically (Chongqing art. 20(4), Xi'an art. 22(4)).

A work order runs open → assigned → repaired → verified; the person who verifies a repair is
not the one who made it (four eyes).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from custos.domain.errors import FieldError

MAX_INTERVAL_DAYS = 3650


def _iso(at: date | datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


@dataclass(frozen=True)
class InspectionSchedule:
    """Inspect a camera (``camera_id``) or the site's whole system (None) every
    ``interval_days`` days: the unit's own interval, never longer than the packs'."""

    id: int | None
    unit_id: int
    site_id: int
    camera_id: int | None
    interval_days: int
    starts_on: date
    created_by: str
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "unit_id": self.unit_id,
            "site_id": self.site_id,
            "camera_id": self.camera_id,
            "subject": f"camera:{self.camera_id}" if self.camera_id else f"site:{self.site_id}",
            "interval_days": self.interval_days,
            "starts_on": self.starts_on.isoformat(),
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
        }


class InspectionResult(enum.StrEnum):
    OK = "ok"
    FAULTS_FOUND = "faults_found"


@dataclass(frozen=True)
class Inspection:
    id: int | None
    schedule_id: int
    done_on: date
    staff_id: int
    result: InspectionResult
    note: str
    recorded_by: str
    recorded_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "schedule_id": self.schedule_id,
            "done_on": self.done_on.isoformat(),
            "staff_id": self.staff_id,
            "result": self.result.value,
            "note": self.note,
            "recorded_by": self.recorded_by,
            "recorded_at": self.recorded_at.isoformat(),
        }


class WorkOrderState(enum.StrEnum):
    OPEN = "open"
    ASSIGNED = "assigned"
    REPAIRED = "repaired"
    VERIFIED = "verified"


@dataclass(frozen=True)
class WorkOrder:
    """A fault to repair, opened from an alarm (``alarm_id``) or by hand."""

    id: int | None
    unit_id: int
    site_id: int
    camera_id: int | None
    alarm_id: int | None
    description: str
    opened_at: datetime
    opened_by: str
    state: WorkOrderState = WorkOrderState.OPEN
    assignee_staff_id: int | None = None
    assignee_contractor_id: int | None = None
    assigned_at: datetime | None = None
    repaired_at: datetime | None = None
    repaired_by: str | None = None
    repair_note: str = ""
    verified_at: datetime | None = None
    verified_by: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "unit_id": self.unit_id,
            "site_id": self.site_id,
            "camera_id": self.camera_id,
            "alarm_id": self.alarm_id,
            "description": self.description,
            "opened_at": self.opened_at.isoformat(),
            "opened_by": self.opened_by,
            "state": self.state.value,
            "assignee_staff_id": self.assignee_staff_id,
            "assignee_contractor_id": self.assignee_contractor_id,
            "assigned_at": _iso(self.assigned_at),
            "repaired_at": _iso(self.repaired_at),
            "repaired_by": self.repaired_by,
            "repair_note": self.repair_note,
            "verified_at": _iso(self.verified_at),
            "verified_by": self.verified_by,
        }


def transition_error(order: WorkOrder, to: WorkOrderState, actor: str) -> FieldError | None:
    """Why ``order`` may not move to ``to`` by ``actor``; None when it may."""
    allowed = {
        WorkOrderState.ASSIGNED: {WorkOrderState.OPEN, WorkOrderState.ASSIGNED},
        WorkOrderState.REPAIRED: {WorkOrderState.ASSIGNED},
        WorkOrderState.VERIFIED: {WorkOrderState.REPAIRED},
    }
    if order.state not in allowed.get(to, set()):
        return FieldError(
            "state",
            f"a work order that is {order.state.value} cannot become {to.value}",
            key="refusal.work_order_state",
            params={"state": order.state.value, "to": to.value},
        )
    if to is WorkOrderState.VERIFIED and actor == order.repaired_by:
        return FieldError(
            "verified_by",
            "the repair is verified by a person other than the one who repaired it",
            key="refusal.work_order_four_eyes",
        )
    return None


@dataclass(frozen=True)
class Contractor:
    """A company the unit entrusts with operation or maintenance (受托单位)."""

    id: int | None
    unit_id: int
    name: str
    maintains: bool  # does O&M for the unit now
    created_by: str
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "unit_id": self.unit_id,
            "name": self.name,
            "maintains": self.maintains,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True)
class EntrustmentAgreement:
    """The agreement that sets out who answers for safe operation; the document itself stays
    with the unit, Custos keeps its SHA-256."""

    id: int | None
    contractor_id: int
    signed_on: date
    valid_from: date
    valid_until: date | None
    scope: str
    document_sha256: str
    recorded_by: str
    recorded_at: datetime

    def valid_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_until is None or day <= self.valid_until)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "contractor_id": self.contractor_id,
            "signed_on": self.signed_on.isoformat(),
            "valid_from": self.valid_from.isoformat(),
            "valid_until": _iso(self.valid_until),
            "scope": self.scope,
            "document_sha256": self.document_sha256,
            "recorded_by": self.recorded_by,
            "recorded_at": self.recorded_at.isoformat(),
        }


def check_agreement(a: EntrustmentAgreement, today: date) -> list[FieldError]:
    errors: list[FieldError] = []
    if a.signed_on > today:
        errors.append(FieldError("signed_on", "is in the future"))
    if a.valid_until is not None and a.valid_until < a.valid_from:
        errors.append(FieldError("valid_until", "must not be before valid_from"))
    if not a.scope.strip():
        errors.append(FieldError("scope", "say what is entrusted"))
    if (e := sha256_error(a.document_sha256)) is not None:
        errors.append(e)
    return errors


def sha256_error(value: str) -> FieldError | None:
    """A document's SHA-256 as 64 lower-case hexadecimal digits."""
    if len(value) != 64 or any(ch not in "0123456789abcdef" for ch in value):
        return FieldError("document_sha256", "64 lower-case hexadecimal digits")
    return None


class AssessmentConclusion(enum.StrEnum):
    EFFECTIVE = "effective"
    NEEDS_IMPROVEMENT = "needs_improvement"


@dataclass(frozen=True)
class Assessment:
    """A periodic assessment of effectiveness (效能) and security (安全性能)."""

    id: int | None
    unit_id: int
    done_on: date
    assessor: str
    effectiveness: str
    security: str
    conclusion: AssessmentConclusion
    recorded_by: str
    recorded_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "unit_id": self.unit_id,
            "done_on": self.done_on.isoformat(),
            "assessor": self.assessor,
            "effectiveness": self.effectiveness,
            "security": self.security,
            "conclusion": self.conclusion.value,
            "recorded_by": self.recorded_by,
            "recorded_at": self.recorded_at.isoformat(),
        }
