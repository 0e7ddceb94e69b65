"""What diagnosis keeps per camera, and its reference snapshots (four eyes).

A reference is the picture a camera was accepted with. The first is taken when the camera first
records (acceptance, by ``system``). After a lawful change (the camera was moved on an approved
plan), a new reference is *proposed* by one person from the latest sample and *approved* by a
different person; approving it supersedes the previous one and restarts the camera's baseline.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from custos.domain.diagnosis import Counter, Fault, FrameMetrics
from custos.domain.errors import FieldError, ValidationFailed


class ReferenceState(enum.StrEnum):
    PROPOSED = "proposed"
    APPROVED = "approved"
    SUPERSEDED = "superseded"


@dataclass(frozen=True)
class Reference:
    id: int | None
    camera_id: int
    path: str  # relative to DATA/diagnosis
    sha256: str
    state: ReferenceState
    reason: str
    proposed_by: str
    proposed_at: datetime
    approved_by: str | None = None
    approved_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "camera_id": self.camera_id,
            "sha256": self.sha256,
            "state": self.state.value,
            "reason": self.reason,
            "proposed_by": self.proposed_by,
            "proposed_at": self.proposed_at.isoformat(),
            "approved_by": self.approved_by,
            "approved_at": self.approved_at.isoformat() if self.approved_at else None,
        }


def check_approval(ref: Reference, approver: str) -> None:
    """Four eyes: only a proposed reference, and never by the person who proposed it."""
    if ref.state is not ReferenceState.PROPOSED:
        raise ValidationFailed(
            FieldError("reference", f"is {ref.state.value}; only a proposed reference is approved")
        )
    if ref.proposed_by == approver:
        raise ValidationFailed(
            FieldError(
                "approved_by",
                "must be a different person from the proposer (four eyes): "
                f"{approver} proposed this reference",
                key="refusal.diagnosis.four_eyes",
                params={"proposer": approver},
            )
        )


@dataclass(frozen=True)
class CameraDiagnosis:
    """One camera's diagnosis: its threshold overrides, its last sample and its counters."""

    camera_id: int
    overrides: dict[str, Any] = field(default_factory=dict)
    last_segment_id: int | None = None
    sampled_at: datetime | None = None
    metrics: FrameMetrics | None = None
    faults: frozenset[Fault] = frozenset()
    counters: dict[Fault, Counter] = field(default_factory=dict)
    history: tuple[FrameMetrics, ...] = ()  # the baseline's fault-free samples, newest last

    def as_dict(self) -> dict[str, Any]:
        return {
            "camera_id": self.camera_id,
            "overrides": dict(self.overrides),
            "last_segment_id": self.last_segment_id,
            "sampled_at": self.sampled_at.isoformat() if self.sampled_at else None,
            "metrics": self.metrics.as_dict() if self.metrics else None,
            "faults": sorted(f.value for f in self.faults),
            "counters": {f.value: c.as_dict() for f, c in sorted(self.counters.items())},
            "baseline_samples": len(self.history),
        }
