"""Re-filing tasks: a change to a filed attribute opens one, with its diff and deadline.

docs/design/filing.md D4, obligations §8 F-01. The registry calls :meth:`FilingChanges.note_change`
in the **same transaction** as every write that can touch a filed attribute (unit, site, camera
create, update, lifecycle step), and the filing service on a filing-profile update. It compares
the site's filed attributes now (the package :mod:`custos.services.filing_assembly` assembles)
with those of the package of the site's last accepted filing (read from the document store by
its hash):

- no accepted filing: nothing (the initial filing is owed anyway);
- a difference and no open task: a ``Filing`` row (the obligation the deadline rules judge) and
  a draft ``FilingCase`` with the diff, its due date and articles (``domain/rules/filings.py``);
- a difference and an open draft or returned task: its diff (and kind) follow, the trigger
  date is kept;
- no difference any more and an open draft task: withdrawn, its ``Filing`` row deleted.

A submitted case (initial or task) is left alone: the bureau decides on what was submitted. A
change that makes the registry differ from its package is noted on it instead
(``changed_since_submission``, the earliest such date); on acceptance
(:meth:`FilingChanges.after_acceptance`, in the accepting transaction) it opens the next task,
dated that day. Every step is in the case's history and the operation log
(``filing.task_open``, ``filing.task_update``, ``filing.task_withdraw``,
``filing.changed_while_submitted``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from datetime import date
from typing import Any, Protocol, cast

from custos.domain.audit import AuditEvent
from custos.domain.calendar import WorkdayCalendar, shanghai_date
from custos.domain.clock import Clock
from custos.domain.divisions import DivisionTable
from custos.domain.errors import CalendarNotCovered
from custos.domain.filing_case import CaseEvent, CaseState, FilingCase, Recipient
from custos.domain.filing_diff import cameras_in, diff, filed_attributes, kind_of
from custos.domain.filing_package import FilingProfile
from custos.domain.registry import Camera, Filing, Site, Unit
from custos.domain.rules import RuleBook
from custos.domain.rules.facts import FilingKind
from custos.domain.rules.terms import FilingTrigger
from custos.domain.users import Principal
from custos.services.filing_assembly import (
    FilingRows,
    Owed,
    assemble_now,
    owed,
    recipient_of,
)
from custos.services.ports import UnitOfWork

TASK_OPEN = "filing.task_open"
TASK_UPDATE = "filing.task_update"
TASK_WITHDRAW = "filing.task_withdraw"
CHANGED_WHILE_SUBMITTED = "filing.changed_while_submitted"
_TRIGGERS = {
    FilingKind.CHANGE: FilingTrigger.CHANGE,
    FilingKind.RELOCATION: FilingTrigger.RELOCATION,
    FilingKind.REMOVAL: FilingTrigger.REMOVAL,
}


class _Cases(Protocol):
    def add(self, case: FilingCase) -> FilingCase: ...
    def update(self, case: FilingCase) -> None: ...
    def find(
        self,
        site_ids: Collection[int] | None = None,
        states: Collection[CaseState] | None = None,
    ) -> list[FilingCase]: ...
    def last_accepted(self, site_id: int) -> FilingCase | None: ...
    def open_task(self, site_id: int) -> FilingCase | None: ...


class _Profiles(Protocol):
    def get(self, site_id: int) -> dict[str, Any] | None: ...


class ChangesUnitOfWork(UnitOfWork, Protocol):
    @property
    def filing_cases(self) -> _Cases: ...
    @property
    def filing_profiles(self) -> _Profiles: ...


#: What the registry is given (``RegistryService(on_change=…)``): called inside its transaction.
OnChange = Callable[[UnitOfWork, int, date, Principal], object]


class FilingChanges:
    def __init__(
        self,
        rules: RuleBook,
        calendar: WorkdayCalendar,
        divisions: DivisionTable,
        clock: Clock,
        read_document: Callable[[str], bytes | None],
    ) -> None:
        self._rules = rules
        self._calendar = calendar
        self._divisions = divisions
        self._clock = clock
        self._read = read_document

    def note_change(
        self, uow: UnitOfWork, site_id: int, on: date, actor: Principal
    ) -> FilingCase | None:
        """Open, update or withdraw the site's re-filing task; the task touched, or None.
        A submitted case of the site that no longer matches the registry is marked with the
        change's date (:meth:`after_acceptance` turns it into a task)."""
        u = cast(ChangesUnitOfWork, uow)
        submitted = u.filing_cases.find([site_id], [CaseState.SUBMITTED])
        accepted = u.filing_cases.last_accepted(site_id)
        site = u.sites.get(site_id)
        if site is None or (accepted is None and not submitted):
            return None
        unit = u.units.get(site.unit_id)
        if unit is None:
            return None
        cameras = u.cameras.find([site_id])
        profile = FilingProfile.from_dict(u.filing_profiles.get(site_id))
        now_package = assemble_now(
            self._rules, self._divisions, unit, site, cameras, profile
        ).package
        for case in submitted:
            self._mark(u, actor, case, now_package, on)
        filed = self._accepted_package(accepted)
        if filed is None:
            return None
        changes = diff(filed_attributes(filed), filed_attributes(now_package))
        left = len(now_package.get("cameras") or [])
        task = u.filing_cases.open_task(site_id)
        if changes and task is None:
            return self._open(u, actor, unit, site, cameras, changes, kind_of(changes, left), on)
        if changes and task is not None and task.state in (CaseState.DRAFT, CaseState.RETURNED):
            return self._update(u, actor, unit, site, cameras, task, changes, left)
        if not changes and task is not None and task.state is CaseState.DRAFT:
            return self._withdraw(u, actor, task)
        return None

    def after_acceptance(self, uow: UnitOfWork, case: FilingCase, actor: Principal) -> None:
        """Call in the accepting transaction, after the accepted case is written: a filed
        attribute that changed while its submission was with the bureau opens (or updates) the
        site's re-filing task, dated the earliest such change. Nothing when nothing changed."""
        on = since_submission(case)
        if case.state is CaseState.ACCEPTED and on is not None:
            self.note_change(uow, case.site_id, on, actor)

    def profile_changed(self, uow: UnitOfWork, actor: Principal, site_id: int) -> None:
        """The filing service's hook: a filing profile was written (units, persons, network)."""
        self.note_change(uow, site_id, shanghai_date(self._clock.now()), actor)

    # ---- the steps --------------------------------------------------------------------------
    def _mark(
        self,
        u: ChangesUnitOfWork,
        actor: Principal,
        case: FilingCase,
        now_package: dict[str, Any],
        on: date,
    ) -> None:
        """Note on a submitted case the earliest date its package stopped matching."""
        submitted = self._package(case)
        if case.latest is None or submitted is None:
            return
        changes = diff(filed_attributes(submitted), filed_attributes(now_package))
        marked = since_submission(case)
        if not changes or (marked is not None and marked <= on):
            return
        case.changed_since_submission = on
        detail = {
            "changed_since_submission": on.isoformat(),
            "submission": case.latest.number,
            "changed": sorted(changes),
        }
        now = self._clock.now()
        case.history.append(CaseEvent("diff", now, actor.user_id, _name(actor), detail))
        u.filing_cases.update(case)
        self._log(u, actor, CHANGED_WHILE_SUBMITTED, case, detail)

    def _open(
        self,
        u: ChangesUnitOfWork,
        actor: Principal,
        unit: Unit,
        site: Site,
        cameras: list[Camera],
        changes: dict[str, Any],
        kind: FilingKind,
        on: date,
    ) -> FilingCase:
        assert site.id is not None
        assert unit.id is not None
        now = self._clock.now()
        recipient = self._recipient(site)
        due = self._owed(unit, site, cameras, kind, on)
        camera_id = _one_camera(changes, cameras)
        row = u.filings.add(
            Filing(
                None,
                site.id,
                kind,
                on,
                None,
                recipient.organ_name or recipient.division_code,
                "",
                note="re-filing task (docs/design/filing.md D4)",
                camera_id=camera_id,
            )
        )
        case = FilingCase(
            id=None,
            site_id=site.id,
            unit_id=unit.id,
            kind=kind,
            filing_id=row.id,
            recipient=recipient,
            state=CaseState.DRAFT,
            opened_at=now,
            trigger_date=on,
            due=due.due,
            citations=due.citations,
            diff=changes,
        )
        case.history.append(
            CaseEvent("open", now, actor.user_id, _name(actor), _detail(kind, changes, on))
        )
        u.filing_cases.add(case)
        self._log(u, actor, TASK_OPEN, case, _detail(kind, changes, on) | {"due": _day(due.due)})
        return case

    def _update(
        self,
        u: ChangesUnitOfWork,
        actor: Principal,
        unit: Unit,
        site: Site,
        cameras: list[Camera],
        task: FilingCase,
        changes: dict[str, Any],
        left: int,
    ) -> FilingCase | None:
        kind = kind_of(changes, left)
        if changes == task.diff and kind is task.kind:
            return None
        now = self._clock.now()
        if kind is not task.kind:
            due = self._owed(unit, site, cameras, kind, task.trigger_date)
            task.kind, task.due, task.citations = kind, due.due, due.citations
            row = _rows(u).get(task.filing_id) if task.filing_id is not None else None
            if row is not None:
                row.kind = kind
                _rows(u).update(row)
        task.diff = changes
        detail = _detail(kind, changes, task.trigger_date)
        task.history.append(CaseEvent("diff", now, actor.user_id, _name(actor), detail))
        u.filing_cases.update(task)
        self._log(u, actor, TASK_UPDATE, task, detail | {"due": _day(task.due)})
        return task

    def _withdraw(self, u: ChangesUnitOfWork, actor: Principal, task: FilingCase) -> FilingCase:
        now = self._clock.now()
        task.move(CaseState.WITHDRAWN)
        detail: dict[str, Any] = {
            "reason": "the change was undone: the filed attributes are as accepted"
        }
        row_id, task.filing_id = task.filing_id, None  # nothing was owed
        detail["filing_deleted"] = row_id
        task.history.append(CaseEvent("withdraw", now, actor.user_id, _name(actor), detail))
        u.filing_cases.update(task)  # first: the case no longer refers to the row
        if row_id is not None:
            _rows(u).delete(row_id)
        self._log(u, actor, TASK_WITHDRAW, task, detail)
        return task

    # ---- helpers ----------------------------------------------------------------------------
    def _accepted_package(self, accepted: FilingCase | None) -> dict[str, Any] | None:
        return None if accepted is None else self._package(accepted)

    def _package(self, case: FilingCase) -> dict[str, Any] | None:
        """The package of the case's latest submission."""
        if case.latest is None:
            return None
        data = self._read(case.latest.package_sha256)
        if data is None:
            return None
        package = json.loads(data.decode("utf-8"))
        return package if isinstance(package, dict) else None

    def _owed(
        self, unit: Unit, site: Site, cameras: list[Camera], kind: FilingKind, on: date
    ) -> Owed:
        """The task's due date and articles. A working-day deadline in a year the calendar does
        not cover has no date (the compliance report says calendar.not_covered): the registry
        write that opened the task is never refused for it."""
        try:
            return owed(self._rules, self._calendar, unit, site, cameras, kind, on)
        except CalendarNotCovered:
            trigger = _TRIGGERS[kind]
            rules = self._rules.filing_rules(site.division_code, trigger, site.public_place_article)
            return Owed(on, None, list(dict.fromkeys(str(r.citation) for r in rules)))

    def _recipient(self, site: Site) -> Recipient:
        found = recipient_of(self._divisions, site)
        return found if found is not None else Recipient(site.division_code, "")

    def _log(
        self,
        u: ChangesUnitOfWork,
        actor: Principal,
        action: str,
        case: FilingCase,
        detail: dict[str, Any],
    ) -> None:
        detail = detail | {"site_id": case.site_id, "kind": case.kind.value}
        u.audit.append(
            AuditEvent(
                self._clock.now(),
                actor.username,
                action,
                "filing_case",
                str(case.id),
                detail=detail,
            )
        )


def since_submission(case: FilingCase) -> date | None:
    """The case's ``changed_since_submission`` if noted while its latest submission was with
    the bureau (a returned case resubmitted carries the change in its new package)."""
    if case.changed_since_submission is None or case.latest is None:
        return None
    noted = [e.detail.get("submission") for e in case.history if e.action == "diff"]
    noted = [n for n in noted if n is not None]
    return case.changed_since_submission if noted and noted[-1] == case.latest.number else None


def _rows(u: UnitOfWork) -> FilingRows:
    return cast(FilingRows, u.filings)  # the SQL repository has the loop's get, update, delete


def _one_camera(changes: dict[str, Any], cameras: list[Camera]) -> int | None:
    codes = cameras_in(changes)
    if len(codes) != 1:
        return None
    return next((c.id for c in cameras if c.address_code == codes[0]), None)


def _detail(kind: FilingKind, changes: dict[str, Any], on: date) -> dict[str, Any]:
    return {"kind": kind.value, "trigger_date": on.isoformat(), "changed": sorted(changes)}


def _day(d: date | None) -> str | None:
    return d.isoformat() if d else None


def _name(actor: Principal) -> str:
    return actor.full_name or actor.username
