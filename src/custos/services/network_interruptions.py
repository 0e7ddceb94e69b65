"""Network interruptions of a site (Xi'an art. 26): recorded, ended, listed against the limit.

The limit and what it binds are in :mod:`custos.domain.network_interruption`. Recording an
interruption is never refused for its length; the compliance report carries the finding.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from custos.domain.access import UNIT_SCOPED_ROLES, Permission
from custos.domain.audit import AuditEvent
from custos.domain.clock import Clock
from custos.domain.errors import FieldError, NotFound, ValidationFailed
from custos.domain.network_interruption import (
    InterruptionCause,
    LimitStatus,
    NetworkInterruption,
    check_interruption,
    interruption_finding,
    limit_status,
)
from custos.domain.registry import Site
from custos.domain.rules import Finding, RuleBook
from custos.domain.users import Principal
from custos.services.ports import UnitOfWork
from custos.services.refusals import refusals_logged


class NetworkInterruptions(Protocol):
    def add(self, i: NetworkInterruption) -> NetworkInterruption: ...
    def end(self, interruption_id: int, ended_at: datetime) -> None: ...
    def get(self, interruption_id: int) -> NetworkInterruption | None: ...
    def find(self, site_ids: list[int]) -> list[NetworkInterruption]: ...


class InterruptionUnitOfWork(UnitOfWork, Protocol):
    @property
    def network_interruptions(self) -> NetworkInterruptions: ...


@dataclass(frozen=True)
class InterruptionInput:
    cause: InterruptionCause
    carrier: str
    started_at: datetime
    ended_at: datetime | None = None
    detail: str = ""


@dataclass(frozen=True)
class JudgedInterruption:
    interruption: NetworkInterruption
    status: LimitStatus

    def as_dict(self) -> dict[str, Any]:
        return {**self.interruption.as_dict(), **self.status.as_dict()}


class NetworkInterruptionService:
    def __init__(
        self, uow: Callable[[], InterruptionUnitOfWork], rules: RuleBook, clock: Clock
    ) -> None:
        self._uow = uow
        self._rules = rules
        self._clock = clock

    def record(self, actor: Principal, site_id: int, data: InterruptionInput) -> JudgedInterruption:
        actor.require(Permission.REGISTRY_WRITE)
        now = self._clock.now()
        logged = refusals_logged(
            self._uow, self._clock, actor, "network_interruption.record", "site", site_id
        )
        with logged, self._uow() as uow:
            site = _site(uow, actor, site_id)
            i = NetworkInterruption(
                None, site_id, data.cause, data.detail.strip(), data.carrier.strip(),
                data.started_at, data.ended_at, actor.username, now,
            )  # fmt: skip
            if errors := check_interruption(i, now):
                raise ValidationFailed(errors)
            i = uow.network_interruptions.add(i)
            judged = self._judge(site, i, now)
            uow.audit.append(
                AuditEvent(
                    now, actor.username, "network_interruption.record", "network_interruption",
                    str(i.id), detail=judged.as_dict(),
                )
            )  # fmt: skip
            uow.commit()
        return judged

    def end(self, actor: Principal, interruption_id: int, ended_at: datetime) -> JudgedInterruption:
        actor.require(Permission.REGISTRY_WRITE)
        now = self._clock.now()
        logged = refusals_logged(
            self._uow, self._clock, actor, "network_interruption.end", "network_interruption",
            interruption_id,
        )  # fmt: skip
        with logged, self._uow() as uow:
            found = uow.network_interruptions.get(interruption_id)
            if found is None:
                raise NotFound("network_interruption", interruption_id)
            site = _site(uow, actor, found.site_id)
            if found.ended_at is not None:
                raise ValidationFailed(
                    FieldError("ended_at", f"already ended at {found.ended_at.isoformat()}")
                )
            ended = dataclasses.replace(found, ended_at=ended_at)
            if errors := check_interruption(ended, now):
                raise ValidationFailed(errors)
            uow.network_interruptions.end(interruption_id, ended_at)
            judged = self._judge(site, ended, now)
            uow.audit.append(
                AuditEvent(
                    now, actor.username, "network_interruption.end", "network_interruption",
                    str(interruption_id), detail=judged.as_dict(),
                )
            )  # fmt: skip
            uow.commit()
        return judged

    def list(self, actor: Principal, site_id: int) -> list[JudgedInterruption]:
        actor.require(Permission.REGISTRY_READ)
        now = self._clock.now()
        with self._uow() as uow:
            site = _site(uow, actor, site_id)
            return [self._judge(site, i, now) for i in uow.network_interruptions.find([site_id])]

    def _judge(self, site: Site, i: NetworkInterruption, now: datetime) -> JudgedInterruption:
        limit = self._rules.effective(site.division_code, site.public_place_article)
        return JudgedInterruption(i, limit_status(i, limit.max_network_interruption_days, now))


def interruption_findings(
    uow: InterruptionUnitOfWork, rules: RuleBook, site: Site, now: datetime
) -> list[Finding]:
    """The site's interruptions that ran past the limit, as compliance findings."""
    limit = rules.effective(site.division_code, site.public_place_article)
    found = (
        interruption_finding(i, limit.max_network_interruption_days, now)
        for i in uow.network_interruptions.find([site.id or 0])
    )
    return [f for f in found if f is not None]


def _site(uow: UnitOfWork, actor: Principal, site_id: int) -> Site:
    site = uow.sites.get(site_id)
    scoped = actor.role in UNIT_SCOPED_ROLES and (site is None or site.unit_id != actor.unit_id)
    if site is None or scoped:
        raise NotFound("site", site_id)
    return site
