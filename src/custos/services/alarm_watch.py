"""The alarm watcher: every camera that should record is watched, and so is every open network
interruption (issue 14 §1; docs/design/operations.md, the table of alarm sources).

``AlarmWatch.tick()`` runs in the server's housekeeper (every 5 s). It reads the recorder's health
board, each camera's last sealed segment and the open interruptions, judges them
(:mod:`custos.domain.camera_watch`), and

- opens a *camera fault* when a camera's trouble outlasts its grace, and recovers it when the
  camera records again (the interruption accounting reads them);
- raises ``camera_offline`` / ``recording_gap`` (critical, ``camera:<id>``) and clears them on
  recovery; raises ``repair_overdue`` once a fault is open longer than the unit's repair
  deadline (Chongqing art. 20(6), Xi'an art. 22(6): restore promptly);
- raises ``network_interruption`` (``site:<id>:interruption:<id>``, reaching the site's unit) at 48 h (warning) and 72 h or past
  the limit (critical, Xi'an art. 26 ¶2 cited), cleared when the interruption is ended.

Alarms go through :class:`~custos.services.alarms.AlarmService` (one open alarm per kind and
subject); an alarm already open at the same severity is not raised again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from custos.domain.accounting import CameraFault, FaultKind
from custos.domain.alarms import Alarm, AlarmKind, Severity, site_subject
from custos.domain.audit import AuditEvent
from custos.domain.camera_watch import (
    GAP_SEGMENTS,
    LastSeal,
    Sealed,
    Trouble,
    interruption_severity,
    judge_camera,
)
from custos.domain.clock import Clock
from custos.domain.network_interruption import NetworkInterruption, limit_status
from custos.domain.registry import RECORDING_STATES, Camera, Site
from custos.domain.rules import RuleBook
from custos.services.alarms import AlarmService
from custos.services.interruption_accounting import CameraFaults, UnitSettings, repair_deadline
from custos.services.network_interruptions import NetworkInterruptions
from custos.services.ports import Alarms, RecordingUnitOfWork

WATCHER = "alarm-watch"
CAMERA_KINDS = {FaultKind.OFFLINE: AlarmKind.CAMERA_OFFLINE, FaultKind.GAP: AlarmKind.RECORDING_GAP}
WATCHED_KINDS = frozenset(
    {*CAMERA_KINDS.values(), AlarmKind.REPAIR_OVERDUE, AlarmKind.NETWORK_INTERRUPTION}
)
MAX_OPEN = 100_000


class RecentSeals(Protocol):
    def latest_since(self, cutoff: datetime) -> dict[int, LastSeal]: ...


class WatchUnitOfWork(RecordingUnitOfWork, Protocol):
    @property
    def camera_faults(self) -> CameraFaults: ...
    @property
    def recent_seals(self) -> RecentSeals: ...
    @property
    def network_interruptions(self) -> NetworkInterruptions: ...
    @property
    def alarms(self) -> Alarms: ...
    @property
    def unit_settings(self) -> UnitSettings: ...


@dataclass(frozen=True)
class Wanted:
    """An alarm the watcher wants open now."""

    kind: AlarmKind
    severity: Severity
    subject: str
    message: str
    detail: dict[str, Any]
    camera_id: int | None = None


@dataclass
class WatchReport:
    raised: list[Wanted] = field(default_factory=list)
    cleared: list[tuple[AlarmKind, str]] = field(default_factory=list)
    faults_opened: list[int] = field(default_factory=list)  # camera ids
    faults_recovered: list[int] = field(default_factory=list)


class AlarmWatch:
    def __init__(
        self,
        uow: Callable[[], WatchUnitOfWork],
        alarms: AlarmService,
        rules: RuleBook,
        clock: Clock,
        grace_s: int,
        segment_s: int,
    ) -> None:
        self._uow = uow
        self._alarms = alarms
        self._rules = rules
        self._clock = clock
        self._grace = timedelta(seconds=grace_s)
        self._segment_s = segment_s
        self._missing: dict[int, datetime] = {}  # camera id -> when first seen without health

    def tick(self) -> WatchReport:
        now = self._clock.now()
        report = WatchReport()
        with self._uow() as uow:
            sites = {s.id: s for s in uow.sites.find() if s.id is not None}
            watched = [c for c in uow.cameras.find() if _should_record(c)]
            troubles = self._troubles(uow, watched, now)
            faults = self._update_faults(uow, troubles, now, report)
            open_alarms = [a for a in uow.alarms.find(True, MAX_OPEN) if a.kind in WATCHED_KINDS]
            interruptions = uow.network_interruptions.find(list(sites))
            unit_deadlines = uow.unit_settings.repair_deadlines()
            uow.commit()
        site_of = {c.id: sites[c.site_id] for c in watched if c.site_id in sites}
        wanted = [_camera_alarm(cid, t) for cid, t in troubles.items()]
        wanted += self._overdue(faults, site_of, unit_deadlines, now)
        wanted += self._interruptions(interruptions, sites, now)
        self._apply(wanted, open_alarms, report)
        return report

    # ---- judging ----------------------------------------------------------------------------
    def _troubles(
        self, uow: WatchUnitOfWork, cams: list[Camera], now: datetime
    ) -> dict[int, Trouble]:
        health = {h.camera_id: h for h in uow.health.find()}
        ids = {c.id for c in cams if c.id is not None}
        for gone in set(self._missing) - ids:
            del self._missing[gone]
        window = timedelta(seconds=GAP_SEGMENTS * self._segment_s + 60)
        recent = uow.recent_seals.latest_since(now - window)
        out: dict[int, Trouble] = {}
        for cid in sorted(ids):
            h = health.get(cid)
            noticed = self._missing.setdefault(cid, now) if h is None else now
            if h is not None:
                self._missing.pop(cid, None)
            # older than the window, or never: read only for these (a camera in trouble)
            last: Sealed | None = recent.get(cid) or uow.segments.last_of(cid)
            trouble = judge_camera(h, last, now, self._grace, self._segment_s, noticed)
            if trouble is not None:
                out[cid] = trouble
        return out

    def _update_faults(
        self, uow: WatchUnitOfWork, troubles: dict[int, Trouble], now: datetime, r: WatchReport
    ) -> list[CameraFault]:
        """Open a fault for each new trouble, recover those whose camera records again."""
        open_faults = {f.camera_id: f for f in uow.camera_faults.open_faults()}
        still: list[CameraFault] = []
        for cid, f in open_faults.items():
            if cid in troubles:
                still.append(f)
                continue
            assert f.id is not None
            h = uow.health.get(cid)
            at = h.since if h is not None and f.started_at < h.since <= now else now
            uow.camera_faults.recover(f.id, at)
            r.faults_recovered.append(cid)
            detail = {"fault_id": f.id, "kind": f.kind.value, "started_at": f.started_at.isoformat(),
                      "recovered_at": at.isoformat()}  # fmt: skip
            uow.audit.append(
                AuditEvent(now, WATCHER, "camera_fault.recover", "camera", str(cid), detail=detail)
            )
        for cid, t in troubles.items():
            if cid in open_faults:
                continue
            f = uow.camera_faults.add(CameraFault(None, cid, t.kind, min(t.since, now), None,
                                                  t.reason, t.message))  # fmt: skip
            still.append(f)
            r.faults_opened.append(cid)
            opened = {"fault_id": f.id, "kind": t.kind.value, "reason": t.reason,
                      "started_at": f.started_at.isoformat()}  # fmt: skip
            uow.audit.append(
                AuditEvent(now, WATCHER, "camera_fault.open", "camera", str(cid), detail=opened)
            )
        return still

    def _overdue(
        self, faults: Sequence[CameraFault], site_of: dict[int | None, Site],
        unit_deadlines: dict[int, int], now: datetime,
    ) -> list[Wanted]:  # fmt: skip
        out = []
        for f in faults:
            site = site_of.get(f.camera_id)
            if site is None:
                continue
            duty = repair_deadline(self._rules, site, unit_deadlines.get(site.unit_id))
            hours = duty.value
            if not f.is_overdue(timedelta(hours=hours), now):
                continue
            message = (
                f"camera fault ({f.kind.value}: {f.reason}) open since "
                f"{f.started_at.isoformat()}, longer than the {hours} h repair deadline"
            )
            detail = {"fault_id": f.id, "started_at": f.started_at.isoformat(),
                      "deadline_hours": hours, "product_default": duty.product_default,
                      "note": duty.note,
                      "rule_ids": duty.rule_ids, "articles": [c.human for c in duty.citations]}  # fmt: skip
            out.append(Wanted(AlarmKind.REPAIR_OVERDUE, Severity.CRITICAL, f"camera:{f.camera_id}",
                              message, detail, f.camera_id))  # fmt: skip
        return out

    def _interruptions(
        self, found: Sequence[NetworkInterruption], sites: dict[int, Site], now: datetime
    ) -> list[Wanted]:
        out = []
        for i in found:
            site = sites.get(i.site_id)
            if site is None or i.ended_at is not None:
                continue
            limit = self._rules.effective(
                site.division_code, site.public_place_article
            ).max_network_interruption_days
            status = limit_status(i, limit, now)
            severity = interruption_severity(i, status, now)
            if severity is None:
                continue
            hours = round(i.length(now).total_seconds() / 3600, 1)
            message = (
                f"{i.carrier} has interrupted site {i.site_id}'s network ({i.cause.value}) "
                f"for {hours} h"
            )
            detail = {**status.as_dict(), "interruption_id": i.id, "site_id": i.site_id,
                      "hours": hours, "articles": [c.human for c in limit.citations]
                      if status.limited else []}  # fmt: skip
            out.append(Wanted(AlarmKind.NETWORK_INTERRUPTION, severity, site_subject(i.site_id, f"interruption:{i.id}"),
                              message, detail))  # fmt: skip
        return out

    # ---- raising and clearing ---------------------------------------------------------------
    def _apply(self, wanted: list[Wanted], open_alarms: list[Alarm], r: WatchReport) -> None:
        is_open = {(a.kind, a.subject, a.severity) for a in open_alarms}
        keep = {(w.kind, w.subject) for w in wanted}
        for w in wanted:
            if (w.kind, w.subject, w.severity) in is_open:
                continue
            self._alarms.raise_(w.kind, w.severity, w.subject, w.message, w.detail, w.camera_id)
            r.raised.append(w)
        for a in open_alarms:
            if (a.kind, a.subject) not in keep and self._alarms.clear(a.kind, a.subject):
                r.cleared.append((a.kind, a.subject))


def _should_record(c: Camera) -> bool:
    """As the recorder decides (``RecordingService.targets``): in service, with a main stream."""
    return c.id is not None and c.main_stream is not None and c.state in RECORDING_STATES


def _camera_alarm(camera_id: int, t: Trouble) -> Wanted:
    detail = {"reason": t.reason, "since": t.since.isoformat()}
    return Wanted(CAMERA_KINDS[t.kind], Severity.CRITICAL, f"camera:{camera_id}", t.message,
                  detail, camera_id)  # fmt: skip
