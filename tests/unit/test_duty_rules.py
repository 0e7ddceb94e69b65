"""The pure duty rules: shifts on Shanghai dates (across midnight), coverage, report deadlines,
unrelated persons in the monitoring room."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from custos.domain.calendar import SHANGHAI, shanghai_date
from custos.domain.duty import (
    DutySession,
    LogEntry,
    MonitoringRoom,
    PoliceReport,
    ReportChannel,
    RoomEntry,
    RotaEntry,
    Shift,
    is_authorised,
)
from custos.domain.duty_findings import (
    ReportDeadline,
    coverage_findings,
    report_findings,
    uncovered,
    unrelated_person_findings,
)
from custos.domain.rules.citation import Citation
from custos.entrypoints.web.i18n import catalogue

T0 = datetime(2026, 11, 1, tzinfo=UTC)
ROOM = MonitoringRoom(1, 1, 1, "一号监控室", (), ("王工程师",), "manager", T0)
NIGHT = Shift(1, 1, "夜班", time(20), time(8))
DAY = Shift(2, 1, "白班", time(8), time(20))
CITE = (Citation.parse("xian-2020:art22.i2"),)


def sh(day: int, hour: int, minute: int = 0) -> datetime:
    """A Shanghai wall-clock moment in November 2026."""
    return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


def entry(id_: int, at: datetime, suspicious: bool = True, corrects: int | None = None) -> LogEntry:
    return LogEntry(id_, 1, None, at, None, "可疑人员徘徊", suspicious, corrects, "duty", at)


def report(entry_id: int | None, seen: datetime, reported: datetime) -> PoliceReport:
    return PoliceReport(
        None,
        1,
        entry_id,
        seen,
        reported,
        "小寨派出所",
        "",
        ReportChannel.PHONE_110,
        "",
        "x",
        "duty",
        reported,
    )


def test_a_night_shift_crosses_shanghai_midnight_and_belongs_to_the_day_it_starts() -> None:
    start, end = NIGHT.window(date(2026, 11, 20))
    assert NIGHT.crosses_midnight and not DAY.crosses_midnight
    assert start == sh(20, 20) and end == sh(21, 8)
    assert start.astimezone(UTC) == datetime(2026, 11, 20, 12, tzinfo=UTC)
    # 23:50 and 00:10 are two Shanghai dates (the second is still the 20th in UTC) ...
    before, after = sh(20, 23, 50), sh(21, 0, 10)
    assert shanghai_date(before) == date(2026, 11, 20)
    assert shanghai_date(after) == date(2026, 11, 21)
    assert after.astimezone(UTC).day == 20
    # ... but one night shift, the 20th's
    assert NIGHT.day_of(before) == NIGHT.day_of(after) == date(2026, 11, 20)
    assert NIGHT.day_of(sh(21, 8)) is None and DAY.day_of(sh(21, 8)) == date(2026, 11, 21)
    assert NIGHT.day_of(sh(21, 7, 59)) == date(2026, 11, 20)


def test_coverage_counts_the_time_nobody_was_signed_on_and_allows_15_minutes() -> None:
    window = NIGHT.window(date(2026, 11, 20))
    a = DutySession(1, 1, 7, "a", sh(20, 19, 55), sh(21, 0, 10))
    b = DutySession(2, 1, 8, "b", sh(21, 0, 20), None)
    now = sh(21, 9)
    assert uncovered(window, [a, b], now) == timedelta(minutes=10)
    assert uncovered(window, [a], now) == timedelta(hours=7, minutes=50)
    assert uncovered(window, [], now) == timedelta(hours=12)
    assert coverage_findings(ROOM, [NIGHT], [a, b], [date(2026, 11, 20)], CITE, now) == []
    [gap] = coverage_findings(ROOM, [NIGHT], [a], [date(2026, 11, 20)], CITE, now)
    assert gap.code == "duty.coverage.gap" and gap.params["minutes"] == 470
    assert gap.rule_ids == ["xian-2020:art22.i2"] and gap.subject == "room:1"
    # a shift not over yet is not judged; a shift that does not require duty never is
    assert coverage_findings(ROOM, [NIGHT], [], [date(2026, 11, 20)], CITE, sh(21, 7)) == []
    optional = Shift(3, 1, "备班", time(20), time(8), requires_duty=False)
    assert coverage_findings(ROOM, [optional], [], [date(2026, 11, 20)], CITE, now) == []
    # a shift binds from its creation on, never for the days before it existed
    added_later = Shift(4, 1, "夜班", time(20), time(8), created_at=sh(21, 8, 30))
    assert coverage_findings(ROOM, [added_later], [], [date(2026, 11, 20)], CITE, now) == []


def test_a_report_after_the_deadline_is_late_and_none_after_it_is_missing() -> None:
    immediately = ReportDeadline(15, CITE)
    seen = sh(20, 23, 50)
    e1, e2, e3 = entry(1, seen), entry(2, seen), entry(3, seen, suspicious=False)
    on_time = report(1, seen, sh(21, 0, 5))  # 15 min: on time, on the next Shanghai date
    late = report(2, seen, sh(21, 0, 10))  # 20 min
    now = sh(21, 1)
    assert report_findings(ROOM, [e1, e3], [on_time], immediately, now) == []
    [f] = report_findings(ROOM, [e2], [late], immediately, now)
    assert f.code == "duty.report.late" and f.params["delay_minutes"] == 20.0
    assert f.rule_ids == ["xian-2020:art22.i2"] and f.due == date(2026, 11, 21)
    # unreported: missing once the deadline has passed, not before
    assert report_findings(ROOM, [e1], [], immediately, seen + timedelta(minutes=14)) == []
    [m] = report_findings(ROOM, [e1], [], immediately, seen + timedelta(minutes=16))
    assert m.code == "duty.report.missing"
    # no pack requires a report: nothing is judged
    assert report_findings(ROOM, [e1], [late], ReportDeadline(None), now) == []


def test_a_correction_replaces_the_entry_it_corrects() -> None:
    deadline = ReportDeadline(60, CITE)
    seen = sh(20, 10)
    wrong = entry(1, seen)
    not_suspicious = entry(2, seen, suspicious=False, corrects=1)
    now = sh(20, 15)
    assert report_findings(ROOM, [wrong, not_suspicious], [], deadline, now) == []
    still = entry(3, seen, corrects=1)
    reported = report(1, seen, sh(20, 10, 30))  # the report named the first entry
    assert report_findings(ROOM, [wrong, still], [reported], deadline, now) == []
    assert [f.code for f in report_findings(ROOM, [wrong, still], [], deadline, now)] == [
        "duty.report.missing"
    ]


def test_only_persons_neither_on_the_rota_nor_listed_are_unrelated() -> None:
    rota = [
        RotaEntry(1, 1, 1, date(2026, 11, 20), 7, "李值班"),
        RotaEntry(2, 1, 1, date(2026, 11, 20), None, "赵保安"),
    ]
    assert is_authorised("王工程师", None, ROOM, rota)  # listed for the room
    assert is_authorised("任意", 7, ROOM, rota)  # a user on the rota
    assert is_authorised(" 赵保安 ", None, ROOM, rota)  # named staff on the rota
    assert not is_authorised("张三", None, ROOM, rota)
    at = sh(20, 11)
    entries = [
        RoomEntry(1, 1, "王工程师", "维保公司", "检修", at, None, "duty", 7, True),
        RoomEntry(2, 1, "张三", "", "参观", at, None, "duty", 7, False),
    ]
    [f] = unrelated_person_findings(ROOM, entries, CITE)
    assert f.code == "duty.room.unrelated_person" and f.params["person"] == "张三"
    assert f.rule_ids == ["xian-2020:art22.i2"]


def test_every_duty_finding_and_refusal_key_is_in_both_catalogues() -> None:
    src = Path(__file__).resolve().parents[2] / "src" / "custos"
    files = [
        "domain/duty.py",
        "services/duty.py",
        "services/duty_rota.py",
        "services/monitoring_room.py",
        "services/police_reports.py",
    ]
    keys = {
        f"msg.{k}"
        for f in files
        for k in re.findall(r'key="(refusal\.duty\.\w+)"', (src / f).read_text())
    }
    assert len(keys) >= 20
    codes = (
        "duty.report.missing",
        "duty.report.late",
        "duty.room.unrelated_person",
        "duty.coverage.gap",
    )
    keys |= {f"msg.finding.{c}" for c in codes}
    keys |= {f"enum.report_channel.{c.value}" for c in ReportChannel}
    for lang in ("zh_CN", "en"):
        assert keys - set(catalogue(lang)) == set(), lang
