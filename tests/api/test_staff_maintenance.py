"""The staff archive, trainings, work orders and plans through the API, on SQLite and PostgreSQL:
the ID-card number goes in once and never comes out (nor into the operation log); refusals name
the field and the rule; a unit's people reach only their unit; every write is logged."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from custos.bootstrap import Container
from custos.domain.access import Role
from custos.domain.alarms import AlarmKind, Severity
from custos.domain.calendar import shanghai_date
from tests.api.builders import API, camera_body, make_site, make_unit
from tests.api.conftest import LoginAs

XIAN = "610113"
ID_NUMBER = "11010519491231002X"


def _today(c: Container) -> str:
    return shanghai_date(c.clock.now()).isoformat()


def test_the_id_number_is_masked_everywhere_and_every_write_is_logged(
    client: TestClient, admin: dict[str, str], login_as: LoginAs, container: Container
) -> None:
    unit = make_unit(client, admin)
    boss = login_as(Role.UNIT_MANAGER, unit)
    body = {
        "name": "张三",
        "role": "monitoring",
        "id_number": ID_NUMBER,
        "hired_on": _today(container),
    }
    r = client.post(f"{API}/units/{unit}/staff", json=body, headers=boss)
    assert r.status_code == 201, r.text
    staff = r.json()
    assert staff["id_number_masked"] == "110105********002X" and "id_number" not in staff
    listed = client.get(f"{API}/units/{unit}/staff", headers=boss)
    assert ID_NUMBER not in listed.text and listed.json()[0]["name"] == "张三"
    training = {"held_on": _today(container), "contents": ["skills", "law"], "trainer": "技防办",
                "hours": 6, "attendee_ids": [staff["id"]]}  # fmt: skip
    assert (
        client.post(f"{API}/units/{unit}/trainings", json=training, headers=boss).status_code == 201
    )
    site = make_site(client, admin, unit, XIAN)
    status = client.get(
        f"{API}/staff/{staff['id']}/training-status?site_id={site}", headers=boss
    ).json()
    assert status["trained"] is False and status["missing"] == ["confidentiality", "ethics"]
    today = shanghai_date(container.clock.now())
    assert container.staff.is_trained(site, today, staff_id=staff["id"]).as_dict() == status
    log = client.get(f"{API}/audit/entries?limit=1000", headers=admin)
    assert ID_NUMBER not in log.text and "110105********002X" in log.text
    actions = [e["entry"]["action"] for e in log.json()["entries"]]
    assert "staff.add" in actions and "training.record" in actions


def test_refusals_name_the_field_and_the_rule(
    client: TestClient, admin: dict[str, str], login_as: LoginAs, container: Container
) -> None:
    unit = make_unit(client, admin)
    site = make_site(client, admin, unit, XIAN)
    boss = login_as(Role.UNIT_MANAGER, unit)
    bad = {"name": "李四", "role": "monitoring", "id_number": "110105194912310021",
           "hired_on": _today(container)}  # fmt: skip
    r = client.post(f"{API}/units/{unit}/staff", json=bad, headers=boss)
    assert r.status_code == 422, r.text
    [error] = r.json()["errors"]
    assert (error["field"], error["key"]) == ("id_number", "refusal.id_number_check")
    assert error["text"] == "身份证号码的校验码不符"
    foreign = {**bad, "id_number": "11010519491231002X", "contractor_id": 99999}
    r = client.post(f"{API}/units/{unit}/staff", json=foreign, headers=boss)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "contractor_id"
    schedule = {"interval_days": 45, "starts_on": _today(container)}
    r = client.post(f"{API}/sites/{site}/inspection-schedules", json=schedule, headers=boss)
    assert r.status_code == 422, r.text
    [error] = r.json()["errors"]
    assert error["field"] == "interval_days" and error["rule_id"] == "national-2025:art15.p1"
    assert error["text"] == "检查周期不得超过 30 日"
    big = {"held_on": _today(container), "contents": ["skills"], "trainer": "x", "hours": 5000,
           "attendee_ids": [1]}  # fmt: skip
    r = client.post(f"{API}/units/{unit}/trainings", json=big, headers=boss)
    assert r.status_code == 422 and r.json()["errors"][0]["field"].endswith("hours")


def test_a_work_order_from_an_alarm_and_the_reach_of_a_units_people(
    client: TestClient, admin: dict[str, str], login_as: LoginAs, container: Container
) -> None:
    unit, other = make_unit(client, admin, 1), make_unit(client, admin, 2)
    site = make_site(client, admin, unit, XIAN)
    cam = client.post(f"{API}/cameras", json=camera_body(site, XIAN), headers=admin).json()["id"]
    alarm = container.alarms.raise_(
        AlarmKind.CAMERA_OFFLINE, Severity.CRITICAL, f"camera:{cam}", "offline", camera_id=cam
    )
    operator = login_as(Role.OPERATOR, unit)
    body: dict[str, Any] = {"description": "摄像机离线", "alarm_id": alarm.id}
    r = client.post(f"{API}/sites/{site}/work-orders", json=body, headers=operator)
    assert r.status_code == 201, r.text
    order = r.json()
    assert order["camera_id"] == cam and order["state"] == "open"
    # an order cites an alarm of its own site only: not the system's, nor another camera's
    system = container.alarms.raise_(
        AlarmKind.STORAGE_FULL, Severity.CRITICAL, "volume:/media", "full"
    )
    r = client.post(
        f"{API}/sites/{site}/work-orders",
        json={"description": "磁盘满", "alarm_id": system.id},
        headers=operator,
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "alarm_id"
    cam2 = client.post(
        f"{API}/cameras", json=camera_body(site, XIAN, serial=2), headers=admin
    ).json()["id"]
    r = client.post(
        f"{API}/sites/{site}/work-orders",
        json={"description": "错配", "alarm_id": alarm.id, "camera_id": cam2},
        headers=operator,
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "camera_id"
    # an operator opens and repairs, but does not assign or manage the archive
    r = client.post(
        f"{API}/work-orders/{order['id']}/assign", json={"staff_id": 1}, headers=operator
    )
    assert r.status_code == 403
    early = client.post(f"{API}/work-orders/{order['id']}/repair", json={}, headers=operator)
    assert (
        early.status_code == 422 and early.json()["errors"][0]["key"] == "refusal.work_order_state"
    )
    # another unit's manager learns nothing of this site
    stranger = login_as(Role.UNIT_MANAGER, other)
    assert client.get(f"{API}/sites/{site}/work-orders", headers=stranger).status_code == 404
    assert client.get(f"{API}/units/{unit}/staff", headers=stranger).status_code == 404
    plan = {"title": "预案", "version": "1", "approved_on": _today(container),
            "approved_by": "负责人", "document_sha256": "ab" * 32}  # fmt: skip
    assert (
        client.post(f"{API}/units/{unit}/emergency-plans", json=plan, headers=stranger).status_code
        == 404
    )
    assert (
        client.post(f"{API}/units/{other}/emergency-plans", json=plan, headers=stranger).status_code
        == 201
    )
    assert [
        o["id"] for o in client.get(f"{API}/sites/{site}/work-orders", headers=admin).json()
    ] == [order["id"]]
