"""The compliance judgements on duty records: gaps in duty coverage, police reports missing or
late, unrelated persons in the monitoring room. Pure functions of the records and the duties in
force (``EffectiveRules.operating``); the articles come with the duties.

A deadline in minutes counts from the moment the suspicious information was seen. Where no pack
requires a report (the deadline is None) nothing is judged.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from custos.domain.calendar import shanghai_date
from custos.domain.duty import DutySession, LogEntry, MonitoringRoom, PoliceReport, RoomEntry, Shift
from custos.domain.kinds import Severity
from custos.domain.rules.citation import Citation
from custos.domain.rules.facts import Finding

#: A shift counts as covered when the time nobody was signed on is at most this long.
COVERAGE_TOLERANCE = timedelta(minutes=15)


@dataclass(frozen=True)
class ReportDeadline:
    """How long after seeing suspicious information the report is due; ``minutes`` None where
    the texts say only "promptly" (及时) and set no number."""

    minutes: int | None
    citations: tuple[Citation, ...] = ()

    def due(self, seen_at: datetime) -> datetime | None:
        return None if self.minutes is None else seen_at + timedelta(minutes=self.minutes)


def report_findings(
    room: MonitoringRoom,
    entries: Sequence[LogEntry],
    reports: Sequence[PoliceReport],
    deadline: ReportDeadline,
    now: datetime,
) -> list[Finding]:
    """A suspicious entry with no report past the deadline is missing; a report after the
    deadline is late. A corrected entry is judged by its latest correction, and a report of
    either counts."""
    corrected = {e.corrects for e in entries if e.corrects is not None}
    by_entry = {r.entry_id: r for r in reports if r.entry_id is not None}
    findings: list[Finding] = []
    for entry in entries:
        if entry.id in corrected or not entry.suspicious:
            continue
        report = by_entry.get(entry.id or 0) or by_entry.get(entry.corrects or 0)
        due = deadline.due(entry.at)
        if report is None:
            if due is not None and due < now:
                findings.append(_report_finding("missing", room, entry, None, due, deadline))
        elif due is not None and report.reported_at > due:
            findings.append(_report_finding("late", room, entry, report, due, deadline))
    for report in reports:
        due = deadline.due(report.seen_at)
        if report.entry_id is None and due is not None and report.reported_at > due:
            findings.append(_report_finding("late", room, None, report, due, deadline))
    return findings


def _report_finding(
    what: str,
    room: MonitoringRoom,
    entry: LogEntry | None,
    report: PoliceReport | None,
    due: datetime | None,
    deadline: ReportDeadline,
) -> Finding:
    seen = entry.at if entry is not None else report.seen_at if report is not None else None
    assert seen is not None
    params: dict[str, Any] = {
        "room": room.name,
        "seen_at": seen.isoformat(),
        "due": due.isoformat() if due else None,
        "deadline_minutes": deadline.minutes,
        "entry_id": entry.id if entry else None,
    }
    if report is not None:
        params |= {"report_id": report.id, "reported_at": report.reported_at.isoformat(),
                   "delay_minutes": round(report.delay.total_seconds() / 60, 1)}  # fmt: skip
        message = (
            f"Suspicious information seen in {room.name} at {seen.isoformat()} was reported to "
            f"the police at {report.reported_at.isoformat()}, after the deadline"
        )
    else:
        message = (
            f"Suspicious information seen in {room.name} at {seen.isoformat()} has not been "
            f"reported to the police"
        )
    return Finding(
        code=f"duty.report.{what}",
        severity=Severity.VIOLATION,
        subject=f"room:{room.id}",
        message=message,
        citations=deadline.citations,
        due=shanghai_date(due) if due else None,
        params=params,
    )


def unrelated_person_findings(
    room: MonitoringRoom, entries: Sequence[RoomEntry], citations: tuple[Citation, ...]
) -> list[Finding]:
    return [
        Finding(
            code="duty.room.unrelated_person",
            severity=Severity.VIOLATION,
            subject=f"room:{room.id}",
            message=(
                f"{e.person_name} ({e.organisation or '-'}), not authorised for {room.name}, "
                f"entered at {e.entered_at.isoformat()}, let in by {e.let_in_by}"
            ),
            citations=citations,
            params={
                "room": room.name,
                "person": e.person_name,
                "entered_at": e.entered_at.isoformat(),
                "let_in_by": e.let_in_by,
                "entry_id": e.id,
            },
        )
        for e in entries
        if not e.authorised
    ]


def uncovered(
    window: tuple[datetime, datetime], sessions: Iterable[DutySession], now: datetime
) -> timedelta:
    """How long within ``window`` (up to ``now``) nobody was signed on."""
    start, end = window[0], min(window[1], now)
    if end <= start:
        return timedelta(0)
    spans = sorted((max(s.signed_on_at, start), min(s.signed_off_at or now, end)) for s in sessions)
    gap, cursor = timedelta(0), start
    for a, b in spans:
        if b <= a:
            continue
        if a > cursor:
            gap += a - cursor
        cursor = max(cursor, b)
    return gap + max(end - cursor, timedelta(0))


def coverage_findings(
    room: MonitoringRoom,
    shifts: Sequence[Shift],
    sessions: Sequence[DutySession],
    days: Sequence[date],
    citations: tuple[Citation, ...],
    now: datetime,
) -> list[Finding]:
    """Each shift of ``days`` that required duty and ended with nobody signed on for longer than
    the tolerance is a gap in coverage."""
    findings: list[Finding] = []
    for day in days:
        for shift in shifts:
            start, end = shift.window(day)
            since = max(room.created_at, shift.created_at or room.created_at)
            if not shift.requires_duty or end > now or start < since:
                continue
            gap = uncovered((start, end), sessions, now)
            if gap > COVERAGE_TOLERANCE:
                minutes = int(gap.total_seconds() // 60)
                findings.append(
                    Finding(
                        code="duty.coverage.gap",
                        severity=Severity.VIOLATION,
                        subject=f"room:{room.id}",
                        message=(
                            f"Nobody was signed on in {room.name} for {minutes} min of the "
                            f"{shift.name} shift of {day.isoformat()}"
                        ),
                        citations=citations,
                        due=day,
                        params={
                            "room": room.name,
                            "shift": shift.name,
                            "day": day.isoformat(),
                            "minutes": minutes,
                        },
                    )
                )
    return findings
