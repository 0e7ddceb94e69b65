"""Re-filing findings that clear (review 2.1, 2.2): one task follows changes made on several
days and a switch of kind, and accepting it clears every camera step it covered; a change made
while a filing is with the bureau becomes a task when that filing is accepted."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient

from custos.bootstrap import Container
from custos.domain.access import Role
from custos.domain.calendar import shanghai_date
from custos.domain.clock import ManualClock
from tests.api.builders import API, camera_body, credit_code, make_site, make_unit
from tests.api.filing_world import IN_SERVICE, FiledSite, filed_site, login, profile_body, tasks

BAOJI = "610302"  # 宝鸡市渭滨区: Shaanxi, 30 days
XIAN = "610113"  # 西安市雁塔区: removal 30 days


def _today(clock: ManualClock) -> date:
    return shanghai_date(clock.now())


def _later(
    client: TestClient, container: Container, clock: ManualClock, fs: FiledSite, days: int
) -> dict[str, str]:
    """Move the clock on; everyone signs in again (tokens expire). The admin's headers."""
    clock.advance(timedelta(days=days))
    fs.manager = login(client, container, f"manager-{fs.unit_id}", Role.UNIT_MANAGER, fs.unit_id)
    fs.supervisor = login(
        client, container, f"bureau-{fs.division}", Role.SUPERVISOR, None, fs.division
    )
    return login(client, container, "admin-windows", Role.ADMIN)


def _filing_findings(client: TestClient, fs: FiledSite) -> list[tuple[str, str]]:
    r = client.get(f"{API}/compliance/sites/{fs.site_id}", headers=fs.manager)
    assert r.status_code == 200, r.text
    return sorted(
        (f["code"], f["subject"])
        for f in r.json()["findings"]
        if f["code"].startswith("filing.") and not f["code"].startswith("filing.initial")
    )


def _patch(client: TestClient, headers: dict[str, str], camera: int, body: dict[str, Any]) -> None:
    r = client.patch(f"{API}/cameras/{camera}", json=body, headers=headers)
    assert r.status_code == 200, r.text


def _submit_and_accept(client: TestClient, fs: FiledSite, case_id: int) -> dict[str, Any]:
    r = client.post(f"{API}/filing-cases/{case_id}/submit", json={}, headers=fs.manager)
    assert r.status_code == 201, r.text
    r = client.post(f"{API}/filing-cases/{case_id}/accept", json={}, headers=fs.supervisor)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_changes_to_two_cameras_on_two_days_are_one_task_that_clears_both(
    client: TestClient, container: Container, admin: dict[str, str], clock: ManualClock
) -> None:
    fs = filed_site(client, container, admin, 41, BAOJI, cameras=2)
    monday = _today(clock)
    _patch(client, admin, fs.cameras[0], {"field_of_view": "the yard"})
    editor = _later(client, container, clock, fs, 2)
    _patch(client, editor, fs.cameras[1], {"field_of_view": "the gate"})
    [task] = tasks(client, fs)
    assert task["trigger_date"] == monday.isoformat()
    assert len(task["diff"]) == 2, task["diff"]
    # one filing owed (the task's), not also the second camera's step of two days later
    assert [code for code, _ in _filing_findings(client, fs)] == ["filing.change.pending"]
    done = _submit_and_accept(client, fs, task["id"])
    assert done["state"] == "accepted"
    assert _filing_findings(client, fs) == []
    assert [t["state"] for t in tasks(client, fs)] == ["accepted"]


def test_a_change_that_becomes_a_removal_clears_the_earlier_change_when_filed(
    client: TestClient, container: Container, admin: dict[str, str], clock: ManualClock
) -> None:
    fs = filed_site(client, container, admin, 42, XIAN)
    monday = _today(clock)
    _patch(client, admin, fs.cameras[0], {"field_of_view": "the yard"})
    [task] = tasks(client, fs)
    assert task["kind"] == "change"
    editor = _later(client, container, clock, fs, 2)
    r = client.post(
        f"{API}/cameras/{fs.cameras[0]}/transitions",
        json={"state": "removed", "on": _today(clock).isoformat()},
        headers=editor,
    )
    assert r.status_code == 200, r.text
    [task] = tasks(client, fs)
    assert task["kind"] == "removal"
    assert task["trigger_date"] == monday.isoformat()
    # the row is a removal now: it still covers Monday's changed step
    assert [code for code, _ in _filing_findings(client, fs)] == ["filing.removal.pending"]
    # filed: (a package with no camera left cannot be submitted yet, so the row is filed here)
    with container.uow() as uow:
        row = uow.filings.get(task["filing_id"])
        assert row is not None and row.kind.value == "removal"
        row.filed_on = _today(clock)
        uow.filings.update(row)
        uow.commit()
    assert _filing_findings(client, fs) == []


def _submitted_site(
    client: TestClient,
    container: Container,
    admin: dict[str, str],
    n: int,
    division: str,
    channel: str = "internal",
) -> tuple[FiledSite, int]:
    """A site whose initial filing is submitted, not yet decided."""
    unit = make_unit(client, admin, n, name=f"Unit {n}", credit_code=credit_code(n, division))
    site = make_site(client, admin, unit, division, name=f"Site {n}")
    manager = login(client, container, f"manager-{unit}", Role.UNIT_MANAGER, unit_id=unit)
    supervisor = login(client, container, f"bureau-{division}", Role.SUPERVISOR, None, division)
    body = camera_body(site, division, serial=n * 100 + 1, history=IN_SERVICE)
    r = client.post(f"{API}/cameras", json=body, headers=admin)
    assert r.status_code == 201, r.text
    camera = int(r.json()["id"])
    profile = profile_body(client, manager, site)
    r = client.put(f"{API}/sites/{site}/filing-profile", json=profile, headers=manager)
    assert r.status_code == 200, r.text
    r = client.post(f"{API}/sites/{site}/filing-cases", json={"kind": "initial"}, headers=manager)
    assert r.status_code == 201, r.text
    case = int(r.json()["id"])
    r = client.post(f"{API}/filing-cases/{case}/submit", json={"channel": channel}, headers=manager)
    assert r.status_code == 201, r.text
    return FiledSite(unit, site, division, manager, supervisor, [camera]), case


def test_a_change_while_the_initial_filing_is_submitted_becomes_a_task_on_acceptance(
    client: TestClient, container: Container, admin: dict[str, str], clock: ManualClock
) -> None:
    fs, initial = _submitted_site(client, container, admin, 43, BAOJI)
    changed_on = _today(clock)
    _patch(client, admin, fs.cameras[0], {"field_of_view": "the yard"})
    assert tasks(client, fs) == []  # the bureau decides on what was submitted
    with container.uow() as uow:
        case = uow.filing_cases.get(initial)
        assert case is not None and case.changed_since_submission == changed_on
    _later(client, container, clock, fs, 3)
    r = client.post(f"{API}/filing-cases/{initial}/accept", json={}, headers=fs.supervisor)
    assert r.status_code == 200, r.text
    [task] = tasks(client, fs)
    assert (task["kind"], task["state"]) == ("change", "draft")
    assert task["trigger_date"] == changed_on.isoformat()  # the change's date, not acceptance's
    assert task["due"] == (changed_on + timedelta(days=30)).isoformat()
    assert [k.rsplit(".", 1)[-1] for k in task["diff"]] == ["field_of_view"]
    assert [code for code, _ in _filing_findings(client, fs)] == ["filing.change.pending"]


def test_a_change_while_a_task_is_submitted_becomes_the_next_task_on_acceptance(
    client: TestClient, container: Container, admin: dict[str, str], clock: ManualClock
) -> None:
    fs = filed_site(client, container, admin, 44, BAOJI)
    _patch(client, admin, fs.cameras[0], {"field_of_view": "the yard"})
    [first] = tasks(client, fs)
    r = client.post(f"{API}/filing-cases/{first['id']}/submit", json={}, headers=fs.manager)
    assert r.status_code == 201, r.text
    editor = _later(client, container, clock, fs, 1)
    changed_on = _today(clock)
    _patch(client, editor, fs.cameras[0], {"retention_days": 60})
    assert [t["state"] for t in tasks(client, fs)] == ["submitted"]
    _later(client, container, clock, fs, 2)
    r = client.post(f"{API}/filing-cases/{first['id']}/accept", json={}, headers=fs.supervisor)
    assert r.status_code == 200, r.text
    newest, accepted = tasks(client, fs)
    assert accepted["state"] == "accepted"
    assert (newest["state"], newest["trigger_date"]) == ("draft", changed_on.isoformat())
    assert [k.rsplit(".", 1)[-1] for k in newest["diff"]] == ["days"], newest["diff"]
    assert [code for code, _ in _filing_findings(client, fs)] == ["filing.change.pending"]


def test_nothing_changed_while_submitted_opens_nothing_on_acceptance(
    client: TestClient, container: Container, admin: dict[str, str], clock: ManualClock
) -> None:
    fs, initial = _submitted_site(client, container, admin, 45, BAOJI)
    _patch(client, admin, fs.cameras[0], {"field_of_view": "the yard"})
    _patch(client, admin, fs.cameras[0], {"field_of_view": "entrance and lobby"})  # undone
    r = client.post(f"{API}/filing-cases/{initial}/accept", json={}, headers=fs.supervisor)
    assert r.status_code == 200, r.text
    assert tasks(client, fs) == []
    assert _filing_findings(client, fs) == []


def test_a_change_while_a_paper_filing_is_pending_becomes_a_task_when_its_decision_is_recorded(
    client: TestClient, container: Container, admin: dict[str, str], clock: ManualClock
) -> None:
    fs, initial = _submitted_site(client, container, admin, 46, BAOJI, channel="paper")
    changed_on = _today(clock)
    _patch(client, admin, fs.cameras[0], {"retention_days": 60})
    assert tasks(client, fs) == []
    _later(client, container, clock, fs, 1)
    body = {
        "decision": "accepted",
        "decided_on": _today(clock).isoformat(),
        "filing_number": "宝公(渭滨)备字〔2026〕第0046号",
    }
    r = client.post(f"{API}/filing-cases/{initial}/decision", json=body, headers=fs.manager)
    assert r.status_code == 200, r.text
    [task] = tasks(client, fs)
    assert (task["kind"], task["state"]) == ("change", "draft")
    assert task["trigger_date"] == changed_on.isoformat()
