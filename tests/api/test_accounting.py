"""The interruption accounting over HTTP, on SQLite and PostgreSQL: a camera's day (recorded
seconds, gaps with reasons, faults with repair time) split at Shanghai midnight, ranges of days,
a site's day; refusals name the field; only those in reach (alarm.read) see it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from custos.bootstrap import Container
from custos.domain.access import Role
from custos.domain.clock import ManualClock
from custos.domain.recording import CameraHealth, OfflineReason, RecorderState, Segment
from custos.domain.users import SYSTEM
from tests.api.builders import API, camera_body, fields, make_site, make_unit
from tests.api.conftest import LoginAs
from tests.api.test_alarm_watch import IN_SERVICE, XIAN

MIDNIGHT = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)  # 2026-11-21 00:00 in Shanghai


def _seal(c: Container, cid: int, start: datetime, seq: int) -> None:
    end = start + timedelta(seconds=60)
    c.recording.seal(Segment(None, cid, "run", seq, f"{cid}/run/{seq:06d}.mp4", start, end, 60.0,
                             1000, "0" * 64, "h264", 320, 240, end))  # fmt: skip


def _health(c: Container, cid: int, state: RecorderState, since: datetime) -> None:
    reason = OfflineReason.UNREACHABLE if state is RecorderState.OFFLINE else None
    c.recording.publish_health(
        [CameraHealth(cid, state, reason, "", since, None, None, None, c.clock.now())]
    )


def test_a_cameras_day_splits_footage_gaps_and_repair_at_shanghai_midnight(
    container: Container, client: TestClient, admin: dict[str, str], clock: ManualClock,
    login_as: LoginAs,
) -> None:  # fmt: skip
    c = container
    unit = make_unit(client, admin, 1)
    site = make_site(client, admin, unit, XIAN)
    r = client.post(f"{API}/cameras", json=camera_body(site, XIAN, history=IN_SERVICE),
                    headers=admin)  # fmt: skip
    cid = int(r.json()["id"])
    clock.set(MIDNIGHT - timedelta(minutes=3))
    _seal(c, cid, MIDNIGHT - timedelta(minutes=3), 0)
    _seal(c, cid, MIDNIGHT - timedelta(minutes=2), 1)  # ends 60 s before midnight
    stop = MIDNIGHT - timedelta(minutes=1)
    c.recording.open_gap(cid, stop, OfflineReason.UNREACHABLE, "connection refused")
    clock.set(stop)
    _health(c, cid, RecorderState.OFFLINE, stop)
    clock.set(MIDNIGHT + timedelta(minutes=2))  # 3 minutes offline: past the 60 s grace
    _health(c, cid, RecorderState.OFFLINE, stop)
    c.alarm_watch.tick()
    back = MIDNIGHT + timedelta(minutes=4)
    clock.set(back)
    _health(c, cid, RecorderState.RECORDING, back)
    _seal(c, cid, back, 2)  # closes the gap at its start
    clock.set(back + timedelta(minutes=1))
    c.alarm_watch.tick()
    admin = login_as(Role.ADMIN, name="admin-after-midnight")  # the clock jumped: sign in again

    r = client.get(f"{API}/cameras/{cid}/accounting?from=2026-11-20&to=2026-11-21", headers=admin)
    assert r.status_code == 200, r.text
    before, after = r.json()["days"]
    assert (before["day"], after["day"]) == ("2026-11-20", "2026-11-21")
    assert before["recorded_s"] == 120 and after["recorded_s"] == 60
    assert [(g["seconds"], g["reason"]) for g in before["gaps"]] == [(60, "unreachable")]
    assert [(g["seconds"], g["reason"]) for g in after["gaps"]] == [(240, "unreachable")]
    [fault] = after["faults"]
    assert fault["repair_s"] == 300 and fault["in_day_s"] == 240 and not fault["overdue"]
    assert before["faults"][0]["in_day_s"] == 60 and after["repair_deadline_h"] == 24

    one = client.get(f"{API}/sites/{site}/accounting?day=2026-11-21", headers=admin).json()
    assert [(d["camera_id"], d["recorded_s"]) for d in one["cameras"]] == [(cid, 60)]
    mine = login_as(Role.OPERATOR, unit)
    assert client.get(f"{API}/cameras/{cid}/accounting?day=2026-11-21", headers=mine).is_success
    other = login_as(Role.OPERATOR, make_unit(client, admin, 2))
    assert client.get(f"{API}/cameras/{cid}/accounting", headers=other).status_code == 404
    assert client.get(f"{API}/sites/{site}/accounting", headers=other).status_code == 404
    auditor = login_as(Role.AUDITOR)
    assert client.get(f"{API}/cameras/{cid}/accounting", headers=auditor).status_code == 403


def test_accounting_refusals_name_the_field(
    container: Container, client: TestClient, admin: dict[str, str]
) -> None:
    site = make_site(client, admin, make_unit(client, admin, 1), XIAN)
    r = client.post(f"{API}/cameras", json=camera_body(site, XIAN), headers=admin)
    url = f"{API}/cameras/{r.json()['id']}/accounting"
    too_long = client.get(f"{url}?from=2026-09-01&to=2026-11-01", headers=admin)
    assert too_long.status_code == 422 and fields(too_long.json()) == {"to"}
    both = client.get(f"{url}?day=2026-11-01&from=2026-11-01", headers=admin)
    assert both.status_code == 422 and fields(both.json()) == {"day"}
    future = client.get(f"{url}?day=2030-01-01", headers=admin)
    assert future.status_code == 422 and fields(future.json()) == {"from"}
    assert client.get(f"{url}?day=2026-13-01", headers=admin).status_code == 422
    site_future = client.get(f"{API}/sites/{site}/accounting?day=2030-01-01", headers=admin)
    assert site_future.status_code == 422 and fields(site_future.json()) == {"day"}
    for edge in ("0001-01-01", "9999-12-31"):  # no overflow at the ends of the calendar
        r = client.get(f"{url}?from={edge}&to={edge}", headers=admin)
        assert r.status_code == 422 and fields(r.json()) == {"from"}, r.text


def test_a_unit_may_set_a_shorter_repair_deadline_never_a_longer_one(
    container: Container, client: TestClient, admin: dict[str, str], login_as: LoginAs
) -> None:
    """GET/PUT /units/{id}/repair-deadline: 1..720 h, no longer than the rules' (Xi'an's 24 h,
    art. 22(6), cited in the refusal); reach-limited; set and refused both in the log."""
    unit = make_unit(client, admin, 1)
    other = make_unit(client, admin, 2)
    make_site(client, admin, unit, XIAN)
    url = f"{API}/units/{unit}/repair-deadline"
    before = client.get(url, headers=admin)
    assert before.status_code == 200, before.text
    got = before.json()
    assert got["repair_deadline_hours"] is None and got["effective_hours"] == 24
    assert "xian-2020:art22.i6" in got["rules_deadline"]["rule_ids"]
    articles = got["rules_deadline"]["articles"]
    xian = next(a for a in articles if "22" in a)

    longer = client.put(url, json={"repair_deadline_hours": 48}, headers=admin)
    assert longer.status_code == 422 and fields(longer.json()) == {"repair_deadline_hours"}
    assert xian in longer.text and "24 h" in longer.text, longer.text
    for bad in (0, 721, 10**20):
        r = client.put(url, json={"repair_deadline_hours": bad}, headers=admin)
        assert r.status_code == 422 and "repair_deadline_hours" in r.text, r.text

    manager = login_as(Role.UNIT_MANAGER, unit)
    ok = client.put(url, json={"repair_deadline_hours": 4}, headers=manager)
    assert ok.status_code == 200, ok.text
    assert ok.json()["repair_deadline_hours"] == 4 and ok.json()["effective_hours"] == 4
    assert client.get(url, headers=admin).json()["repair_deadline_hours"] == 4
    theirs = f"{API}/units/{other}/repair-deadline"
    assert client.put(theirs, json={"repair_deadline_hours": 4}, headers=manager).status_code == 404
    assert client.get(theirs, headers=manager).status_code == 404
    operator = login_as(Role.OPERATOR, unit)  # may read the registry, not change it
    assert client.put(url, json={"repair_deadline_hours": 2}, headers=operator).status_code == 403

    log = [r.entry for r in container.audit.entries(SYSTEM, limit=1000)]
    sets = [e for e in log if e.get("action") == "unit.repair_deadline.set"]
    assert any(e.get("actor") == "unit-manager1" and e["detail"]["repair_deadline_hours"] == 4
               for e in sets)  # fmt: skip
    assert any(e.get("actor") == "admin" and e.get("outcome") == "refused" for e in sets), sets
    cleared = client.put(url, json={"repair_deadline_hours": None}, headers=manager)
    assert cleared.status_code == 200 and cleared.json()["effective_hours"] == 24
