"""What the operation log (运行记录) records: who did what to which object, before and after."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class Outcome(enum.StrEnum):
    OK = "ok"
    REFUSED = "refused"


@dataclass(frozen=True)
class AuditEvent:
    at: datetime
    actor: str
    action: str  # e.g. "camera.create", "camera.transition", "auth.login"
    object_type: str
    object_id: str | None
    outcome: Outcome = Outcome.OK
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    detail: dict[str, Any] = field(default_factory=dict)
