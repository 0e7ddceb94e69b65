"""The bureau's supervision console (docs/design/filing.md D5): what a supervising public-security
organ sees of the units and sites in its jurisdiction, read-only.

Every method needs ``SUPERVISE`` and reads only what :mod:`custos.services.supervision_scope`
lets the actor reach (a supervisor with no jurisdiction reaches nothing). The compliance
findings are the compliance service's own (one judge: the filing deadlines of
``domain/rules/filings.py``, the operating findings …); filing cases are filing-core's
(``uow.filing_cases``); camera faults are those the alarm watcher opened (``camera_faults``)
and open camera alarms (offline, gaps, video-quality diagnosis, clock drift).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from datetime import date
from typing import Any

from custos.domain.access import Permission
from custos.domain.accounting import day_bounds
from custos.domain.calendar import shanghai_date
from custos.domain.clock import Clock
from custos.domain.divisions import DivisionTable
from custos.domain.kinds import Severity
from custos.domain.rectification import Notice, overdue_findings
from custos.domain.rules import Finding
from custos.domain.users import Principal
from custos.services import supervision_league as league
from custos.services.compliance import SiteReport
from custos.services.inspection_ports import in_jurisdiction
from custos.services.supervision_lists import (
    camera_lists,
    case_line,
    filing_state,
    notice_line,
    officer_traces,
    site_line,
)
from custos.services.supervision_map import site_map
from custos.services.supervision_scope import (
    Snapshot,
    SupervisionUnitOfWork,
    in_area,
    in_service,
    not_removed,
    reached,
)

#: The groups of ``/supervision/filings?state=``: deadlines from the compliance findings, the
#: rest from the filing cases' states.
FILING_GROUPS = ("due", "overdue", "draft", "submitted", "returned", "accepted")
_DEADLINE = re.compile(r"^filing\.(?P<kind>\w+)\.(?P<outcome>pending|overdue)$")

SiteReporter = Callable[[Principal, int], SiteReport]


class SupervisionService:
    def __init__(
        self,
        uow: Callable[[], SupervisionUnitOfWork],
        site_report: SiteReporter,
        divisions: DivisionTable,
        clock: Clock,
        league_sheet: league.LeagueSheet | None = None,
    ) -> None:
        self._uow = uow
        self._site_report = site_report
        self._divisions = divisions
        self._clock = clock
        self._league_sheet = league_sheet

    # ---- the pages ---------------------------------------------------------------------------
    def overview(self, actor: Principal, division: str | None = None) -> dict[str, Any]:
        """Counts and lists: units and sites, filings, findings, cameras, requests."""
        actor.require(Permission.SUPERVISE)
        snap = self._snapshot(actor, division, filings=True, cameras=True)
        findings = self._findings_of(actor, snap)
        filings = self._filing_groups(snap, findings, None)
        cameras = camera_lists(snap)
        requests = self._officers(snap)
        found = self._finding_lists(snap, findings)
        return {
            **self._header(actor, snap),
            "counts": {
                "units": len(snap.units),
                "sites": len(snap.sites),
                "cameras": sum(1 for cs in snap.cameras.values() for c in cs if not_removed(c)),
                "cameras_in_service": sum(
                    1 for cs in snap.cameras.values() for c in cs if in_service(c)
                ),
                "filings": {g: len(filings[g]) for g in FILING_GROUPS},
                "findings": found["by_severity"],
                "notices_overdue": len(_overdue_notices(snap)),
                "cameras_offline_now": len(cameras["now"]),
                "cameras_faulty_month": len(cameras["month"]),
                "requests": len(requests["requests"]),
                "register_entries": len(requests["register"]),
            },
            "units": self._units(snap),
            "filings": filings,
            "findings": found,
            "cameras": cameras,
            "requests": requests,
        }

    def units(self, actor: Principal, division: str | None = None) -> dict[str, Any]:
        actor.require(Permission.SUPERVISE)
        snap = self._snapshot(actor, division, filings=True)
        return {**self._header(actor, snap), "units": self._units(snap)}

    def filings(
        self, actor: Principal, state: str | None = None, division: str | None = None
    ) -> dict[str, Any]:
        """Filings due, overdue, and the cases by state; ``state`` keeps one group."""
        actor.require(Permission.SUPERVISE)
        snap = self._snapshot(actor, division, filings=True)
        wants_deadlines = state in (None, "due", "overdue")
        findings = self._findings_of(actor, snap) if wants_deadlines else {}
        return {**self._header(actor, snap), **self._filing_groups(snap, findings, state)}

    def findings(self, actor: Principal, division: str | None = None) -> dict[str, Any]:
        """Open compliance findings: counts by severity and by article, and the list."""
        actor.require(Permission.SUPERVISE)
        snap = self._snapshot(actor, division)
        found = self._finding_lists(snap, self._findings_of(actor, snap))
        return {**self._header(actor, snap), **found}

    def cameras(self, actor: Principal, division: str | None = None) -> dict[str, Any]:
        """Cameras offline or faulty now, and those with faults this (Shanghai) month."""
        actor.require(Permission.SUPERVISE)
        snap = self._snapshot(actor, division, cameras=True)
        return {**self._header(actor, snap), **camera_lists(snap)}

    def requests(self, actor: Principal, division: str | None = None) -> dict[str, Any]:
        """Access requests and register entries of the organ's own officers: users whose
        jurisdiction lies inside the supervisor's."""
        actor.require(Permission.SUPERVISE)
        snap = self._snapshot(actor, division)
        return {**self._header(actor, snap), **self._officers(snap)}

    def map(self, actor: Principal, division: str | None = None) -> dict[str, Any]:
        """Sites at their coordinates (else their county's centroid, ``approximate``) and the
        jurisdiction's counties as labelled centroids, for an offline SVG scatter."""
        actor.require(Permission.SUPERVISE)
        snap = self._snapshot(actor, division)
        return {**self._header(actor, snap), **site_map(snap, self._divisions)}

    # ---- the league table ----------------------------------------------------------------------
    def league(self, actor: Principal, division: str | None = None) -> dict[str, Any]:
        actor.require(Permission.SUPERVISE)
        snap = self._snapshot(actor, division)
        findings = self._findings_of(actor, snap)
        today = _today(snap)
        lines = []
        for unit_id, unit in snap.units.items():
            found = [f for s in snap.sites if s.unit_id == unit_id for f in findings[s.id or 0]]
            lines.append(
                league.UnitLine(
                    unit_id,
                    unit.name,
                    unit.credit_code,
                    sum(1 for s in snap.sites if s.unit_id == unit_id),
                    sum(1 for f in found if league.is_open_finding(f)),
                    sum(1 for f in found if league.is_overdue_filing(f)),
                    sum(1 for n in snap.notices if n.unit_id == unit_id and n.overdue(today)),
                )
            )
        return {
            **self._header(actor, snap),
            "weights": {"finding": 1, "overdue": league.OVERDUE_WEIGHT},
            "units": league.ranked(lines),
        }

    def league_csv(self, actor: Principal, language: str, division: str | None = None) -> bytes:
        return league.as_csv(self.league(actor, division)["units"], _lang(language))

    def league_pdf(self, actor: Principal, language: str, division: str | None = None) -> bytes:
        table = self.league(actor, division)
        if self._league_sheet is None:
            raise RuntimeError("no league sheet renderer is wired")
        return self._league_sheet(table["units"], table, _lang(language))

    # ---- reading -------------------------------------------------------------------------------
    def _snapshot(
        self,
        actor: Principal,
        division: str | None,
        filings: bool = False,
        cameras: bool = False,
    ) -> Snapshot:
        now = self._clock.now()
        with self._uow() as uow:
            snap = reached(uow, actor, now, division)
            ids = snap.site_ids
            if filings and ids:
                for f in uow.filings.find(ids):
                    snap.filings.setdefault(f.site_id, []).append(f)
                snap.cases = uow.filing_cases.find(ids)
            cam_ids = list(snap.camera_index)
            if cameras and cam_ids:
                wanted = set(cam_ids)
                snap.open_faults = [
                    f for f in uow.camera_faults.open_faults() if f.camera_id in wanted
                ]
                start = day_bounds(shanghai_date(now).replace(day=1))[0]
                snap.month_faults = uow.camera_faults.find(cam_ids, start, now)
                snap.camera_alarms = uow.alarms.find(open_only=True, camera_ids=cam_ids)
            if snap.units:
                snap.notices = [
                    n
                    for n in uow.rectifications.find(list(snap.units))
                    # every division the notice covers in the actor's jurisdiction and the
                    # area shown, as GET /rectifications decides (in_jurisdiction)
                    if in_jurisdiction(actor, n.division_codes)
                    and all(in_area(snap.area, c) for c in n.division_codes)
                ]
            return snap

    def _officers(self, snap: Snapshot) -> dict[str, Any]:
        with self._uow() as uow:
            return officer_traces(uow, snap, self._clock.now())

    def _findings_of(self, actor: Principal, snap: Snapshot) -> dict[int, list[Finding]]:
        return {s.id or 0: self._site_report(actor, s.id or 0).findings for s in snap.sites}

    def _header(self, actor: Principal, snap: Snapshot) -> dict[str, Any]:
        code = actor.jurisdiction
        area = snap.area
        return {
            "as_of": shanghai_date(snap.now).isoformat(),
            "jurisdiction": None
            if code is None
            else {"code": code, "full_name": self._divisions.full_name(code)},
            "division": None
            if not area
            else {"code": area, "full_name": self._divisions.full_name(area)},
            "system": actor.is_system,
        }

    def _units(self, snap: Snapshot) -> list[dict[str, Any]]:
        out = []
        for unit_id, unit in sorted(snap.units.items(), key=lambda u: (u[1].name, u[0])):
            sites = []
            for s in (s for s in snap.sites if s.unit_id == unit_id):
                cams = snap.cameras.get(s.id or 0, [])
                sites.append(
                    {
                        "id": s.id,
                        "name": s.name,
                        "address": s.address,
                        "division_code": s.division_code,
                        "division_name": self._divisions.full_name(s.division_code),
                        "cameras": sum(1 for c in cams if not_removed(c)),
                        "cameras_in_service": sum(1 for c in cams if in_service(c)),
                        "filing": filing_state(snap, s),
                    }
                )
            out.append(
                {"id": unit_id, "name": unit.name, "credit_code": unit.credit_code, "sites": sites}
            )
        return out

    def _filing_groups(
        self, snap: Snapshot, findings: dict[int, list[Finding]], state: str | None
    ) -> dict[str, list[dict[str, Any]]]:
        groups: dict[str, list[dict[str, Any]]] = {g: [] for g in FILING_GROUPS}
        for site in snap.sites:
            for f in findings.get(site.id or 0, []):
                if (m := _DEADLINE.match(f.code)) is None:
                    continue
                group = "due" if m["outcome"] == "pending" else "overdue"
                groups[group].append(
                    site_line(snap, site)
                    | {"kind": m["kind"], "due": f.due.isoformat() if f.due else None}
                    | {"code": f.code, "rule_ids": f.rule_ids, "message": f.message}
                )
        by_id = {s.id: s for s in snap.sites}
        for case in snap.cases:
            of = by_id.get(case.site_id)
            if case.state.value in groups and of is not None:
                groups[case.state.value].append(site_line(snap, of) | case_line(case))
        return groups if state is None else {state: groups[state]}

    def _finding_lists(self, snap: Snapshot, findings: dict[int, list[Finding]]) -> dict[str, Any]:
        items = []
        severity: Counter[str] = Counter({s.value: 0 for s in Severity})
        article: Counter[str] = Counter()
        lines: list[tuple[dict[str, Any], Finding]] = [
            (site_line(snap, site), f)
            for site in snap.sites
            for f in findings.get(site.id or 0, [])
        ]
        # an overdue rectification notice is a finding on its unit (docs/design/filing.md D6)
        overdue = _overdue_notices(snap)
        found = overdue_findings(overdue, _today(snap))  # one per overdue notice, in order
        lines += [(notice_line(snap, n), f) for n, f in zip(overdue, found, strict=True)]
        for line, f in lines:
            items.append(line | {"finding": f.as_dict()})
            severity[f.severity.value] += 1
            article.update(f.rule_ids)
        return {
            "by_severity": dict(severity),
            "by_article": [{"rule_id": r, "count": n} for r, n in sorted(article.items())],
            "items": items,
        }


def _today(snap: Snapshot) -> date:
    return shanghai_date(snap.now)


def _overdue_notices(snap: Snapshot) -> list[Notice]:
    return [n for n in snap.notices if n.overdue(_today(snap))]


def _lang(language: str) -> str:
    return "en" if language.lower().startswith("en") else "zh"
