"""A Xi'an unit's month of duty, training and maintenance records, judged by the compliance
report (API, Chinese and English) on SQLite and PostgreSQL: exactly the expected findings, each
with the Xi'an and Shaanxi (and Decree 799) articles behind it."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from custos.bootstrap import Container
from custos.domain.access import Role
from custos.domain.calendar import shanghai_date
from custos.domain.clock import ManualClock
from custos.domain.errors import ValidationFailed
from custos.domain.maintenance import InspectionResult, WorkOrderState
from custos.domain.users import SYSTEM, Principal
from custos.services.maintenance import OrderInput
from tests.api.builders import API, PASSWORD, camera_body, make_site, make_unit
from tests.api.conftest import LoginAs

XIAN = "610113"
SHA = "ab" * 32
MINE = ("staff.", "maintenance.", "emergency.")
OPERATORS = ("op-a", "op-b", "op-c")
LATIN_WORD = re.compile(r"[A-Za-z]{3,}")


def _ok(r: Any, status: int = 201) -> Any:
    assert r.status_code == status, r.text
    return r.json()


def _today(c: Container) -> date:
    return shanghai_date(c.clock.now())


def _days_ago(c: Container, n: int) -> str:
    return (_today(c) - timedelta(days=n)).isoformat()


def _findings(client: TestClient, h: dict[str, str], site: int, lang: str) -> list[Any]:
    r = client.get(f"{API}/compliance/sites/{site}", headers={**h, "Accept-Language": lang})
    return [f for f in _ok(r, 200)["findings"] if f["code"].startswith(MINE)]


@pytest.mark.slow
def test_a_month_of_records_yields_exactly_the_expected_findings(
    client: TestClient, admin: dict[str, str], login_as: LoginAs, container: Container
) -> None:
    c = container
    clock = c.clock
    assert isinstance(clock, ManualClock)
    unit = make_unit(client, admin)
    site = make_site(client, admin, unit, XIAN)
    history = [
        {"state": "design_reviewed", "on": _days_ago(c, 100)},
        {"state": "built", "on": _days_ago(c, 90)},
        {"state": "accepted", "on": _days_ago(c, 80)},
        {"state": "in_service", "on": _days_ago(c, 70)},
    ]
    camera = _ok(
        client.post(f"{API}/cameras", json=camera_body(site, XIAN, history=history), headers=admin)
    )["id"]
    boss = login_as(Role.UNIT_MANAGER, unit, name="boss")
    for name, role in [("deputy", Role.UNIT_MANAGER)] + [(n, Role.OPERATOR) for n in OPERATORS]:
        c.auth.create_user(SYSTEM, name, role, PASSWORD, unit)
    users = {u.username: u.id for u in c.auth.list_users()}
    room = _ok(
        client.post(
            f"{API}/monitoring-rooms", json={"site_id": site, "name": "一号监控室"}, headers=boss
        )
    )["id"]

    # the archive: two monitoring staff with logins, one O&M person of a contractor
    keeper = _ok(
        client.post(
            f"{API}/units/{unit}/contractors",
            json={"name": "西安安防维保有限公司", "maintains": True},
            headers=boss,
        )
    )["id"]
    _ok(
        client.post(
            f"{API}/contractors/{keeper}/agreements",
            json={"signed_on": _days_ago(c, 100), "valid_from": _days_ago(c, 100),
                  "scope": "摄像机及存储设备维护", "document_sha256": SHA},
            headers=boss,
        )
    )  # fmt: skip
    network = _ok(
        client.post(
            f"{API}/units/{unit}/contractors",
            json={"name": "某网络服务公司", "maintains": True},
            headers=boss,
        )
    )["id"]

    def member(name: str, role: str, id_number: str, **more: Any) -> int:
        body = {"name": name, "role": role, "id_number": id_number,
                "hired_on": _days_ago(c, 200)} | more  # fmt: skip
        return int(_ok(client.post(f"{API}/units/{unit}/staff", json=body, headers=boss))["id"])

    zhang = member("张三", "monitoring", "11010519491231002X", user_id=users["op-a"])
    li = member("李四", "monitoring", "110105194912310038", user_id=users["op-b"])
    wang = member("王五", "maintenance", "110105194912310046", contractor_id=keeper)
    # 张三 and 王五 trained in everything Xi'an and Shaanxi ask; 李四 never
    _ok(
        client.post(
            f"{API}/units/{unit}/trainings",
            json={"held_on": _days_ago(c, 5), "contents": ["skills", "confidentiality", "ethics"],
                  "trainer": "市公安局技防办", "hours": 8, "attendee_ids": [zhang, wang]},
            headers=boss,
        )
    )  # fmt: skip
    _ok(
        client.post(
            f"{API}/units/{unit}/emergency-plans",
            json={"title": "视频系统突发事件处置预案", "version": "2025.1",
                  "approved_on": _days_ago(c, 400), "approved_by": "单位负责人",
                  "document_sha256": SHA},
            headers=boss,
        )
    )  # fmt: skip
    _ok(
        client.post(
            f"{API}/units/{unit}/drills",
            json={"held_on": _days_ago(c, 395), "scenario": "存储故障", "participant_ids": [zhang]},
            headers=boss,
        )
    )  # fmt: skip
    weekly = _ok(
        client.post(
            f"{API}/sites/{site}/inspection-schedules",
            json={"camera_id": camera, "interval_days": 7, "starts_on": _days_ago(c, 1)},
            headers=boss,
        )
    )["id"]
    monthly = _ok(
        client.post(
            f"{API}/sites/{site}/inspection-schedules",
            json={"interval_days": 30, "starts_on": _days_ago(c, 1)},
            headers=boss,
        )
    )["id"]

    # thirty days: 张三 on duty every day, 李四 every third, op-c (not archived) on day 12;
    # weekly inspections stop after day 14; three faults. The days run through the services
    # (a login a day would only slow the test down); the report is read through the API.
    def who(name: str, role: Role = Role.OPERATOR) -> Principal:
        return Principal(users[name], name, role, unit)

    manager, deputy = who("boss", Role.UNIT_MANAGER), who("deputy", Role.UNIT_MANAGER)
    orders: dict[int, int] = {}
    for day in range(1, 31):
        clock.advance(timedelta(days=1))
        on_duty = ["op-a"] + (["op-b"] if day % 3 == 0 else []) + (["op-c"] if day == 12 else [])
        for name in on_duty:
            c.duty.sign_off(who(name), c.duty.sign_on(who(name), room).id or 0)
        if day % 7 == 0 and day <= 14:
            c.maintenance.record_inspection(
                who("op-a"), weekly, _today(c), wang, InspectionResult.OK, ""
            )
        if day == 20:
            c.maintenance.record_inspection(
                manager, monthly, _today(c), wang, InspectionResult.OK, ""
            )
        if day in (3, 10, 25):
            what = {3: "画面模糊", 10: "硬盘告警", 25: "摄像机离线"}[day]
            order = c.maintenance.open_order(who("op-a"), site, OrderInput(what, camera)).id or 0
            c.maintenance.assign(manager, order, None, keeper)
            orders[day] = order
        if day in (3, 10):  # day 3 repaired in 5 h; day 10 after 30 h
            clock.advance(timedelta(hours=5 if day == 3 else 30))
            c.maintenance.repair(deputy, orders[day], "已更换")
            with pytest.raises(ValidationFailed) as own:
                c.maintenance.verify(deputy, orders[day])  # four eyes
            assert own.value.errors[0].key == "refusal.work_order_four_eyes"
            done = c.maintenance.verify(manager, orders[day])
            assert done.state is WorkOrderState.VERIFIED and done.verified_by == "boss"

    admin, boss = login_as(Role.ADMIN), login_as(Role.UNIT_MANAGER, unit, name="boss")
    zh = _findings(client, admin, site, "zh-CN")
    en = _findings(client, admin, site, "en")
    got = sorted((f["code"], f["subject"], tuple(f["rule_ids"])) for f in zh)
    assert got == sorted(
        [
            ("staff.archive.missing", f"site:{site}", ("xian-2020:art22.i3",)),
            ("staff.training.missing", f"site:{site}",
             ("shaanxi-2011:art16.i2", "xian-2020:art22.i2")),
            ("maintenance.inspection.overdue", f"camera:{camera}",
             ("national-2025:art15.p1", "shaanxi-2011:art16.i1", "xian-2020:art22.i5")),
            ("maintenance.repair.late", f"camera:{camera}",
             ("national-2025:art15.p1", "xian-2020:art22.i6")),
            ("maintenance.repair.overdue", f"camera:{camera}",
             ("national-2025:art15.p1", "xian-2020:art22.i6")),
            ("maintenance.entrustment.missing", f"site:{site}",
             ("national-2025:art15.p2", "xian-2020:art22.p2")),
            ("maintenance.assessment.overdue", f"site:{site}", ("xian-2020:art22.i4",)),
            ("emergency.drill.overdue", f"site:{site}", ("xian-2020:art22.i1",)),
        ]
    )  # fmt: skip
    by_code = {f["code"]: f for f in zh}
    assert by_code["staff.archive.missing"]["params"]["person"] == "op-c"
    trained = by_code["staff.training.missing"]
    assert trained["params"]["person"] == "李四"
    assert trained["penalty_rule_id"] == "shaanxi-2011:art25"  # Xi'an art. 33 → Shaanxi art. 25
    assert by_code["maintenance.entrustment.missing"]["params"]["contractor"] == "某网络服务公司"
    assert by_code["maintenance.assessment.overdue"]["penalty_rule_id"] is None  # errata 1
    assert by_code["maintenance.repair.overdue"]["params"]["work_order_id"] == orders[25]
    assert by_code["maintenance.repair.late"]["params"]["work_order_id"] == orders[10]
    assert "李四" in trained["text"] and "思想品德" in trained["text"]
    for f in zh:
        assert not LATIN_WORD.search(f["text"]), f
    assert [f["key"] for f in en] == [f["key"] for f in zh]
    en_trained = next(f for f in en if f["code"] == "staff.training.missing")
    assert en_trained["text"].startswith("李四 was not trained") and "ethics" in en_trained["text"]

    # 李四 trained, op-c archived, the network company's agreement on file: those go away
    _ok(
        client.post(
            f"{API}/units/{unit}/trainings",
            json={"held_on": _days_ago(c, 0), "contents": ["skills", "confidentiality", "ethics"],
                  "trainer": "市公安局技防办", "hours": 4, "attendee_ids": [li]},
            headers=boss,
        )
    )  # fmt: skip
    member("赵六", "monitoring", "11010519491231010X", user_id=users["op-c"])
    _ok(
        client.post(
            f"{API}/contractors/{network}/agreements",
            json={"signed_on": _days_ago(c, 0), "valid_from": _days_ago(c, 0),
                  "scope": "网络链路维护", "document_sha256": SHA},
            headers=boss,
        )
    )  # fmt: skip
    after = _findings(client, admin, site, "zh-CN")
    untrained = {f["params"]["person"] for f in after if f["code"] == "staff.training.missing"}
    assert untrained == {"李四", "赵六"}  # both were on duty untrained earlier in the month
    assert {f["code"] for f in after} == {
        "staff.training.missing",
        "maintenance.inspection.overdue",
        "maintenance.repair.late",
        "maintenance.repair.overdue",
        "maintenance.assessment.overdue",
        "emergency.drill.overdue",
    }
