"""Re-filing tasks (docs/design/filing.md D4, obligations §8 F-01): after an accepted filing, a
change to a filed attribute opens a draft task with the pack's deadline and the diff; undoing
the change withdraws it; the compliance report shows the change filing pending, then overdue."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient

from custos.bootstrap import Container
from custos.domain.access import Role
from custos.domain.calendar import shanghai_date
from custos.domain.clock import ManualClock
from tests.api.builders import API, address_code
from tests.api.filing_world import FiledSite, filed_site, login, profile_body, tasks

LIAONING = "210102"  # 沈阳市和平区
BAOJI = "610302"  # 宝鸡市渭滨区: Shaanxi, not Xi'an
XIAN = "610113"  # 西安市雁塔区
CHONGQING = "500103"  # 重庆市渝中区


def _code(fs: FiledSite, n: int, serial: int = 1) -> str:
    return address_code(fs.division, n * 100 + serial)


def _findings(client: TestClient, fs: FiledSite, lang: str = "en") -> list[dict[str, Any]]:
    r = client.get(
        f"{API}/compliance/sites/{fs.site_id}", headers={**fs.manager, "Accept-Language": lang}
    )
    assert r.status_code == 200, r.text
    return [f for f in r.json()["findings"] if f["code"].startswith("filing.")]


def _today(clock: ManualClock) -> date:
    return shanghai_date(clock.now())


def test_liaoning_field_of_view_change_opens_a_task_due_in_three_working_days(
    client: TestClient, container: Container, admin: dict[str, str], clock: ManualClock
) -> None:
    fs = filed_site(client, container, admin, 1, LIAONING)
    assert tasks(client, fs) == []
    assert not [f for f in _findings(client, fs) if f["code"].startswith("filing.change")]
    camera = fs.cameras[0]
    r = client.patch(
        f"{API}/cameras/{camera}", json={"field_of_view": "car park exit"}, headers=admin
    )
    assert r.status_code == 200, r.text
    [task] = tasks(client, fs)
    today = _today(clock)
    # the manual clock's Friday 20 Nov 2026 (Saturday 21 in Shanghai when the wall clock is
    # moved to 16:30 UTC): three working days skip the weekend either way
    assert today in (date(2026, 11, 20), date(2026, 11, 21))
    assert task["kind"] == "change"
    assert task["state"] == "draft"
    assert task["trigger_date"] == today.isoformat()
    assert task["due"] == "2026-11-25"
    assert any(c.startswith("liaoning-2008:") for c in task["citations"]), task["citations"]
    key = f"cameras.{_code(fs, 1)}.field_of_view"
    assert task["diff"] == {key: {"before": "entrance and lobby", "after": "car park exit"}}
    assert [e["action"] for e in task["history"]] == ["open"]
    # the obligation the deadline rules judge: a Filing row, not filed, for that camera's change
    rows = client.get(f"{API}/sites/{fs.site_id}/filings", headers=admin).json()
    assert [
        (f["kind"], f["trigger_date"], f["filed_on"]) for f in rows if f["kind"] != "initial"
    ] == [("change", today.isoformat(), None)]
    [pending] = [f for f in _findings(client, fs) if f["code"].startswith("filing.change")]
    assert pending["code"] == "filing.change.pending"
    assert pending["due"] == "2026-11-25"
    clock.advance(timedelta(days=6))  # past the due date (signed in again: tokens expire)
    fs.manager = login(client, container, "manager-1", Role.UNIT_MANAGER, unit_id=fs.unit_id)
    codes = {f["code"] for f in _findings(client, fs)}
    assert "filing.change.overdue" in codes, codes


def test_a_second_change_updates_the_task_and_undoing_everything_withdraws_it(
    client: TestClient, container: Container, admin: dict[str, str], clock: ManualClock
) -> None:
    fs = filed_site(client, container, admin, 2, LIAONING)
    camera = fs.cameras[0]
    assert (
        client.patch(
            f"{API}/cameras/{camera}", json={"field_of_view": "car park"}, headers=admin
        ).status_code
        == 200
    )
    clock.advance(timedelta(hours=1))
    assert (
        client.patch(
            f"{API}/cameras/{camera}", json={"retention_days": 60}, headers=admin
        ).status_code
        == 200
    )
    [task] = tasks(client, fs)
    code = _code(fs, 2)
    assert set(task["diff"]) == {f"cameras.{code}.field_of_view", f"storage.retention.{code}.days"}
    assert task["diff"][f"storage.retention.{code}.days"] == {"before": 30, "after": 60}
    assert [e["action"] for e in task["history"]] == ["open", "diff"]
    opened_on = task["trigger_date"]
    # undo both: the draft is withdrawn and its Filing row deleted (nothing was owed)
    for change in ({"field_of_view": "entrance and lobby"}, {"retention_days": 30}):
        r = client.patch(f"{API}/cameras/{camera}", json=change, headers=admin)
        assert r.status_code == 200, r.text
    [task] = tasks(client, fs)
    assert task["state"] == "withdrawn"
    assert task["trigger_date"] == opened_on
    assert task["filing_id"] is None
    assert [e["action"] for e in task["history"]] == ["open", "diff", "diff", "withdraw"]
    rows = client.get(f"{API}/sites/{fs.site_id}/filings", headers=admin).json()
    assert [f["kind"] for f in rows] == ["initial"]
    # nothing is owed: not even for the camera's own history step (changed, then undone)
    assert [f["code"] for f in _findings(client, fs) if f["code"].startswith("filing.change")] == []
    with container.uow() as uow:
        actions = [e.action for _, e in uow.audit.find(limit=500)]
    for action in ("filing.task_open", "filing.task_update", "filing.task_withdraw"):
        assert action in actions, action
    # a change after the withdrawal opens a new task
    assert (
        client.patch(
            f"{API}/cameras/{camera}", json={"install_position": "south gate"}, headers=admin
        ).status_code
        == 200
    )
    newest = tasks(client, fs)[0]
    assert newest["state"] == "draft"
    assert newest["kind"] == "relocation"  # the camera's position moved


def test_shaanxi_change_is_due_in_thirty_days(
    client: TestClient, container: Container, admin: dict[str, str], clock: ManualClock
) -> None:
    fs = filed_site(client, container, admin, 3, BAOJI)
    r = client.patch(
        f"{API}/cameras/{fs.cameras[0]}", json={"field_of_view": "the yard"}, headers=admin
    )
    assert r.status_code == 200, r.text
    [task] = tasks(client, fs)
    assert task["kind"] == "change"
    assert task["due"] == (_today(clock) + timedelta(days=30)).isoformat()
    assert "shaanxi-2011:art15" in {c.split(".")[0] for c in task["citations"]}, task["citations"]
    assert task["recipient"]["organ_name"] == "宝鸡市公安局渭滨分局"


def test_a_profile_change_opens_a_task_too(
    client: TestClient, container: Container, admin: dict[str, str]
) -> None:
    fs = filed_site(client, container, admin, 4, BAOJI)
    body = profile_body(client, fs.manager, fs.site_id)
    body["network"] = {"kind": "internet", "description": "宽带"}
    r = client.put(f"{API}/sites/{fs.site_id}/filing-profile", json=body, headers=fs.manager)
    assert r.status_code == 200, r.text
    [task] = tasks(client, fs)
    assert task["diff"]["network.kind"] == {"before": "private", "after": "internet"}
    assert task["kind"] == "change"


def _remove_last_camera(
    client: TestClient, container: Container, admin: dict[str, str], clock: ManualClock, n: int,
    division: str,
) -> tuple[FiledSite, dict[str, Any]]:  # fmt: skip
    fs = filed_site(client, container, admin, n, division)
    on = _today(clock).isoformat()
    r = client.post(
        f"{API}/cameras/{fs.cameras[0]}/transitions",
        json={"state": "removed", "on": on},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    [task] = tasks(client, fs)
    assert task["kind"] == "removal"
    assert task["trigger_date"] == on
    assert task["diff"]["camera_count"] == {"before": 1, "after": 0}
    return fs, task


def test_removing_the_last_camera_in_chongqing_opens_a_removal_task_due_in_thirty_days(
    client: TestClient, container: Container, admin: dict[str, str], clock: ManualClock
) -> None:
    _, task = _remove_last_camera(client, container, admin, clock, 5, CHONGQING)
    assert task["due"] == (_today(clock) + timedelta(days=30)).isoformat()
    assert any(c.startswith("chongqing-2016:art16") for c in task["citations"]), task["citations"]


def test_removing_the_last_camera_in_xian_opens_a_removal_task_due_in_thirty_days(
    client: TestClient, container: Container, admin: dict[str, str], clock: ManualClock
) -> None:
    fs, task = _remove_last_camera(client, container, admin, clock, 6, XIAN)
    assert task["due"] == (_today(clock) + timedelta(days=30)).isoformat()
    assert any(c.startswith("xian-2020:art19") for c in task["citations"]), task["citations"]
    [pending] = [f for f in _findings(client, fs) if f["code"].startswith("filing.removal")]
    assert pending["code"] == "filing.removal.pending"
    assert pending["due"] == task["due"]


def test_a_removal_filing_for_the_last_camera_is_submitted_and_accepted(
    client: TestClient, container: Container, admin: dict[str, str], clock: ManualClock
) -> None:
    """The site has no camera left: the removal package asks for no cameras or storage (they are
    in the diff), the bureau accepts it and the removal filing is no longer owed."""
    fs, task = _remove_last_camera(client, container, admin, clock, 7, XIAN)
    r = client.post(f"{API}/filing-cases/{task['id']}/submit", json={}, headers=fs.manager)
    assert r.status_code == 201, r.text
    package = client.get(f"{API}/filing-cases/{task['id']}/package.json", headers=fs.manager)
    assert package.status_code == 200, package.text
    assert package.json()["cameras"] == []
    r = client.post(f"{API}/filing-cases/{task['id']}/accept", json={}, headers=fs.supervisor)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "accepted"
    assert not [f for f in _findings(client, fs) if f["code"].startswith("filing.removal")]
    # an initial filing of the emptied site still needs its cameras
    r = client.post(
        f"{API}/sites/{fs.site_id}/filing-cases", json={"kind": "initial"}, headers=fs.manager
    )
    assert r.status_code == 201, r.text
    r = client.post(f"{API}/filing-cases/{r.json()['id']}/submit", json={}, headers=fs.manager)
    assert r.status_code == 422, r.text
    fields = {e["field"] for e in r.json()["errors"]}
    assert {"package.cameras", "package.storage"} <= fields, r.text


def test_no_accepted_filing_no_task(
    client: TestClient, container: Container, admin: dict[str, str]
) -> None:
    from tests.api.builders import camera_body, make_site, make_unit

    unit = make_unit(client, admin, 7)
    site = make_site(client, admin, unit, LIAONING)
    r = client.post(f"{API}/cameras", json=camera_body(site, LIAONING, serial=701), headers=admin)
    assert r.status_code == 201, r.text
    r = client.patch(f"{API}/cameras/{r.json()['id']}", json={"field_of_view": "x"}, headers=admin)
    assert r.status_code == 200, r.text
    r = client.get(f"{API}/filing-cases", params={"site_id": site}, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json() == []


def test_a_change_whose_working_day_deadline_leaves_the_calendar_is_still_written(
    client: TestClient, container: Container, admin: dict[str, str], clock: ManualClock
) -> None:
    """3 working days from 30 December 2026 end in 2027, a year the calendar does not hold yet:
    the camera edit goes through, the task has no due date, the report says why."""
    fs = filed_site(client, container, admin, 8, LIAONING)
    clock.set(clock.now().replace(month=12, day=30))
    editor = login(client, container, "admin-late", Role.ADMIN)
    fs.manager = login(client, container, "manager-8", Role.UNIT_MANAGER, unit_id=fs.unit_id)
    r = client.patch(
        f"{API}/cameras/{fs.cameras[0]}", json={"field_of_view": "car park"}, headers=editor
    )
    assert r.status_code == 200, r.text
    [task] = tasks(client, fs)
    assert task["due"] is None
    assert any(c.startswith("liaoning-2008:") for c in task["citations"]), task["citations"]
    r = client.get(f"{API}/compliance/sites/{fs.site_id}", headers=fs.manager)
    assert r.status_code == 200, r.text
    codes = {f["code"] for f in r.json()["findings"]}
    assert "calendar.not_covered" in codes, codes


def test_a_moved_camera_owes_one_relocation_filing_not_also_a_change(
    client: TestClient, container: Container, admin: dict[str, str]
) -> None:
    """The registry marks the camera changed; the task is a relocation (its position moved):
    one filing that day covers both, the report shows one pending filing."""
    fs = filed_site(client, container, admin, 9, LIAONING)
    r = client.patch(
        f"{API}/cameras/{fs.cameras[0]}", json={"install_position": "south gate"}, headers=admin
    )
    assert r.status_code == 200, r.text
    [task] = tasks(client, fs)
    assert task["kind"] == "relocation"
    assert task["due"] == "2026-11-25"  # Liaoning: a relocation is a change (§8 F-02)
    codes = [f["code"] for f in _findings(client, fs) if not f["code"].startswith("filing.initial")]
    assert codes == ["filing.relocation.pending"], codes
