"""Alarms as people handle them: each sees the alarms in reach, filters them, acknowledges and
resolves them (who, when, note), and both steps enter the operation log."""

from __future__ import annotations

from typing import Any

from custos.domain.access import Role
from custos.domain.alarms import AlarmKind, Severity
from custos.domain.users import SYSTEM
from tests.api.access_world import BEIJING, XIAN, World
from tests.api.builders import API, make_unit


def _raise(w: World, severity: Severity, subject: str, camera: str | None = None) -> int:
    camera_id = w.cameras[camera] if camera else None
    kind = AlarmKind.INTEGRITY if camera else AlarmKind.STORAGE_FULL
    alarm = w.container.alarms.raise_(kind, severity, subject, f"about {subject}", None, camera_id)
    assert alarm.id is not None
    return alarm.id


def _ids(w: World, headers: dict[str, str], query: str = "") -> list[int]:
    r = w.client.get(f"{API}/alarms{query}", headers=headers)
    assert r.status_code == 200, r.text
    return [a["id"] for a in r.json()]


def _site_of(w: World, division: str) -> int:
    r = w.client.get(f"{API}/cameras/{w.cameras[division]}", headers=w.admin)
    return int(r.json()["site_id"])


def test_each_person_sees_the_open_alarms_in_their_reach(world: World) -> None:
    w = world
    system = _raise(w, Severity.CRITICAL, "recorder")
    xian = _raise(w, Severity.CRITICAL, "segment:1", XIAN)
    assert set(_ids(w, w.admin)) == {system, xian}
    elsewhere = make_unit(w.client, w.admin, 2)
    manager = w.person("mgr-elsewhere", Role.UNIT_MANAGER, unit_id=elsewhere)
    assert _ids(w, manager) == [system]
    own = w.person("mgr-own", Role.UNIT_MANAGER, unit_id=w.unit_id)
    assert set(_ids(w, own)) == {system, xian}
    scoped = w.person("mgr-bj", Role.UNIT_MANAGER, unit_id=w.unit_id,
                      scopes=(f"camera:{w.cameras[BEIJING]}",))  # fmt: skip
    assert _ids(w, scoped) == [system]
    assert w.client.get(f"{API}/alarms/{xian}", headers=scoped).status_code == 404
    operator = w.person("duty-op", Role.OPERATOR, unit_id=w.unit_id)  # alarm.read, no storage.read
    assert _ids(w, operator) == [xian]  # the cameras in reach, not the system's alarms
    assert w.client.get(f"{API}/alarms/{system}", headers=operator).status_code == 404
    assert w.client.get(f"{API}/alarms/{xian}", headers=operator).status_code == 200
    auditor = w.person("auditor", Role.AUDITOR)
    assert w.client.get(f"{API}/alarms", headers=auditor).status_code == 403


def test_alarms_filter_by_severity_camera_and_site(world: World) -> None:
    w = world
    system = _raise(w, Severity.WARNING, "volume:/data")
    xian = _raise(w, Severity.CRITICAL, "segment:1", XIAN)
    beijing = _raise(w, Severity.WARNING, "segment:2", BEIJING)
    assert _ids(w, w.admin, "?severity=critical") == [xian]
    assert set(_ids(w, w.admin, "?severity=warning")) == {system, beijing}
    assert _ids(w, w.admin, f"?camera_id={w.cameras[BEIJING]}") == [beijing]
    assert _ids(w, w.admin, f"?site_id={_site_of(w, XIAN)}") == [xian]
    assert _ids(w, w.admin, f"?site_id={_site_of(w, XIAN)}&severity=warning") == []
    assert w.client.get(f"{API}/alarms?camera_id=0", headers=w.admin).status_code == 422
    assert w.client.get(f"{API}/alarms?limit=100000", headers=w.admin).status_code == 422


def _entries(w: World, action: str) -> list[dict[str, Any]]:
    r = w.client.get(f"{API}/audit/entries?limit=1000", headers=w.admin)
    return [e["entry"] for e in r.json()["entries"] if e["entry"]["action"] == action]


def test_acknowledge_and_resolve_record_who_when_and_a_note_in_the_log(world: World) -> None:
    w = world
    alarm = _raise(w, Severity.CRITICAL, "segment:1", XIAN)
    sup = w.person("super", Role.SUPERVISOR, full_name="钱督察")
    r = w.client.post(f"{API}/alarms/{alarm}/acknowledge", json={"note": "看到了"}, headers=sup)
    assert r.status_code == 200, r.text
    ack = r.json()["acknowledged"]
    assert (
        ack["by"] == w.user_ids["super"] and ack["by_name"] == "钱督察" and ack["note"] == "看到了"
    )
    assert ack["at"].startswith(w.container.clock.now().isoformat()[:16])
    assert r.json()["open"] is True and r.json()["resolved"] is None
    again = w.client.post(f"{API}/alarms/{alarm}/acknowledge", json={}, headers=sup)
    assert again.status_code == 422
    r = w.client.post(
        f"{API}/alarms/{alarm}/resolve", json={"note": "disk replaced"}, headers=w.admin
    )
    assert r.status_code == 200, r.text
    assert r.json()["open"] is False and r.json()["resolved"]["note"] == "disk replaced"
    assert alarm not in _ids(w, w.admin)
    assert alarm in _ids(w, w.admin, "?include_cleared=true")
    assert (
        w.client.post(f"{API}/alarms/{alarm}/resolve", json={}, headers=w.admin).status_code == 422
    )
    [acked] = _entries(w, "alarm.acknowledge")
    [resolved] = _entries(w, "alarm.resolve")
    assert acked["actor"] == "super" and acked["object_id"] == str(alarm)
    assert acked["detail"]["note"] == "看到了" and resolved["detail"]["note"] == "disk replaced"


def test_a_resolved_condition_that_persists_is_raised_again(world: World) -> None:
    w = world
    first = _raise(w, Severity.CRITICAL, "recorder")
    w.container.alarms.resolve(SYSTEM, first, "restarted")
    second = _raise(w, Severity.CRITICAL, "recorder")
    assert second != first and _ids(w, w.admin) == [second]


def test_only_alarm_handlers_may_acknowledge(world: World) -> None:
    w = world
    alarm = _raise(w, Severity.CRITICAL, "recorder")
    auditor = w.person("aud", Role.AUDITOR)
    r = w.client.post(f"{API}/alarms/{alarm}/acknowledge", json={"note": ""}, headers=auditor)
    assert r.status_code == 403
    long = w.client.post(f"{API}/alarms/{alarm}/acknowledge", json={"note": "x" * 2001},
                         headers=w.admin)  # fmt: skip
    assert long.status_code == 422
    nul = w.client.post(f"{API}/alarms/{alarm}/acknowledge", json={"note": "a\x00"},
                        headers=w.admin)  # fmt: skip
    assert nul.status_code == 422


def test_the_limit_counts_only_the_alarms_a_person_may_see(world: World) -> None:
    w = world
    beijing = _raise(w, Severity.WARNING, "segment:2", BEIJING)
    for n in range(3):  # newer, but out of this person's reach
        _raise(w, Severity.CRITICAL, f"segment:{10 + n}", XIAN)
    scoped = w.person("mgr-bj-only", Role.UNIT_MANAGER, unit_id=w.unit_id,
                      scopes=(f"camera:{w.cameras[BEIJING]}",))  # fmt: skip
    assert _ids(w, scoped, "?limit=1") == [beijing]
