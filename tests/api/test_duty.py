"""Duty in a monitoring room through the API, on SQLite and PostgreSQL: signing on and handing
over, the append-only duty log, reports to the police late or missing, unrelated persons in the
room, gaps in coverage, and the reach of a unit's people."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from custos.bootstrap import Container
from custos.domain.access import Role
from custos.domain.calendar import SHANGHAI, shanghai_date
from custos.domain.clock import ManualClock
from custos.domain.kinds import PublicPlaceArticle
from custos.domain.users import SYSTEM, UserProfile
from tests.api.builders import API, PASSWORD, make_site, make_unit
from tests.api.conftest import LoginAs

XIAN = "610113"


@dataclass
class Room:
    id: int
    site: int
    unit: int
    manager: dict[str, str]
    a: dict[str, str]  # operator 甲
    b: dict[str, str]  # operator 乙
    ids: dict[str, int]


def _room(client: TestClient, admin: dict[str, str], login_as: LoginAs, c: Container) -> Room:
    unit = make_unit(client, admin)
    site = make_site(client, admin, unit, XIAN)
    manager = login_as(Role.UNIT_MANAGER, unit)
    a = login_as(Role.OPERATOR, unit, name="op-a")
    b = login_as(Role.OPERATOR, unit, name="op-b")
    body = {"site_id": site, "name": "一号监控室", "authorised": ["王工程师"]}
    r = client.post(f"{API}/monitoring-rooms", json=body, headers=manager)
    assert r.status_code == 201, r.text
    assert r.json()["whole_unit"] is True
    ids = {u.username: u.id or 0 for u in c.auth.list_users()}
    return Room(r.json()["id"], site, unit, manager, a, b, ids)


def _clock(c: Container) -> ManualClock:
    assert isinstance(c.clock, ManualClock)
    return c.clock


def _at(c: Container, minutes: float) -> str:
    return (c.clock.now() + timedelta(minutes=minutes)).isoformat()


def _findings(client: TestClient, admin: dict[str, str], site: int) -> list[dict[str, Any]]:
    r = client.get(f"{API}/compliance/sites/{site}", headers=admin)
    assert r.status_code == 200, r.text
    return [f for f in r.json()["findings"] if f["code"].startswith("duty.")]


def test_an_operator_signs_on_hands_over_with_a_note_and_the_next_accepts(
    client: TestClient, admin: dict[str, str], login_as: LoginAs, container: Container
) -> None:
    room = _room(client, admin, login_as, container)
    r = client.post(f"{API}/monitoring-rooms/{room.id}/sign-on", headers=room.a)
    assert r.status_code == 201, r.text
    session = r.json()["id"]
    again = client.post(f"{API}/monitoring-rooms/{room.id}/sign-on", headers=room.a)
    assert again.status_code == 422 and again.json()["errors"][0]["field"] == "room_id"
    assert container.duty.on_duty_users(room.unit) == [room.ids["op-a"]]

    no_note = {"to_user_id": room.ids["op-b"], "note": " "}
    r = client.post(f"{API}/duty-sessions/{session}/handover", json=no_note, headers=room.a)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "note"
    assert r.json()["errors"][0]["text"] == "请填写交接班记录"
    note = {"to_user_id": room.ids["op-b"], "note": "3号机画面偏暗，已报修"}
    # only the operator on duty hands over
    assert (
        client.post(
            f"{API}/duty-sessions/{session}/handover", json=note, headers=room.b
        ).status_code
        == 403
    )
    r = client.post(f"{API}/duty-sessions/{session}/handover", json=note, headers=room.a)
    assert r.status_code == 200, r.text
    # until the next operator accepts, the handing one is still on duty
    _clock(container).advance(timedelta(minutes=5))
    status = client.get(f"{API}/monitoring-rooms/{room.id}/duty", headers=room.b).json()
    [waiting] = status["handovers"]
    assert waiting["handover_note"] == note["note"] and waiting["open"] is True
    assert container.duty.on_duty_users(room.unit) == [room.ids["op-a"]]
    assert client.post(f"{API}/duty-sessions/{session}/accept", headers=room.a).status_code == 403

    r = client.post(f"{API}/duty-sessions/{session}/accept", headers=room.b)
    assert r.status_code == 200, r.text
    taken = r.json()
    assert taken["follows"] == session and taken["user_id"] == room.ids["op-b"]
    assert container.duty.on_duty_users(room.unit) == [room.ids["op-b"]]
    since = _at(container, -60)
    sessions = client.get(
        f"{API}/monitoring-rooms/{room.id}/sessions", params={"since": since}, headers=room.a
    ).json()
    handed = next(s for s in sessions if s["id"] == session)
    assert handed["signed_off_at"] == taken["signed_on_at"]  # no moment without an operator
    r = client.post(f"{API}/duty-sessions/{taken['id']}/sign-off", headers=room.b)
    assert r.status_code == 200 and r.json()["open"] is False
    assert container.duty.on_duty_users(room.unit) == []

    log = client.get(f"{API}/audit/entries?limit=1000", headers=admin).json()["entries"]
    acts = [e["entry"]["action"] for e in log if e["entry"]["action"].startswith("duty.")]
    for act in (
        "duty.room.create",
        "duty.sign_on",
        "duty.hand_over",
        "duty.accept",
        "duty.sign_off",
    ):
        assert act in acts


def test_the_duty_log_is_append_only_and_a_correction_names_the_entry(
    client: TestClient, admin: dict[str, str], login_as: LoginAs, container: Container
) -> None:
    room = _room(client, admin, login_as, container)
    url = f"{API}/monitoring-rooms/{room.id}/log"
    first = client.post(url, json={"text": "东门有人翻越围栏"}, headers=room.a)
    assert first.status_code == 201, first.text
    entry = first.json()["id"]
    fix = {"text": "东门有人翻越围栏（更正：北门）", "corrects": entry, "suspicious": True}
    assert client.post(url, json=fix, headers=room.a).status_code == 201
    # there is no way to change or remove an entry
    assert client.put(f"{url}/{entry}", json={"text": "x"}, headers=room.manager).status_code in {
        404,
        405,
    }
    assert client.delete(f"{url}/{entry}", headers=room.manager).status_code in {404, 405}
    future = {"text": "x", "at": _at(container, 30)}
    r = client.post(url, json=future, headers=room.a)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "at"
    bad = client.post(url, json={"text": "x", "corrects": 999999}, headers=room.a)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "corrects"
    entries = client.get(url, headers=room.b).json()
    assert [(e["text"], e["corrects"]) for e in entries] == [
        ("东门有人翻越围栏", None),
        ("东门有人翻越围栏（更正：北门）", entry),
    ]


def test_late_and_missing_police_reports_are_findings_citing_the_articles(
    client: TestClient, admin: dict[str, str], login_as: LoginAs, container: Container
) -> None:
    room = _room(client, admin, login_as, container)
    duties = container.rules.effective(XIAN, PublicPlaceArticle.ART7_P2).operating
    cited = duties.report_deadline_minutes.rule_ids
    assert duties.report_deadline_minutes.value == 15 and "xian-2020:art22.i9" in cited
    url = f"{API}/monitoring-rooms/{room.id}/log"
    seen = _at(container, -40)
    late_entry = client.post(
        url, json={"text": "可疑包裹", "at": seen, "suspicious": True}, headers=room.a
    ).json()["id"]
    unreported = client.post(
        url,
        json={"text": "可疑车辆", "at": _at(container, -10), "suspicious": True},
        headers=room.a,
    ).json()["id"]
    client.post(url, json={"text": "例行巡视"}, headers=room.a)
    report = {
        "seen_at": seen,
        "reported_at": _at(container, -5),
        "organ": "雁塔分局小寨派出所",
        "channel": "phone_110",
        "what": "可疑包裹",
        "entry_id": late_entry,
    }
    r = client.post(f"{API}/monitoring-rooms/{room.id}/reports", json=report, headers=room.a)
    assert r.status_code == 201, r.text
    assert r.json()["late"] is True and r.json()["deadline_minutes"] == 15
    backwards = report | {"reported_at": _at(container, -50)}
    r = client.post(f"{API}/monitoring-rooms/{room.id}/reports", json=backwards, headers=room.a)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reported_at"

    # the second entry is 10 minutes old: not yet missing
    assert [f["code"] for f in _findings(client, admin, room.site)] == ["duty.report.late"]
    _clock(container).advance(timedelta(minutes=6))
    found = _findings(client, admin, room.site)
    assert sorted(f["code"] for f in found) == ["duty.report.late", "duty.report.missing"]
    for f in found:
        assert f["rule_ids"] == cited and f["subject"] == f"room:{room.id}"
    missing = next(f for f in found if f["code"] == "duty.report.missing")
    assert missing["params"]["entry_id"] == unreported
    assert missing["key"] == "finding.duty.report.missing" and "未向公安机关报告" in missing["text"]


def test_an_unrelated_person_in_the_room_is_flagged_and_is_a_finding_and_nothing_else(
    client: TestClient, admin: dict[str, str], login_as: LoginAs, container: Container
) -> None:
    room = _room(client, admin, login_as, container)
    alarms_before = client.get(f"{API}/alarms", headers=admin).json()
    r = client.post(
        f"{API}/monitoring-rooms/{room.id}/shifts",
        headers=room.manager,
        json={"name": "白班", "starts": "08:00", "ends": "20:00"},
    )
    assert r.status_code == 201, r.text
    today = shanghai_date(container.clock.now()).isoformat()
    rota = {"shift_id": r.json()["id"], "day": today, "person_name": "赵保安"}
    assert (
        client.post(
            f"{API}/monitoring-rooms/{room.id}/rota", json=rota, headers=room.manager
        ).status_code
        == 201
    )
    url = f"{API}/monitoring-rooms/{room.id}/entries"
    people = {"王工程师": False, "赵保安": False, "张三": True}  # listed, on the rota, neither
    for name, unrelated in people.items():
        body = {"person_name": name, "reason": "检修", "entered_at": _at(container, -3)}
        r = client.post(url, json=body, headers=room.a)
        assert r.status_code == 201, r.text
        assert r.json()["unrelated"] is unrelated and r.json()["let_in_by"] == "op-a"
    stranger = client.get(url, headers=room.manager).json()[-1]
    left = client.post(
        f"{API}/room-entries/{stranger['id']}/leave",
        json={"left_at": _at(container, 0)},
        headers=room.a,
    )
    assert left.status_code == 200 and left.json()["left_at"]
    [f] = _findings(client, admin, room.site)
    assert f["code"] == "duty.room.unrelated_person" and f["params"]["person"] == "张三"
    assert f["rule_ids"] == ["xian-2020:art22.i8"]
    assert client.get(f"{API}/alarms", headers=admin).json() == alarms_before


def test_a_shift_that_needed_duty_with_nobody_signed_on_is_a_gap(
    client: TestClient, admin: dict[str, str], login_as: LoginAs, container: Container
) -> None:
    room = _room(client, admin, login_as, container)
    now = container.clock.now().astimezone(SHANGHAI).replace(second=0, microsecond=0)

    def shift(name: str, from_h: int, to_h: int) -> None:
        body = {
            "name": name,
            "starts": (now + timedelta(hours=from_h)).strftime("%H:%M"),
            "ends": (now + timedelta(hours=to_h)).strftime("%H:%M"),
        }
        url = f"{API}/monitoring-rooms/{room.id}/shifts"
        assert client.post(url, json=body, headers=room.manager).status_code == 201

    shift("早班", 1, 2)
    shift("晚班", 3, 4)
    clock = _clock(container)
    clock.advance(timedelta(minutes=50))
    a = login_as(Role.OPERATOR, room.unit, name="op-a")
    session = client.post(f"{API}/monitoring-rooms/{room.id}/sign-on", headers=a).json()["id"]
    clock.advance(timedelta(minutes=90))
    a = login_as(Role.OPERATOR, room.unit, name="op-a")
    assert client.post(f"{API}/duty-sessions/{session}/sign-off", headers=a).status_code == 200
    clock.advance(timedelta(hours=3))
    [gap] = _findings(client, admin := login_as(Role.ADMIN), room.site)
    assert gap["code"] == "duty.coverage.gap" and gap["params"]["shift"] == "晚班"
    assert gap["params"]["minutes"] == 60
    assert "xian-2020:art22.i1" in gap["rule_ids"]


def test_another_units_people_do_not_reach_the_room_and_operators_do_not_manage_it(
    client: TestClient, admin: dict[str, str], login_as: LoginAs, container: Container
) -> None:
    room = _room(client, admin, login_as, container)
    other = make_unit(client, admin, 2)
    stranger = login_as(Role.OPERATOR, other, name="op-other")
    for method, path in (
        ("GET", f"monitoring-rooms/{room.id}"),
        ("GET", f"monitoring-rooms/{room.id}/log"),
        ("POST", f"monitoring-rooms/{room.id}/sign-on"),
    ):
        assert client.request(method, f"{API}/{path}", headers=stranger).status_code == 404
    assert client.get(f"{API}/monitoring-rooms", headers=stranger).json() == []
    body = {"site_id": room.site, "name": "二号监控室"}
    assert client.post(f"{API}/monitoring-rooms", json=body, headers=room.a).status_code == 403
    shift = {"name": "白班", "starts": "08:00", "ends": "20:00"}
    url = f"{API}/monitoring-rooms/{room.id}/shifts"
    assert client.post(url, json=shift, headers=room.a).status_code == 403
    other_manager = login_as(Role.UNIT_MANAGER, other)
    assert client.post(url, json=shift, headers=other_manager).status_code == 404
    # a supervising bureau reads the rooms of its jurisdiction, and writes nothing
    for name, area, seen in (("sup-xian", "610100", 200), ("sup-beijing", "110000", 404)):
        profile = UserProfile(jurisdiction=area)
        container.auth.create_user(SYSTEM, name, Role.SUPERVISOR, PASSWORD, None, profile)
        sup = login_as(Role.SUPERVISOR, name=name)
        assert client.get(f"{API}/monitoring-rooms/{room.id}/log", headers=sup).status_code == seen
        url = f"{API}/monitoring-rooms/{room.id}/log"
        assert client.post(url, json={"text": "x"}, headers=sup).status_code == 403
    # no handing over to another unit's operator
    other_id = next(u.id for u in container.auth.list_users() if u.username == "op-other")
    handover = {"to_user_id": other_id, "note": "交班"}
    session = client.post(f"{API}/monitoring-rooms/{room.id}/sign-on", headers=room.a).json()["id"]
    r = client.post(f"{API}/duty-sessions/{session}/handover", json=handover, headers=room.a)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "to_user_id"
