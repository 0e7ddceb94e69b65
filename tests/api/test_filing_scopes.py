"""Narrower scopes on the filing routes and the console (review findings 1.2, 1.3): a supervisor
scoped to one unit of its county does not reach another unit's case in the same county (list,
read, package, accept, return: nothing changes); a unit manager scoped to one site (or to a
camera of it) does not reach the other site's case; a county's supervisor does not see (console
overview, league, GET /rectifications) a notice of a city-level inspection that also covered
another county."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from custos.bootstrap import Container
from custos.domain.access import Role
from custos.domain.calendar import shanghai_date
from custos.domain.users import SYSTEM, UserProfile
from tests.api.builders import API, PASSWORD, camera_body, make_site, make_unit
from tests.api.filing_world import IN_SERVICE, profile_body

WEIBIN, JINTAI, BAOJI = "610302", "610303", "610300"


def _user(
    client: TestClient,
    container: Container,
    name: str,
    role: Role,
    unit_id: int | None = None,
    jurisdiction: str | None = None,
    scopes: tuple[str, ...] = (),
) -> dict[str, str]:
    profile = UserProfile(full_name=name, jurisdiction=jurisdiction, scopes=scopes)
    container.auth.create_user(SYSTEM, name, role, PASSWORD, unit_id, profile)
    r = client.post(f"{API}/auth/login", json={"username": name, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _camera(client: TestClient, admin: dict[str, str], site: int, division: str, n: int) -> int:
    body = camera_body(site, division, serial=n, history=IN_SERVICE)
    r = client.post(f"{API}/cameras", json=body, headers=admin)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _submitted(client: TestClient, manager: dict[str, str], site: int) -> int:
    r = client.put(
        f"{API}/sites/{site}/filing-profile",
        json=profile_body(client, manager, site),
        headers=manager,
    )
    assert r.status_code == 200, r.text
    r = client.post(f"{API}/sites/{site}/filing-cases", json={"kind": "initial"}, headers=manager)
    assert r.status_code == 201, r.text
    case = int(r.json()["id"])
    r = client.post(f"{API}/filing-cases/{case}/submit", json={}, headers=manager)
    assert r.status_code == 201, r.text
    return case


def _case(client: TestClient, admin: dict[str, str], case: int) -> dict[str, Any]:
    r = client.get(f"{API}/filing-cases/{case}", headers=admin)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_a_unit_scoped_supervisor_reaches_no_other_unit_of_its_county(
    client: TestClient, container: Container, admin: dict[str, str]
) -> None:
    unit_a = make_unit(client, admin, 1, name="渭滨甲单位")
    unit_b = make_unit(client, admin, 2, name="渭滨乙单位")
    site_a = make_site(client, admin, unit_a, WEIBIN, name="甲商场")
    site_b = make_site(client, admin, unit_b, WEIBIN, name="乙商场")
    _camera(client, admin, site_a, WEIBIN, 1)
    _camera(client, admin, site_b, WEIBIN, 2)
    manager_a = _user(client, container, "manager-a", Role.UNIT_MANAGER, unit_a)
    manager_b = _user(client, container, "manager-b", Role.UNIT_MANAGER, unit_b)
    case_a = _submitted(client, manager_a, site_a)
    case_b = _submitted(client, manager_b, site_b)
    sup = _user(client, container, "sup-unit-a", Role.SUPERVISOR, None, WEIBIN, (f"unit:{unit_a}",))
    before = _case(client, admin, case_b)

    # the scoped supervisor lists, reads and may decide its own unit's case only
    assert [c["id"] for c in client.get(f"{API}/filing-cases", headers=sup).json()] == [case_a]
    listed = client.get(f"{API}/filing-cases", params={"site_id": site_b}, headers=sup)
    assert listed.status_code == 200 and listed.json() == []
    assert client.get(f"{API}/filing-cases/{case_b}", headers=sup).status_code == 404
    for part in ("package.json", "package.pdf"):
        assert client.get(f"{API}/filing-cases/{case_b}/{part}", headers=sup).status_code == 404
    assert (
        client.get(f"{API}/sites/{site_b}/filing-package/preview", headers=sup).status_code == 404
    )
    accept = client.post(f"{API}/filing-cases/{case_b}/accept", json={}, headers=sup)
    assert accept.status_code in (403, 404), accept.text
    ret = client.post(
        f"{API}/filing-cases/{case_b}/return", json={"reasons": ["越权退回"]}, headers=sup
    )
    assert ret.status_code in (403, 404), ret.text
    after = _case(client, admin, case_b)
    assert after == before and after["state"] == "submitted"

    assert client.get(f"{API}/filing-cases/{case_a}/package.json", headers=sup).status_code == 200
    done = client.post(f"{API}/filing-cases/{case_a}/accept", json={}, headers=sup)
    assert done.status_code == 200 and done.json()["state"] == "accepted", done.text

    # the same county's supervisor without a scope reaches both (and accepts B's case)
    county = _user(client, container, "sup-weibin", Role.SUPERVISOR, None, WEIBIN)
    ids = {c["id"] for c in client.get(f"{API}/filing-cases", headers=county).json()}
    assert ids == {case_a, case_b}
    done = client.post(f"{API}/filing-cases/{case_b}/accept", json={}, headers=county)
    assert done.status_code == 200, done.text


def test_a_site_or_camera_scoped_manager_reaches_only_that_site(
    client: TestClient, container: Container, admin: dict[str, str]
) -> None:
    unit = make_unit(client, admin, 3, name="渭滨丙单位")
    site_1 = make_site(client, admin, unit, WEIBIN, name="丙一号楼")
    site_2 = make_site(client, admin, unit, WEIBIN, name="丙二号楼")
    camera_1 = _camera(client, admin, site_1, WEIBIN, 3)
    _camera(client, admin, site_2, WEIBIN, 4)
    manager = _user(client, container, "manager-c", Role.UNIT_MANAGER, unit)
    case_1 = _submitted(client, manager, site_1)
    case_2 = _submitted(client, manager, site_2)
    by_site = _user(client, container, "manager-c1", Role.UNIT_MANAGER, unit, None, (f"site:{site_1}",))  # fmt: skip
    by_camera = _user(
        client, container, "manager-c1-cam", Role.UNIT_MANAGER, unit, None, (f"camera:{camera_1}",)
    )
    for who in (by_site, by_camera):
        assert [c["id"] for c in client.get(f"{API}/filing-cases", headers=who).json()] == [case_1]
        assert client.get(f"{API}/filing-cases/{case_1}", headers=who).status_code == 200
        assert client.get(f"{API}/filing-cases/{case_2}", headers=who).status_code == 404
        assert (
            client.get(f"{API}/filing-cases/{case_2}/package.json", headers=who).status_code == 404
        )
        assert client.get(f"{API}/sites/{site_2}/filing-profile", headers=who).status_code == 404
        assert (
            client.get(f"{API}/sites/{site_2}/filing-package/preview", headers=who).status_code
            == 404
        )
    # the unscoped manager of the unit reaches both
    ids = {c["id"] for c in client.get(f"{API}/filing-cases", headers=manager).json()}
    assert ids == {case_1, case_2}


def test_a_county_does_not_see_a_city_inspections_notice_that_also_covers_another_county(
    client: TestClient, container: Container, admin: dict[str, str]
) -> None:
    unit = make_unit(client, admin, 4, name="宝鸡跨区单位")
    make_site(client, admin, unit, WEIBIN, name="渭滨门店")
    make_site(client, admin, unit, JINTAI, name="金台门店")
    city = _user(client, container, "sup-baoji", Role.SUPERVISOR, None, BAOJI)
    county = _user(client, container, "sup-weibin-2", Role.SUPERVISOR, None, WEIBIN)
    city_id = next(u.id for u in container.auth.list_users() if u.username == "sup-baoji")
    today = shanghai_date(container.clock.now())
    plan = {"unit_id": unit, "planned_on": today.isoformat(), "inspector_ids": [city_id]}
    r = client.post(f"{API}/inspections", json=plan, headers=city)
    assert r.status_code == 201, r.text
    inspection = r.json()
    assert sorted(inspection["division_codes"]) == [WEIBIN, JINTAI]
    for item in inspection["items"]:
        body = {"result": "fail", "due_days": 1} if item["key"] == "signage" else {"result": "pass"}
        url = f"{API}/inspections/{inspection['id']}/items/{item['key']}"
        assert client.put(url, json=body, headers=city).status_code == 200
    r = client.post(f"{API}/inspections/{inspection['id']}/sign", headers=city)
    assert r.status_code == 200, r.text
    with container.uow() as uow:
        [notice] = uow.rectifications.find([unit])
        assert sorted(notice.division_codes) == [WEIBIN, JINTAI]
        notice.due_on = today - timedelta(days=2)
        uow.rectifications.update(notice)
        uow.commit()

    def league_row(who: dict[str, str]) -> dict[str, Any]:
        r = client.get(f"{API}/supervision/league", headers=who)
        assert r.status_code == 200, r.text
        return next(u for u in r.json()["units"] if u["unit_id"] == unit)

    def overdue(who: dict[str, str]) -> int:
        r = client.get(f"{API}/supervision/overview", headers=who)
        assert r.status_code == 200, r.text
        return int(r.json()["counts"]["notices_overdue"])

    def listed(who: dict[str, str]) -> set[int]:
        r = client.get(f"{API}/rectifications", headers=who)
        assert r.status_code == 200, r.text
        return {n["id"] for n in r.json()}

    # the city's supervisor sees it everywhere (the control)
    assert overdue(city) == 1 and league_row(city)["overdue_notices"] == 1
    assert listed(city) == {notice.id}
    # the county sees the unit (its 渭滨 site) but not the notice that also covers 金台
    assert overdue(county) == 0 and league_row(county)["overdue_notices"] == 0
    assert listed(county) == set()
    assert client.get(f"{API}/rectifications/{notice.id}", headers=county).status_code == 404
    findings = client.get(f"{API}/supervision/findings", headers=county).json()
    assert "rectification.overdue" not in str(findings)
