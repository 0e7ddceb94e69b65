"""Interruption accounting: per camera per Asia/Shanghai day, recorded seconds, gaps with their
reasons, and the repair time of each fault; a fault not repaired within the unit's deadline is a
compliance finding citing "restore promptly" (Chongqing art. 20(6), Xi'an art. 22(6)).

The faults are opened and recovered by the alarm watcher (:mod:`custos.services.alarm_watch`);
the day's arithmetic is :mod:`custos.domain.accounting`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from custos.domain.access import UNIT_SCOPED_ROLES, Permission
from custos.domain.accounting import (
    DEFAULT_REPAIR_DEADLINE_HOURS,
    MAX_ACCOUNTING_DAYS,
    CameraFault,
    DayAccount,
    account_day,
    day_bounds,
    days_between,
)
from custos.domain.audit import AuditEvent
from custos.domain.clock import Clock
from custos.domain.errors import FieldError, NotFound, ValidationFailed
from custos.domain.kinds import Severity
from custos.domain.registry import Camera, Site
from custos.domain.rules import Finding, RuleBook
from custos.domain.rules.duty import Duty
from custos.domain.users import Principal
from custos.domain.visibility import reaches_camera, reaches_site
from custos.services.ports import RecordingUnitOfWork
from custos.services.refusals import refusals_logged

#: Faults recovered longer ago than this are history, not findings of today's report.
REPAIR_LOOKBACK_DAYS = 90
EARLIEST_DAY, LATEST_DAY = date(2000, 1, 1), date(2099, 12, 31)  # no footage outside these
#: A unit's own repair deadline, in hours (at most 30 days).
UNIT_DEADLINE_MIN_HOURS, UNIT_DEADLINE_MAX_HOURS = 1, 720


class CameraFaults(Protocol):
    def add(self, f: CameraFault) -> CameraFault: ...
    def recover(self, fault_id: int, at: datetime) -> None: ...
    def open_faults(self) -> list[CameraFault]: ...
    def find(
        self, camera_ids: Sequence[int], start: datetime | None = None, end: datetime | None = None
    ) -> list[CameraFault]: ...


class UnitSettings(Protocol):
    def repair_deadline_hours(self, unit_id: int) -> int | None: ...
    def repair_deadlines(self) -> dict[int, int]: ...
    def set_repair_deadline_hours(self, unit_id: int, hours: int | None) -> None: ...


class AccountingUnitOfWork(RecordingUnitOfWork, Protocol):
    @property
    def camera_faults(self) -> CameraFaults: ...
    @property
    def unit_settings(self) -> UnitSettings: ...


def repair_deadline(rules: RuleBook, site: Site, unit_hours: int | None = None) -> Duty[int]:
    """The unit's repair deadline in hours, with the articles that impose prompt repair: the
    rule packs' (the product default, 24 h, where no pack applies), or the unit's own
    ``unit_hours`` where it is shorter (a unit may be stricter than the law, never laxer)."""
    pack = pack_repair_deadline(rules, site)
    if unit_hours is not None and unit_hours < pack.value:
        return Duty(unit_hours, pack.citations, product_default=False,
                    note=f"the unit's own deadline, shorter than the {pack.value} h of the "
                         "rules")  # fmt: skip
    return pack


def pack_repair_deadline(rules: RuleBook, site: Site) -> Duty[int]:
    """The rule packs' repair deadline at the site; the product default where no pack applies."""
    duty = rules.effective(site.division_code, site.public_place_article).operating
    hours = duty.repair_deadline_hours
    if hours.value is None:
        return Duty(DEFAULT_REPAIR_DEADLINE_HOURS, (), product_default=True,
                    note="no pack names a repair deadline here; Custos's default")  # fmt: skip
    return Duty(hours.value, hours.citations, hours.product_default, hours.note)


class InterruptionAccountingService:
    def __init__(
        self, uow: Callable[[], AccountingUnitOfWork], rules: RuleBook, clock: Clock
    ) -> None:
        self._uow = uow
        self._rules = rules
        self._clock = clock

    def camera(self, actor: Principal, camera_id: int, first: date, last: date) -> list[DayAccount]:
        """One camera's account for each Shanghai day from ``first`` to ``last`` (at most 31)."""
        actor.require(Permission.ALARM_READ)
        _check_days(first, last, self._clock.now())
        with self._uow() as uow:
            cam = uow.cameras.get(camera_id)
            site = uow.sites.get(cam.site_id) if cam is not None else None
            if cam is None or site is None or not _reaches(actor, site, cam):
                raise NotFound("camera", camera_id)
            return self._accounts(uow, site, [cam], first, last)

    def site(self, actor: Principal, site_id: int, day: date) -> list[DayAccount]:
        """The day's account of each camera of the site the actor may see."""
        actor.require(Permission.ALARM_READ)
        _check_days(day, day, self._clock.now(), ("day", "day"))
        with self._uow() as uow:
            site = uow.sites.get(site_id)
            if site is None or not reaches_site(actor, site.unit_id, site.division_code):
                raise NotFound("site", site_id)
            cams = [c for c in uow.cameras.find([site_id]) if _reaches(actor, site, c)]
            return self._accounts(uow, site, cams, day, day)

    # ---- the unit's own deadline ------------------------------------------------------------
    def unit_repair_deadline(self, actor: Principal, unit_id: int) -> dict[str, Any]:
        """The unit's own repair deadline (None: the rules'), and the longest the rules allow
        at its sites, with their articles."""
        actor.require(Permission.REGISTRY_READ)
        with self._uow() as uow:
            _unit(uow, actor, unit_id)
            hours = uow.unit_settings.repair_deadline_hours(unit_id)
            limit = self._pack_limit(uow, unit_id)
        return _deadline_out(unit_id, hours, limit)

    def set_unit_repair_deadline(
        self, actor: Principal, unit_id: int, hours: int | None
    ) -> dict[str, Any]:
        """Set (or with None, drop) the unit's own repair deadline: 1..720 h and no longer than
        the rules' at any of its sites; in the operation log."""
        actor.require(Permission.REGISTRY_WRITE)
        action = "unit.repair_deadline.set"
        with (
            refusals_logged(self._uow, self._clock, actor, action, "unit", unit_id,
                            {"repair_deadline_hours": hours}),
            self._uow() as uow,
        ):  # fmt: skip
            _unit(uow, actor, unit_id)
            limit = self._pack_limit(uow, unit_id)
            _check_unit_deadline(hours, limit)
            before = uow.unit_settings.repair_deadline_hours(unit_id)
            uow.unit_settings.set_repair_deadline_hours(unit_id, hours)
            uow.audit.append(
                AuditEvent(self._clock.now(), actor.username, action, "unit", str(unit_id),
                           detail={"repair_deadline_hours": hours, "before": before})
            )  # fmt: skip
            uow.commit()
        return _deadline_out(unit_id, hours, limit)

    def _pack_limit(self, uow: AccountingUnitOfWork, unit_id: int) -> Duty[int]:
        """The shortest of the rules' deadlines at the unit's sites (the product default where
        it has none): the longest the unit may set."""
        duties = [pack_repair_deadline(self._rules, s) for s in uow.sites.find(unit_id)]
        if not duties:
            return Duty(DEFAULT_REPAIR_DEADLINE_HOURS, (), product_default=True,
                        note="the unit has no site yet; Custos's default")  # fmt: skip
        return min(duties, key=lambda d: (d.value, not d.citations))

    def _accounts(
        self, uow: AccountingUnitOfWork, site: Site, cams: list[Camera], first: date, last: date
    ) -> list[DayAccount]:
        now = self._clock.now()
        lo, hi = day_bounds(first)[0], day_bounds(last)[1]
        unit_hours = uow.unit_settings.repair_deadline_hours(site.unit_id)
        deadline = repair_deadline(self._rules, site, unit_hours).value
        out = []
        for cam in cams:
            assert cam.id is not None
            segments = uow.segments.find(cam.id, lo, hi)
            gaps = uow.gaps.find(cam.id, lo, hi)
            faults = uow.camera_faults.find([cam.id], lo, hi)
            out += [account_day(cam.id, d, segments, gaps, faults, now, deadline)
                    for d in days_between(first, last)]  # fmt: skip
        return out


def repair_findings(
    uow: AccountingUnitOfWork, rules: RuleBook, site: Site, now: datetime
) -> list[Finding]:
    """Faults of the site's cameras not repaired within the deadline: open ones, and those
    recovered late in the last :data:`REPAIR_LOOKBACK_DAYS` days."""
    ids = [c.id for c in uow.cameras.find([site.id or 0]) if c.id is not None]
    if not ids:
        return []
    duty = repair_deadline(rules, site, uow.unit_settings.repair_deadline_hours(site.unit_id))
    deadline = timedelta(hours=duty.value)
    faults = uow.camera_faults.find(ids, now - timedelta(days=REPAIR_LOOKBACK_DAYS), now)
    return [_finding(f, duty, now) for f in faults if f.is_overdue(deadline, now)]


def _finding(f: CameraFault, duty: Duty[int], now: datetime) -> Finding:
    hours = round(f.repair_time(now).total_seconds() / 3600, 1)
    state = "ended" if f.recovered_at else "ongoing"
    done = f"repaired after {hours} h" if f.recovered_at else f"unrepaired for {hours} h"
    return Finding(
        code=f"repair.overdue_{state}",
        severity=Severity.VIOLATION,
        subject=f"camera:{f.camera_id}",
        message=(
            f"camera fault ({f.kind.value}: {f.reason}) from {f.started_at.isoformat()} "
            f"{done}, beyond the {duty.value} h repair deadline (restore promptly)"
        ),
        citations=duty.citations,
        params={
            "fault_id": f.id,
            "camera_id": f.camera_id,
            "fault_kind": f.kind.value,
            "fault_reason": f.reason,
            "started_at": f.started_at.isoformat(),
            "hours": hours,
            "deadline_hours": duty.value,
        },
    )


def _unit(uow: AccountingUnitOfWork, actor: Principal, unit_id: int) -> None:
    """The unit, as the registry shows it: a unit-scoped user reaches only their own."""
    scoped = not actor.is_system and actor.role in UNIT_SCOPED_ROLES
    if uow.units.get(unit_id) is None or (scoped and actor.unit_id != unit_id):
        raise NotFound("unit", unit_id)


def _check_unit_deadline(hours: int | None, limit: Duty[int]) -> None:
    if hours is None:
        return
    if not UNIT_DEADLINE_MIN_HOURS <= hours <= UNIT_DEADLINE_MAX_HOURS:
        raise ValidationFailed(
            FieldError("repair_deadline_hours", f"must be between {UNIT_DEADLINE_MIN_HOURS} "
                                                f"and {UNIT_DEADLINE_MAX_HOURS} hours")
        )  # fmt: skip
    if hours > limit.value:
        why = (", ".join(c.human for c in limit.citations) if limit.citations
               else "Custos's default where no pack names one")  # fmt: skip
        raise ValidationFailed(
            FieldError("repair_deadline_hours",
                       f"may only shorten the repair deadline: at most {limit.value} h "
                       f"(restore promptly: {why})")
        )  # fmt: skip


def _deadline_out(unit_id: int, hours: int | None, limit: Duty[int]) -> dict[str, Any]:
    return {
        "unit_id": unit_id,
        "repair_deadline_hours": hours,
        "effective_hours": min(hours, limit.value) if hours is not None else limit.value,
        "rules_deadline": limit.as_dict(),
    }


def _reaches(actor: Principal, site: Site, cam: Camera) -> bool:
    return reaches_site(actor, site.unit_id, site.division_code) and reaches_camera(
        actor, site.unit_id, site.id or 0, cam.id or 0
    )


def _check_days(
    first: date, last: date, now: datetime, names: tuple[str, str] = ("from", "to")
) -> None:
    for name, day in zip(names, (first, last), strict=True):
        if not EARLIEST_DAY <= day <= LATEST_DAY:
            raise ValidationFailed(FieldError(name, f"must be between {EARLIEST_DAY} and "
                                                    f"{LATEST_DAY}"))  # fmt: skip
    errors = []
    if last < first:
        errors.append(FieldError("to", "must not be before from"))
    elif (last - first).days + 1 > MAX_ACCOUNTING_DAYS:
        errors.append(FieldError("to", f"at most {MAX_ACCOUNTING_DAYS} days from from"))
    if day_bounds(first)[0] > now:
        errors.append(FieldError(names[0], "is in the future (a Shanghai date)"))
    if errors:
        raise ValidationFailed(errors)
