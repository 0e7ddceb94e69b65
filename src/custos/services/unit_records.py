"""What the services of a unit's operating records share: the reach of a unit's people and the
operation-log entry of a write."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from custos.domain.access import UNIT_SCOPED_ROLES
from custos.domain.audit import AuditEvent
from custos.domain.errors import NotFound
from custos.domain.users import Principal
from custos.services.ports import UnitOfWork


def unit_in_reach(uow: UnitOfWork, actor: Principal, unit_id: int) -> None:
    """NotFound unless the unit exists and the actor may see it (a unit's people see only
    their own unit)."""
    scoped = actor.role in UNIT_SCOPED_ROLES and actor.unit_id != unit_id
    if scoped or uow.units.get(unit_id) is None:
        raise NotFound("unit", unit_id)


def record_write(
    uow: UnitOfWork,
    actor: Principal,
    at: datetime,
    action: str,
    kind: str,
    obj_id: int | None,
    detail: dict[str, Any],
) -> None:
    """One entry of the operation log for a write."""
    uow.audit.append(AuditEvent(at, actor.username, action, kind, str(obj_id), detail=detail))
