"""The emergency plan on file (突发事件处置预案) and its drills.

Chongqing art. 20(1) and Xi'an art. 22(1) ask for an emergency plan; Beijing art. 12(2) and
Liaoning art. 14(2) for emergency-handling procedures (应急处理制度). No text asks for drills:
the drill interval is Custos's product default (``EffectiveRules.operating.drill_interval_days``).
The plan document stays with the unit; Custos keeps its version, approval and SHA-256.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from custos.domain.errors import FieldError
from custos.domain.maintenance import sha256_error


@dataclass(frozen=True)
class EmergencyPlan:
    id: int | None
    unit_id: int
    title: str
    version: str
    approved_on: date
    approved_by: str
    document_sha256: str
    recorded_by: str
    recorded_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "unit_id": self.unit_id,
            "title": self.title,
            "version": self.version,
            "approved_on": self.approved_on.isoformat(),
            "approved_by": self.approved_by,
            "document_sha256": self.document_sha256,
            "recorded_by": self.recorded_by,
            "recorded_at": self.recorded_at.isoformat(),
        }


@dataclass(frozen=True)
class Drill:
    id: int | None
    unit_id: int
    held_on: date
    scenario: str
    participant_ids: tuple[int, ...]
    findings: str
    recorded_by: str
    recorded_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "unit_id": self.unit_id,
            "held_on": self.held_on.isoformat(),
            "scenario": self.scenario,
            "participant_ids": list(self.participant_ids),
            "findings": self.findings,
            "recorded_by": self.recorded_by,
            "recorded_at": self.recorded_at.isoformat(),
        }


def check_plan(p: EmergencyPlan, today: date) -> list[FieldError]:
    errors = [
        FieldError(name, "must not be empty")
        for name, value in (
            ("title", p.title),
            ("version", p.version),
            ("approved_by", p.approved_by),
        )
        if not value.strip()
    ]
    if p.approved_on > today:
        errors.append(FieldError("approved_on", "is in the future"))
    if (e := sha256_error(p.document_sha256)) is not None:
        errors.append(e)
    return errors


def check_drill(d: Drill, today: date, known_staff: set[int]) -> list[FieldError]:
    errors: list[FieldError] = []
    if d.held_on > today:
        errors.append(FieldError("held_on", "is in the future"))
    if not d.scenario.strip():
        errors.append(FieldError("scenario", "describe the scenario drilled"))
    if not d.participant_ids:
        errors.append(FieldError("participant_ids", "name at least one participant"))
    errors += [
        FieldError(f"participant_ids[{i}]", f"staff {s} is not in this unit's archive")
        for i, s in enumerate(d.participant_ids)
        if s not in known_staff
    ]
    return errors
