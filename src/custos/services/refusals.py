"""Refused attempts enter the operation log, in a transaction of their own (the refused one is
rolled back: it changes nothing)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from custos.domain.audit import AuditEvent, Outcome
from custos.domain.clock import Clock
from custos.domain.errors import (
    Conflict,
    CustosError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from custos.domain.users import Principal
from custos.services.ports import UnitOfWork


@contextmanager
def refusals_logged(
    uow: Callable[[], UnitOfWork],
    clock: Clock,
    actor: Principal,
    action: str,
    kind: str,
    obj_id: int | None,
    detail: dict[str, object] | None = None,
) -> Iterator[None]:
    try:
        yield
    except (ValidationFailed, NotFound, PermissionDenied) as exc:
        _log(uow, clock, actor, action, kind, obj_id, exc, detail or {})
        raise
    except Conflict as exc:  # a state conflict is not a refusal, unless a rule is the reason
        if exc.rule_id:
            _log(uow, clock, actor, action, kind, obj_id, exc, {**(detail or {}),
                 "rule_id": exc.rule_id})  # fmt: skip
        raise


def _log(
    uow: Callable[[], UnitOfWork],
    clock: Clock,
    actor: Principal,
    action: str,
    kind: str,
    obj_id: int | None,
    exc: CustosError,
    detail: dict[str, object],
) -> None:
    why: dict[str, object] = {"error": type(exc).__name__, "message": str(exc)}
    if isinstance(exc, ValidationFailed):
        why["refusals"] = [dataclasses.asdict(e) for e in exc.errors]
    with uow() as log_uow:
        log_uow.audit.append(
            AuditEvent(
                clock.now(),
                actor.username,
                action,
                kind,
                None if obj_id is None else str(obj_id),
                Outcome.REFUSED,
                detail={**detail, **why},
            )
        )
        log_uow.commit()
