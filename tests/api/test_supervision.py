"""The bureau's supervision console (docs/design/filing.md D5) through the API: two counties,
A (610302 宝鸡市渭滨区) and B (610113 西安市雁塔区), a unit in each. A supervisor sees its
jurisdiction and nothing else on every route; one with no jurisdiction sees nothing; a unit
manager is refused; the league table is ranked and exported as CSV and PDF; the map marks the
sites placed at their county's centroid."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from custos.bootstrap import Container
from custos.domain.access import Role
from custos.domain.access_requests import AccessRequest, FootageScope
from custos.domain.accounting import CameraFault, FaultKind
from custos.domain.alarms import Alarm, AlarmKind
from custos.domain.alarms import Severity as AlarmSeverity
from custos.domain.calendar import shanghai_date
from custos.domain.filing_case import CaseState, FilingCase, Recipient
from custos.domain.kinds import AccessAction
from custos.domain.register import RegisterEntry, RegisterKind
from custos.domain.rules.facts import FilingKind
from custos.domain.rules.terms import RequesterKind
from custos.domain.users import SYSTEM, UserProfile
from tests.api.builders import API, PASSWORD, camera_body, make_site, make_unit
from tests.api.filing_world import IN_SERVICE, login

A, B, BAOJI, SHAANXI = "610302", "610113", "610300", "610000"
ROUTES = (
    "overview",
    "units",
    "filings",
    "findings",
    "cameras",
    "requests",
    "league",
    "league?format=csv",
    "league?format=pdf",
    "map",
)
JSON_ROUTES = [r for r in ROUTES if "format=" not in r]
# The names that must show in A's console and never in anyone else's
A_NAMES = ("宝鸡渭滨商场", "渭滨主楼", "渭滨副楼", "渭滨东门")
B_NAMES = ("西安雁塔酒店", "雁塔主楼", "雁塔西门", "雁塔警官", "雁塔调取")


@dataclass
class Counties:
    unit_a: int
    unit_b: int
    site_a: int
    site_a2: int  # no coordinates: placed at 渭滨区's centroid
    site_b: int
    camera_a: int
    camera_b: int
    case_a: int
    case_b: int


def _camera(client: TestClient, admin: dict[str, str], site: int, division: str, name: str) -> int:
    body = camera_body(site, division, serial=1, name=name)
    r = client.post(f"{API}/cameras", json=body, headers=admin)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _case(container: Container, site: int, unit: int, division: str, state: CaseState) -> int:
    now = container.clock.now()
    organ = container.divisions.local_name(division)
    case = FilingCase(
        None,
        site,
        unit,
        FilingKind.INITIAL,
        None,
        Recipient(division, f"{organ}公安局"),
        state,
        now,
        shanghai_date(now),
        return_reasons=["缺设计方案"] if state is CaseState.RETURNED else [],
    )
    with container.uow() as uow:
        added = uow.filing_cases.add(case)
        uow.commit()
    return added.id or 0


def _officer_traces(container: Container, officer: int, camera: int, unit: int, tag: str) -> None:
    """An access request the officer filed and a register entry of the officer's viewing."""
    now = container.clock.now()
    scope = FootageScope((camera,), now - timedelta(hours=3), now - timedelta(hours=2))
    request = AccessRequest(
        None,
        AccessAction.VIEW,
        scope,
        RequesterKind.POLICE,
        f"{tag}分局",
        "刑侦大队",
        "《公安机关办理刑事案件程序规定》",
        f"{tag}调取",
        (),
        None,
        None,
        now + timedelta(days=3),
        officer,
        now,
    )
    entry = RegisterEntry(
        None,
        now - timedelta(hours=1),
        RegisterKind.VIEW,
        unit,
        officer,
        (),
        f"{tag}分局",
        f"{tag}查阅",
        (camera,),
        scope.start,
        scope.end,
    )
    with container.uow() as uow:
        uow.access_requests.add(request)
        uow.register.add(entry)
        uow.commit()


@pytest.fixture
def counties(client: TestClient, container: Container, admin: dict[str, str]) -> Counties:
    unit_a = make_unit(client, admin, 1, name="宝鸡渭滨商场")
    unit_b = make_unit(client, admin, 2, name="西安雁塔酒店")
    site_a = make_site(client, admin, unit_a, A, name="渭滨主楼", latitude=34.36, longitude=107.14)
    site_a2 = make_site(client, admin, unit_a, A, name="渭滨副楼", latitude=None, longitude=None)
    site_b = make_site(client, admin, unit_b, B, name="雁塔主楼", latitude=34.2, longitude=108.9)
    camera_a = _camera(client, admin, site_a, A, "渭滨东门")
    camera_b = _camera(client, admin, site_b, B, "雁塔西门")
    for step in IN_SERVICE:  # in service since March, never filed: the initial filing overdue
        r = client.post(f"{API}/cameras/{camera_a}/transitions", json=step, headers=admin)
        assert r.status_code == 200, r.text
    now = container.clock.now()
    with container.uow() as uow:
        uow.camera_faults.add(
            CameraFault(None, camera_a, FaultKind.OFFLINE, now - timedelta(hours=1), None, "x")
        )
        uow.camera_faults.add(
            CameraFault(
                None,
                camera_b,
                FaultKind.GAP,
                now - timedelta(hours=5),
                now - timedelta(hours=4),
                "no_segment",
            )
        )
        subject = f"camera:{camera_b}:blur"
        uow.alarms.add(
            Alarm(
                None,
                AlarmKind.DIAGNOSIS,
                AlarmSeverity.WARNING,
                subject,
                "模糊",
                now,
                camera_id=camera_b,
            )
        )
        uow.commit()
    case_a = _case(container, site_a, unit_a, A, CaseState.SUBMITTED)
    case_b = _case(container, site_b, unit_b, B, CaseState.RETURNED)
    officers = {}
    for username, name, area in (("officer-a", "渭滨警官", A), ("officer-b", "雁塔警官", B)):
        profile = UserProfile(full_name=name, jurisdiction=area)
        user = container.auth.create_user(SYSTEM, username, Role.OFFICER, PASSWORD, None, profile)
        officers[area] = user.id or 0
    _officer_traces(container, officers[A], camera_a, unit_a, "渭滨")
    _officer_traces(container, officers[B], camera_b, unit_b, "雁塔")
    return Counties(unit_a, unit_b, site_a, site_a2, site_b, camera_a, camera_b, case_a, case_b)


def _supervisor(
    client: TestClient, container: Container, name: str, area: str | None
) -> dict[str, str]:
    return login(client, container, name, Role.SUPERVISOR, jurisdiction=area)


def _get(client: TestClient, headers: dict[str, str], route: str, **params: str) -> Any:
    r = client.get(f"{API}/supervision/{route}", headers=headers, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def _text(body: Any) -> str:
    return json.dumps(body, ensure_ascii=False)


def test_a_county_supervisor_sees_its_county_and_nothing_of_another(
    client: TestClient, container: Container, counties: Counties
) -> None:
    sup = _supervisor(client, container, "sup-weibin", A)
    for route in JSON_ROUTES:
        text = _text(_get(client, sup, route))
        for name in B_NAMES:
            assert name not in text, (route, name)
    exported = client.get(f"{API}/supervision/league?format=csv", headers=sup).content
    assert "宝鸡渭滨商场".encode() in exported and "西安雁塔酒店".encode() not in exported
    pdf = client.get(f"{API}/supervision/league?format=pdf", headers=sup).content
    pdf_text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "宝鸡渭滨商场" in pdf_text and "西安雁塔酒店" not in pdf_text
    o = _get(client, sup, "overview")
    assert o["jurisdiction"] == {"code": A, "full_name": "陕西省宝鸡市渭滨区"}
    assert o["counts"]["units"] == 1 and o["counts"]["sites"] == 2
    assert o["counts"]["cameras"] == 1 and o["counts"]["cameras_in_service"] == 1
    [unit] = _get(client, sup, "units")["units"]
    assert (unit["id"], unit["name"]) == (counties.unit_a, "宝鸡渭滨商场")
    sites = {s["name"]: s for s in unit["sites"]}
    assert set(sites) == {"渭滨主楼", "渭滨副楼"}
    assert sites["渭滨主楼"]["filing"]["state"] == "submitted"
    assert sites["渭滨主楼"]["filing"]["case_id"] == counties.case_a
    assert sites["渭滨副楼"]["filing"]["state"] == "not_filed"
    assert sites["渭滨主楼"]["division_name"] == "陕西省宝鸡市渭滨区"
    assert (sites["渭滨主楼"]["cameras"], sites["渭滨主楼"]["cameras_in_service"]) == (1, 1)
    # filings: A's initial filing is overdue (in service since March), its case submitted
    f = _get(client, sup, "filings")
    assert [(x["site_id"], x["kind"]) for x in f["overdue"]] == [(counties.site_a, "initial")]
    assert [x["case_id"] for x in f["submitted"]] == [counties.case_a]
    assert f["returned"] == []
    assert _get(client, sup, "filings", state="submitted") == {
        **{k: f[k] for k in ("as_of", "jurisdiction", "division", "system")},
        "submitted": f["submitted"],
    }
    # findings: every finding is on an A site, counted by severity and by article
    found = _get(client, sup, "findings")
    assert found["items"], "an in-service camera never filed has findings"
    assert {i["site_id"] for i in found["items"]} <= {counties.site_a, counties.site_a2}
    assert sum(found["by_severity"].values()) == len(found["items"])
    overdue = [i for i in found["items"] if i["finding"]["code"] == "filing.initial.overdue"]
    assert overdue and overdue[0]["finding"]["text"]
    rules = [r for i in found["items"] for r in i["finding"]["rule_ids"]]
    assert {a["rule_id"]: a["count"] for a in found["by_article"]} == {
        r: rules.count(r) for r in set(rules)
    }
    # cameras: A's camera offline now and this month; B's fault and alarm are not shown
    cams = _get(client, sup, "cameras")
    assert [(c["camera_id"], c["faults"][0]["kind"]) for c in cams["now"]] == [
        (counties.camera_a, "offline")
    ]
    assert [(c["camera_id"], c["faults"]) for c in cams["month"]] == [(counties.camera_a, 1)]
    assert cams["month"][0]["seconds"] == 3600
    # requests: the organ's own officer's request and register entry, not B's officer's
    req = _get(client, sup, "requests")
    assert {o["full_name"] or o["username"] for o in req["officers"]} == {"渭滨警官", "sup-weibin"}
    assert [r["purpose"] for r in req["requests"]] == ["渭滨调取"]
    assert [e["purpose"] for e in req["register"]] == ["渭滨查阅"]


def test_the_other_county_sees_its_own_returned_case_fault_and_alarm(
    client: TestClient, container: Container, counties: Counties
) -> None:
    sup = _supervisor(client, container, "sup-yanta", B)
    for route in JSON_ROUTES:
        text = _text(_get(client, sup, route))
        for name in A_NAMES:
            assert name not in text, (route, name)
    f = _get(client, sup, "filings", state="returned")
    assert [(x["case_id"], x["return_reasons"]) for x in f["returned"]] == [
        (counties.case_b, ["缺设计方案"])
    ]
    cams = _get(client, sup, "cameras")
    [now] = cams["now"]
    assert now["camera_id"] == counties.camera_b and now["faults"] == []
    assert [a["kind"] for a in now["alarms"]] == ["diagnosis"]
    [month] = cams["month"]
    assert (month["camera_id"], month["faults"], month["seconds"]) == (counties.camera_b, 1, 3600)


def test_a_city_supervisor_sees_its_county_but_not_another_citys(
    client: TestClient, container: Container, counties: Counties
) -> None:
    sup = _supervisor(client, container, "sup-baoji", BAOJI)
    for route in JSON_ROUTES:
        text = _text(_get(client, sup, route))
        assert "宝鸡渭滨商场" in text or route in ("requests",), route
        for name in B_NAMES:
            assert name not in text, (route, name)
    # narrowed to a county of the city, or to one outside it (nothing), or wider (the city)
    assert [u["id"] for u in _get(client, sup, "units", division=A)["units"]] == [counties.unit_a]
    assert _get(client, sup, "units", division=B)["units"] == []
    assert [u["id"] for u in _get(client, sup, "units", division=SHAANXI)["units"]] == [
        counties.unit_a
    ]
    r = client.get(f"{API}/supervision/units", params={"division": "61"}, headers=sup)
    assert r.status_code == 422 and r.json()["errors"][0]["field"].endswith("division")
    province = _supervisor(client, container, "sup-shaanxi", SHAANXI)
    names = {u["name"] for u in _get(client, province, "units")["units"]}
    assert names == {"宝鸡渭滨商场", "西安雁塔酒店"}


def test_a_supervisor_without_jurisdiction_sees_nothing(
    client: TestClient, container: Container, counties: Counties
) -> None:
    sup = _supervisor(client, container, "sup-nowhere", None)
    o = _get(client, sup, "overview")
    assert o["jurisdiction"] is None
    assert o["units"] == [] and o["findings"]["items"] == []
    assert all(v == [] for v in o["filings"].values())
    assert o["cameras"] == {"now": [], "month": []}
    assert o["requests"] == {"officers": [], "requests": [], "register": []}
    assert _get(client, sup, "league")["units"] == []
    m = _get(client, sup, "map")
    assert (m["sites"], m["counties"], m["bounds"]) == ([], [], None)
    for route in JSON_ROUTES:
        text = _text(_get(client, sup, route))
        for name in (*A_NAMES, *B_NAMES):
            assert name not in text, (route, name)


def test_a_unit_manager_is_refused_every_supervision_route(
    client: TestClient, container: Container, counties: Counties
) -> None:
    manager = login(client, container, "manager-a", Role.UNIT_MANAGER, unit_id=counties.unit_a)
    for route in ROUTES:
        r = client.get(f"{API}/supervision/{route}", headers=manager)
        assert r.status_code == 403, route
    assert client.get(f"{API}/supervision/overview").status_code == 401


def test_the_league_ranks_by_findings_and_overdue_items_and_exports_csv_and_pdf(
    client: TestClient, container: Container, counties: Counties
) -> None:
    sup = _supervisor(client, container, "sup-league", SHAANXI)
    league = _get(client, sup, "league")
    rows = league["units"]
    assert {r["unit_name"] for r in rows} == {"宝鸡渭滨商场", "西安雁塔酒店"}
    found = _get(client, sup, "findings")["items"]
    for row in rows:  # the score is the findings API's, recounted
        mine = [i["finding"] for i in found if i["unit_id"] == row["unit_id"]]
        overdue = [
            f for f in mine if f["code"].startswith("filing.") and f["code"].endswith(".overdue")
        ]
        opened = [f for f in mine if f["severity"] != "info" and f not in overdue]
        assert row["overdue_filings"] == len(overdue)
        assert row["open_findings"] == len(opened)
        assert row["score"] == len(opened) + 3 * (len(overdue) + row["overdue_notices"])
    a = next(r for r in rows if r["unit_id"] == counties.unit_a)
    assert a["overdue_filings"] == 1 and a["rank"] == 1  # the overdue filing weighs 3
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    assert [r["rank"] for r in rows] == sorted(r["rank"] for r in rows)
    # CSV: UTF-8 with a BOM, headers in the caller's language, the same rows
    for lang, header in (("zh-CN", "名次"), ("en", "Rank")):
        r = client.get(
            f"{API}/supervision/league?format=csv", headers={**sup, "Accept-Language": lang}
        )
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        assert r.content.startswith(b"\xef\xbb\xbf")
        parsed = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert parsed[0][0] == header and len(parsed[0]) == 8
        assert [(p[1], int(p[7])) for p in parsed[1:]] == [
            (r["unit_name"], r["score"]) for r in rows
        ]
    # PDF: a real PDF naming the units
    r = client.get(f"{API}/supervision/league?format=pdf", headers=sup)
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(r.content)).pages)
    assert "宝鸡渭滨商场" in text and "西安雁塔酒店" in text and "名次" in text
    assert "Rank" not in text
    r = client.get(f"{API}/supervision/league?format=pdf", headers={**sup, "Accept-Language": "en"})
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(r.content)).pages)
    assert "Rank" in text and "名次" in text and "宝鸡渭滨商场" in text  # bilingual headings


def test_the_map_places_a_site_without_coordinates_at_its_countys_centroid(
    client: TestClient, container: Container, counties: Counties
) -> None:
    sup = _supervisor(client, container, "sup-map", A)
    m = _get(client, sup, "map")
    sites = {s["site_id"]: s for s in m["sites"]}
    assert set(sites) == {counties.site_a, counties.site_a2}
    own = sites[counties.site_a]
    assert (own["longitude"], own["latitude"], own["approximate"]) == (107.14, 34.36, False)
    placed = sites[counties.site_a2]
    centroid = container.divisions.centroid(A)
    assert centroid is not None
    assert (placed["longitude"], placed["latitude"]) == centroid and placed["approximate"] is True
    assert [(c["code"], c["name"]) for c in m["counties"]] == [(A, "渭滨区")]
    assert m["bounds"]["west"] <= 107.14 <= m["bounds"]["east"]
    city = _get(client, _supervisor(client, container, "sup-map-city", BAOJI), "map")
    codes = [c["code"] for c in city["counties"]]
    assert A in codes and codes == [d.code for d in container.divisions.children(BAOJI)]
    # 凤翔区 has no coordinates in the table: drawn at 宝鸡市's, said so
    [fengxiang] = [c for c in city["counties"] if c["approximate"]]
    assert fengxiang["code"] == "610305"
    assert (fengxiang["longitude"], fengxiang["latitude"]) == container.divisions.centroid(BAOJI)
    assert all(c["code"].startswith("6103") and c["name"] for c in city["counties"])


def test_an_overdue_rectification_notice_weighs_three_and_is_a_finding_of_its_unit(
    client: TestClient, container: Container, counties: Counties
) -> None:
    sup = _supervisor(client, container, "sup-notice", A)
    sup_id = next(u.id for u in container.auth.list_users() if u.username == "sup-notice")
    today = shanghai_date(container.clock.now())
    plan = {"unit_id": counties.unit_a, "planned_on": today.isoformat(), "inspector_ids": [sup_id]}
    r = client.post(f"{API}/inspections", json=plan, headers=sup)
    assert r.status_code == 201, r.text
    inspection = r.json()
    for item in inspection["items"]:
        body = {"result": "fail", "due_days": 1} if item["key"] == "signage" else {"result": "pass"}
        url = f"{API}/inspections/{inspection['id']}/items/{item['key']}"
        assert client.put(url, json=body, headers=sup).status_code == 200
    r = client.post(f"{API}/inspections/{inspection['id']}/sign", headers=sup)
    assert r.status_code == 200 and r.json()["state"] == "closed", r.text
    before = _row(_get(client, sup, "league"), counties.unit_a)
    assert before["overdue_notices"] == 0  # issued, not yet due
    with container.uow() as uow:
        [notice] = uow.rectifications.find([counties.unit_a])
        notice.due_on = today - timedelta(days=2)
        uow.rectifications.update(notice)
        uow.commit()
    after = _row(_get(client, sup, "league"), counties.unit_a)
    assert after["overdue_notices"] == 1 and after["score"] == before["score"] + 3
    [item] = [
        i
        for i in _get(client, sup, "findings")["items"]
        if i["finding"]["code"] == "rectification.overdue"
    ]
    assert (item["unit_id"], item["site_id"], item["division_code"]) == (counties.unit_a, None, A)
    assert item["finding"]["severity"] == "critical"
    assert _get(client, sup, "overview")["counts"]["notices_overdue"] == 1
    other = _supervisor(client, container, "sup-notice-b", B)
    assert "rectification.overdue" not in _text(_get(client, other, "findings"))
    assert all(r["overdue_notices"] == 0 for r in _get(client, other, "league")["units"])


def _row(league: dict[str, Any], unit_id: int) -> dict[str, Any]:
    return next(r for r in league["units"] if r["unit_id"] == unit_id)
