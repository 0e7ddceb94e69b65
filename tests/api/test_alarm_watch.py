"""The alarm watcher driven by the recorder's health rows under a manual clock: a camera offline
raises an alarm after the grace and not before, a stale or missing health row means the
recorder is down, recovery clears it, nothing is raised twice; a recording camera that seals
nothing is a gap; an open network interruption warns at 48 h and is critical at 72 h (Xi'an
art. 26 ¶2 cited); a fault open past the repair deadline is an alarm and a compliance finding
citing "restore promptly" (Xi'an art. 22(6))."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from custos.bootstrap import Container
from custos.domain.access import Role
from custos.domain.alarms import Alarm, AlarmKind, Severity
from custos.domain.calendar import shanghai_date
from custos.domain.clock import ManualClock
from custos.domain.errors import NotFound
from custos.domain.network_interruption import InterruptionCause
from custos.domain.recording import CameraHealth, OfflineReason, RecorderState, Segment
from custos.domain.users import SYSTEM, Principal
from custos.entrypoints.web.messages import localize_finding
from custos.services.alarm_delivery import unit_of
from custos.services.network_interruptions import InterruptionInput
from tests.api.builders import API, camera_body, make_site, make_unit

XIAN = "610113"
IN_SERVICE = [
    {"state": "design_reviewed", "on": "2026-09-01"},
    {"state": "built", "on": "2026-09-10"},
    {"state": "accepted", "on": "2026-09-20"},
    {"state": "in_service", "on": "2026-10-01"},
]


@pytest.fixture
def backend() -> str:
    return "sqlite"  # the watcher's logic; tests/api/test_accounting.py runs both databases


def _camera(client: TestClient, admin: dict[str, str], serial: int = 1) -> tuple[int, int]:
    unit = make_unit(client, admin, serial)
    site = make_site(client, admin, unit, XIAN, name=f"Site {serial}")
    body = camera_body(site, XIAN, serial=serial, history=IN_SERVICE)
    r = client.post(f"{API}/cameras", json=body, headers=admin)
    assert r.status_code == 201, r.text
    return site, int(r.json()["id"])


def _health(c: Container, cid: int, state: RecorderState, since: datetime | None = None,
            reason: OfflineReason | None = None) -> None:  # fmt: skip
    """The recorder's report, made now (the state began at ``since``, default now)."""
    now = c.clock.now()
    c.recording.publish_health([
        CameraHealth(cid, state, reason, "connection refused" if reason else "", since or now,
                     None, None, None, now)
    ])  # fmt: skip


def _seal(c: Container, cid: int, seq: int) -> None:
    end = c.clock.now()
    start = end - timedelta(seconds=60)
    c.recording.seal(Segment(None, cid, "run", seq, f"{cid}/run/{seq:06d}.mp4", start, end, 60.0,
                             1000, "0" * 64, "h264", 320, 240, end))  # fmt: skip


def _open(c: Container, kind: AlarmKind | None = None) -> list[Alarm]:
    found = c.alarms.find(SYSTEM, open_only=True)
    return [a for a in found if kind is None or a.kind is kind]


def _wait(c: Container, clock: ManualClock, seconds: float, cid: int, state: RecorderState,
          since: datetime, reason: OfflineReason | None = None) -> None:  # fmt: skip
    """Let time pass with the recorder reporting every 5 s (it does every ~2 s)."""
    while seconds > 0:
        step = min(5.0, seconds)
        clock.advance(timedelta(seconds=step))
        seconds -= step
        _health(c, cid, state, since, reason)


def test_a_camera_offline_alarms_after_the_grace_not_before_once_and_clears_on_recovery(
    container: Container, client: TestClient, admin: dict[str, str], clock: ManualClock
) -> None:
    c = container
    _, cid = _camera(client, admin)
    t0 = clock.now()
    _health(c, cid, RecorderState.OFFLINE, t0, OfflineReason.UNREACHABLE)
    _wait(c, clock, 55, cid, RecorderState.OFFLINE, t0, OfflineReason.UNREACHABLE)
    assert not c.alarm_watch.tick().raised and _open(c) == []  # 55 s < the 60 s grace
    _wait(c, clock, 10, cid, RecorderState.OFFLINE, t0, OfflineReason.UNREACHABLE)
    report = c.alarm_watch.tick()
    [alarm] = _open(c)
    assert (alarm.kind, alarm.severity, alarm.subject, alarm.camera_id) == (
        AlarmKind.CAMERA_OFFLINE, Severity.CRITICAL, f"camera:{cid}", cid)  # fmt: skip
    assert "unreachable" in alarm.message and report.faults_opened == [cid]
    _wait(c, clock, 5, cid, RecorderState.OFFLINE, t0, OfflineReason.UNREACHABLE)
    assert not c.alarm_watch.tick().raised and [a.id for a in _open(c)] == [alarm.id]
    clock.advance(timedelta(seconds=5))
    _health(c, cid, RecorderState.RECORDING)
    report = c.alarm_watch.tick()
    assert report.cleared == [(AlarmKind.CAMERA_OFFLINE, f"camera:{cid}")] and _open(c) == []
    assert report.faults_recovered == [cid]
    today = shanghai_date(clock.now())
    [account] = c.accounting.camera(SYSTEM, cid, today, today)
    [fault] = account.faults
    assert fault.fault.reason == "unreachable" and fault.fault.recovered_at == clock.now()
    assert fault.fault.repair_time(clock.now()) == timedelta(seconds=75)


def test_a_stale_or_missing_health_row_means_the_recorder_is_down(
    container: Container, client: TestClient, admin: dict[str, str], clock: ManualClock
) -> None:
    c = container
    _, reported = _camera(client, admin, 1)
    _, never = _camera(client, admin, 2)
    _health(c, reported, RecorderState.RECORDING)
    assert c.alarm_watch.tick().raised == []  # the never-reported camera is noticed now
    clock.advance(timedelta(seconds=59))
    assert c.alarm_watch.tick().raised == []
    clock.advance(timedelta(seconds=2))
    c.alarm_watch.tick()
    by_camera = {a.camera_id: a for a in _open(c, AlarmKind.CAMERA_OFFLINE)}
    assert set(by_camera) == {reported, never}
    assert "has not reported since" in by_camera[reported].message
    assert by_camera[reported].detail["reason"] == "recorder_down"
    assert by_camera[never].detail["reason"] == "not_reported"


def test_recording_without_a_sealed_segment_for_three_lengths_is_a_gap(
    container: Container, client: TestClient, admin: dict[str, str], clock: ManualClock
) -> None:
    c = container
    _, cid = _camera(client, admin)
    t0 = clock.now()
    _health(c, cid, RecorderState.RECORDING, t0)
    _seal(c, cid, 0)
    _wait(c, clock, 175, cid, RecorderState.RECORDING, t0)  # 3 × 60 s segments = 180 s
    assert c.alarm_watch.tick().raised == []
    _wait(c, clock, 10, cid, RecorderState.RECORDING, t0)
    c.alarm_watch.tick()
    [gap] = _open(c)
    assert gap.kind is AlarmKind.RECORDING_GAP and "no segment sealed" in gap.message
    _seal(c, cid, 1)
    assert c.alarm_watch.tick().cleared == [(AlarmKind.RECORDING_GAP, f"camera:{cid}")]


def test_an_open_network_interruption_warns_at_48_h_and_is_critical_at_72_h_citing_xian(
    container: Container,
    client: TestClient,
    admin: dict[str, str],
    clock: ManualClock,
) -> None:
    c = container
    unit = make_unit(client, admin, 9)
    site = make_site(client, admin, unit, XIAN, name="No cameras")
    other = make_unit(client, admin, 10)
    data = InterruptionInput(InterruptionCause.MUNICIPAL_WORKS, "中国电信西安分公司", clock.now())
    judged = c.network.record(SYSTEM, site, data)
    subject = f"site:{site}:interruption:{judged.interruption.id}"
    clock.advance(timedelta(hours=47))
    c.alarm_watch.tick()
    assert _open(c) == []
    clock.advance(timedelta(hours=2))
    c.alarm_watch.tick()
    [warn] = _open(c)
    assert (warn.kind, warn.severity, warn.subject) == (
        AlarmKind.NETWORK_INTERRUPTION, Severity.WARNING, subject)  # fmt: skip
    # about the whole site, it reaches the site's unit: its operators see it, others do not
    ours = Principal(user_id=901, username="op-ours", role=Role.OPERATOR, unit_id=unit)
    theirs = Principal(user_id=902, username="op-theirs", role=Role.OPERATOR, unit_id=other)
    assert [a.subject for a in c.alarms.find(ours)] == [subject]
    assert warn.id is not None and c.alarms.get(ours, warn.id).subject == subject
    assert c.alarms.find(theirs) == []
    with pytest.raises(NotFound):
        c.alarms.get(theirs, warn.id)
    with c.uow() as uow:  # and its unit's channels and rota
        assert unit_of(uow, warn) == unit
    clock.advance(timedelta(hours=24))
    c.alarm_watch.tick()
    [crit] = _open(c)
    assert crit.severity is Severity.CRITICAL and crit.id != warn.id
    assert "xian-2020:art26.p2" in crit.detail["rule_ids"] and crit.detail["articles"]
    assert judged.interruption.id is not None
    c.network.end(SYSTEM, judged.interruption.id, clock.now())
    assert c.alarm_watch.tick().cleared == [(AlarmKind.NETWORK_INTERRUPTION, subject)]


def test_a_fault_open_past_the_repair_deadline_is_an_alarm_and_a_finding_citing_xian_22_6(
    container: Container, client: TestClient, admin: dict[str, str], clock: ManualClock
) -> None:
    c = container
    site, cid = _camera(client, admin)
    t0 = clock.now()
    _health(c, cid, RecorderState.OFFLINE, t0, OfflineReason.AUTH_FAILED)
    clock.advance(timedelta(seconds=61))
    _health(c, cid, RecorderState.OFFLINE, t0, OfflineReason.AUTH_FAILED)
    c.alarm_watch.tick()
    assert _open(c, AlarmKind.REPAIR_OVERDUE) == []
    clock.advance(timedelta(hours=24))
    _health(c, cid, RecorderState.OFFLINE, t0, OfflineReason.AUTH_FAILED)
    c.alarm_watch.tick()
    [overdue] = _open(c, AlarmKind.REPAIR_OVERDUE)
    assert overdue.severity is Severity.CRITICAL and overdue.camera_id == cid
    assert "xian-2020:art22.i6" in overdue.detail["rule_ids"]
    assert overdue.detail["deadline_hours"] == 24
    findings = c.compliance.site_report(SYSTEM, site).findings
    [finding] = [f for f in findings if f.code == "repair.overdue_ongoing"]
    assert "xian-2020:art22.i6" in finding.rule_ids and finding.subject == f"camera:{cid}"
    zh = localize_finding(finding.as_dict(), "zh_CN")["text"]
    assert "认证失败" in zh and "24 小时的维修时限" in zh, zh
    clock.advance(timedelta(seconds=5))
    _health(c, cid, RecorderState.RECORDING)
    c.alarm_watch.tick()
    assert _open(c) == []
    codes = [f.code for f in c.compliance.site_report(SYSTEM, site).findings]
    assert "repair.overdue_ended" in codes and "repair.overdue_ongoing" not in codes


def test_a_unit_with_a_4_h_deadline_has_its_fault_overdue_after_4_h(
    container: Container, client: TestClient, admin: dict[str, str], clock: ManualClock
) -> None:
    """The unit's own deadline, shorter than Xi'an's 24 h, decides the alarm and the finding
    (which still cite art. 22(6))."""
    c = container
    site, cid = _camera(client, admin)
    unit = client.get(f"{API}/sites/{site}", headers=admin).json()["unit_id"]
    r = client.put(f"{API}/units/{unit}/repair-deadline", json={"repair_deadline_hours": 4},
                   headers=admin)  # fmt: skip
    assert r.status_code == 200, r.text
    t0 = clock.now()
    _health(c, cid, RecorderState.OFFLINE, t0, OfflineReason.AUTH_FAILED)
    clock.advance(timedelta(seconds=61))
    _health(c, cid, RecorderState.OFFLINE, t0, OfflineReason.AUTH_FAILED)
    c.alarm_watch.tick()
    clock.advance(timedelta(hours=3, minutes=58))  # 3 h 59 min open: not yet
    _health(c, cid, RecorderState.OFFLINE, t0, OfflineReason.AUTH_FAILED)
    c.alarm_watch.tick()
    assert _open(c, AlarmKind.REPAIR_OVERDUE) == []
    assert not [f for f in c.compliance.site_report(SYSTEM, site).findings
                if f.code.startswith("repair.")]  # fmt: skip
    clock.advance(timedelta(minutes=2))
    _health(c, cid, RecorderState.OFFLINE, t0, OfflineReason.AUTH_FAILED)
    c.alarm_watch.tick()
    [overdue] = _open(c, AlarmKind.REPAIR_OVERDUE)
    assert overdue.detail["deadline_hours"] == 4
    assert "xian-2020:art22.i6" in overdue.detail["rule_ids"]
    [finding] = [f for f in c.compliance.site_report(SYSTEM, site).findings
                 if f.code == "repair.overdue_ongoing"]  # fmt: skip
    assert finding.params["deadline_hours"] == 4 and "xian-2020:art22.i6" in finding.rule_ids
    day = shanghai_date(clock.now()).isoformat()
    acct = client.get(f"{API}/cameras/{cid}/accounting?day={day}", headers=admin).json()
    assert acct["days"][0]["repair_deadline_h"] == 4
