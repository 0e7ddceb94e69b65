"""Registering units, sites and cameras: what is accepted, what is refused and why."""

from __future__ import annotations

from fastapi.testclient import TestClient

from custos.bootstrap import Container
from custos.domain.access import Role

from .builders import (
    API,
    address_code,
    camera_body,
    credit_code,
    fields,
    make_site,
    make_unit,
    rule_ids,
    site_body,
    unit_body,
)
from .conftest import LoginAs


def _count(client: TestClient, headers: dict[str, str], what: str) -> int:
    return len(client.get(f"{API}/{what}", headers=headers).json())


# ---- units ----------------------------------------------------------------------------------


def test_unit_with_bad_credit_code_is_refused_and_nothing_is_created(
    client: TestClient, admin: dict[str, str]
) -> None:
    good = credit_code(7)
    bad_check = good[:-1] + ("0" if good[-1] != "0" else "1")
    for bad in (bad_check, good[:-1], "91350100m000100y43", "91110105I00000011X"):
        r = client.post(f"{API}/units", json=unit_body(credit_code=bad), headers=admin)
        assert r.status_code == 422, bad
        assert fields(r.json()) == {"credit_code"}
    assert _count(client, admin, "units") == 0


def test_duplicate_credit_code_is_a_conflict(client: TestClient, admin: dict[str, str]) -> None:
    make_unit(client, admin, 1)
    r = client.post(f"{API}/units", json=unit_body(1, name="Other"), headers=admin)
    assert r.status_code == 409
    assert fields(r.json()) == {"credit_code"}


def test_unknown_unit_kind_names_the_field(client: TestClient, admin: dict[str, str]) -> None:
    r = client.post(f"{API}/units", json=unit_body(kind="cooperative"), headers=admin)
    assert r.status_code == 422
    assert fields(r.json()) == {"kind"}


# ---- sites ----------------------------------------------------------------------------------


def test_site_with_bad_division_code_or_unknown_category_is_refused(
    client: TestClient, admin: dict[str, str]
) -> None:
    unit = make_unit(client, admin)
    for division in ("11010", "1101055", "99010500"[:6], "11a105"):
        r = client.post(f"{API}/sites", json=site_body(unit, division), headers=admin)
        assert r.status_code == 422, division
        assert "division_code" in fields(r.json())
    r = client.post(f"{API}/sites", json=site_body(unit, categories=["casino"]), headers=admin)
    assert r.status_code == 422
    assert "casino" in r.text
    assert _count(client, admin, "sites") == 0


def test_public_place_article_must_agree_with_public_flag(
    client: TestClient, admin: dict[str, str]
) -> None:
    unit = make_unit(client, admin)
    body = site_body(unit, is_public_place=False, public_place_article="art9")
    r = client.post(f"{API}/sites", json=body, headers=admin)
    assert r.status_code == 422
    assert fields(r.json()) == {"public_place_article"}


def test_site_reports_the_rule_packs_of_its_division(
    client: TestClient, admin: dict[str, str]
) -> None:
    unit = make_unit(client, admin)
    expectations = {
        "110105": ["national-2025", "beijing-2007"],
        "210102": ["national-2025", "liaoning-2008"],
        "610402": ["national-2025", "shaanxi-2011"],
        "500103": ["national-2025", "chongqing-2016"],
        "610113": ["national-2025", "shaanxi-2011", "xian-2020"],
        "440305": ["national-2025"],
    }
    for division, packs in expectations.items():
        site = make_site(client, admin, unit, division)
        got = client.get(f"{API}/sites/{site}", headers=admin).json()["rule_packs"]
        assert sorted(got) == sorted(packs), division


# ---- cameras: field rules -------------------------------------------------------------------


def test_malformed_address_codes_are_refused_naming_the_field(
    client: TestClient, admin: dict[str, str]
) -> None:
    unit = make_unit(client, admin)
    site = make_site(client, admin, unit, "110105")
    good = address_code("110105", 1)
    bad = {
        "too short": good[:-1],
        "too long": good + "1",
        "letters": good[:-1] + "A",
        "other province": address_code("310105", 1),
        "other county": address_code("110106", 1),
        "display, not a camera": address_code("110105", 1, type_code="133"),
        "unallocated type": address_code("110105", 1, type_code="099"),
    }
    for why, code in bad.items():
        r = client.post(f"{API}/cameras", json=camera_body(site, address_code=code), headers=admin)
        assert r.status_code == 422, why
        assert "address_code" in fields(r.json()), why
    assert _count(client, admin, "cameras") == 0


def test_city_centre_may_register_cameras_in_its_counties(
    client: TestClient, admin: dict[str, str]
) -> None:
    unit = make_unit(client, admin)
    site = make_site(client, admin, unit, "110105")
    code = address_code("110100", 9)
    r = client.post(f"{API}/cameras", json=camera_body(site, address_code=code), headers=admin)
    assert r.status_code == 201, r.text


def test_duplicate_address_code_is_a_conflict(client: TestClient, admin: dict[str, str]) -> None:
    unit = make_unit(client, admin)
    site = make_site(client, admin, unit)
    assert client.post(f"{API}/cameras", json=camera_body(site), headers=admin).status_code == 201
    r = client.post(f"{API}/cameras", json=camera_body(site, name="copy"), headers=admin)
    assert r.status_code == 409
    assert fields(r.json()) == {"address_code"}


def test_unknown_category_key_is_refused(client: TestClient, admin: dict[str, str]) -> None:
    unit = make_unit(client, admin)
    site = make_site(client, admin, unit)
    body = camera_body(site, location_categories=["shopping_mall", "spaceport"])
    r = client.post(f"{API}/cameras", json=body, headers=admin)
    assert r.status_code == 422
    assert "spaceport" in r.text and fields(r.json()) == {"location_categories"}


def test_stream_credentials_are_never_returned_or_logged(
    client: TestClient, admin: dict[str, str], container: Container
) -> None:
    unit = make_unit(client, admin)
    site = make_site(client, admin, unit)
    r = client.post(f"{API}/cameras", json=camera_body(site), headers=admin)
    assert r.status_code == 201
    assert "s3cret-pw" not in r.text and "viewer" not in r.text
    assert r.json()["has_stream_credentials"] is True
    assert r.json()["main_stream_url"] == "rtsp://***@192.0.2.10:554/main"
    with container.uow() as uow:
        log = " ".join(str(e) for _, e in uow.audit.find(limit=100))
        cam = uow.cameras.get(r.json()["id"])
    assert "s3cret-pw" not in log
    assert cam is not None and cam.main_stream is not None
    assert cam.main_stream.with_credentials() == "rtsp://viewer:s3cret-pw@192.0.2.10:554/main"
    assert "s3cret-pw" not in repr(cam)


# ---- cameras: rules of placement ------------------------------------------------------------


def _refused(client: TestClient, headers: dict[str, str], body: dict[str, object]) -> set[str]:
    r = client.post(f"{API}/cameras", json=body, headers=headers)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "rule_refusal"
    assert all(e["article"] for e in r.json()["errors"])
    return rule_ids(r.json())


def test_toilet_camera_is_refused_everywhere_by_the_national_decree(
    client: TestClient, admin: dict[str, str]
) -> None:
    unit = make_unit(client, admin)
    for i, division in enumerate(("110105", "210102", "610402", "500103", "610113", "440305")):
        site = make_site(client, admin, unit, division)
        body = camera_body(site, division, serial=i + 1, location_categories=["toilet"])
        assert any(r.startswith("national-2025:art8") for r in _refused(client, admin, body))
    assert _count(client, admin, "cameras") == 0


def test_refusal_lists_every_pack_that_forbids_the_placement(
    client: TestClient, admin: dict[str, str]
) -> None:
    unit = make_unit(client, admin)
    site = make_site(client, admin, unit, "610113", categories=["hotel"])
    body = camera_body(site, "610113", location_categories=["hotel_guest_room"])
    ids = _refused(client, admin, body)
    packs = {i.split(":")[0] for i in ids}
    assert {"national-2025", "shaanxi-2011", "xian-2020"} <= packs


def test_chongqing_refuses_entertainment_private_rooms(
    client: TestClient, admin: dict[str, str]
) -> None:
    unit = make_unit(client, admin)
    site = make_site(client, admin, unit, "500103", categories=["cultural_entertainment_venue"])
    body = camera_body(site, "500103", location_categories=["entertainment_private_room"])
    assert "chongqing-2016:art10.i1" in _refused(client, admin, body)


def test_classified_site_may_not_have_an_internet_camera(
    client: TestClient, admin: dict[str, str]
) -> None:
    unit = make_unit(client, admin, kind="government_organ")
    site = make_site(client, admin, unit, "500103", is_classified=True)
    internet = address_code("500103", 1, network="7")
    ids = _refused(client, admin, camera_body(site, "500103", address_code=internet))
    assert "chongqing-2016:art15" in ids
    private = address_code("500103", 2, network="0")
    r = client.post(
        f"{API}/cameras", json=camera_body(site, "500103", address_code=private), headers=admin
    )
    assert r.status_code == 201, r.text


def test_enterprise_may_not_put_cameras_on_a_public_road(
    client: TestClient, admin: dict[str, str]
) -> None:
    enterprise = make_unit(client, admin, 1)
    government = make_unit(client, admin, 2, kind="government_organ")
    road = {"public_place_article": "art7_p1", "is_public_road_or_square": True, "categories": []}
    e_site = make_site(client, admin, enterprise, "110105", **road)
    g_site = make_site(client, admin, government, "110105", **road)
    cats = {"location_categories": ["road_key_section_intersection"]}
    ids = _refused(client, admin, camera_body(e_site, serial=1, **cats))
    assert "beijing-2007:art7" in ids and any(i.startswith("national-2025:art7") for i in ids)
    r = client.post(f"{API}/cameras", json=camera_body(g_site, serial=2, **cats), headers=admin)
    assert r.status_code == 201, r.text


def test_beijing_forbids_units_capturing_outside_their_premises_chongqing_does_not(
    client: TestClient, admin: dict[str, str]
) -> None:
    unit = make_unit(client, admin)
    bj = make_site(client, admin, unit, "110105")
    cq = make_site(client, admin, unit, "500103")
    outside = {"captures_public_area_outside_premises": True}
    assert "beijing-2007:art6" in _refused(client, admin, camera_body(bj, "110105", 1, **outside))
    r = client.post(f"{API}/cameras", json=camera_body(cq, "500103", 2, **outside), headers=admin)
    assert r.status_code == 201, r.text


def test_a_refusal_changes_nothing_and_is_entered_in_the_log(
    client: TestClient, admin: dict[str, str], container: Container
) -> None:
    unit = make_unit(client, admin)
    site = make_site(client, admin, unit)
    _refused(client, admin, camera_body(site, location_categories=["changing_room"]))
    assert _count(client, admin, "cameras") == 0
    with container.uow() as uow:
        refused = [e for _, e in uow.audit.find(limit=100) if e.outcome.value == "refused"]
    assert refused and refused[-1].action == "camera.create"
    assert refused[-1].detail["refusals"][0]["rule_id"].startswith("national-2025:art8")


def test_editing_a_camera_into_a_prohibited_place_is_refused(
    client: TestClient, admin: dict[str, str]
) -> None:
    unit = make_unit(client, admin)
    site = make_site(client, admin, unit)
    cam = client.post(f"{API}/cameras", json=camera_body(site), headers=admin).json()["id"]
    r = client.patch(
        f"{API}/cameras/{cam}", json={"location_categories": ["fitting_room"]}, headers=admin
    )
    assert r.status_code == 422
    after = client.get(f"{API}/cameras/{cam}", headers=admin).json()
    assert after["location_categories"] == ["shopping_mall"]


# ---- lifecycle ------------------------------------------------------------------------------


def test_lifecycle_must_be_walked_in_order_with_dates_that_do_not_go_back(
    client: TestClient, admin: dict[str, str]
) -> None:
    unit = make_unit(client, admin)
    site = make_site(client, admin, unit)
    cam = client.post(f"{API}/cameras", json=camera_body(site), headers=admin).json()["id"]
    url = f"{API}/cameras/{cam}/transitions"
    skip = client.post(url, json={"state": "in_service", "on": "2026-01-10"}, headers=admin)
    assert skip.status_code == 422 and fields(skip.json()) == {"state"}
    for state, on in (("design_reviewed", "2026-01-02"), ("built", "2026-01-08")):
        assert client.post(url, json={"state": state, "on": on}, headers=admin).status_code == 200
    back = client.post(url, json={"state": "accepted", "on": "2026-01-07"}, headers=admin)
    assert back.status_code == 422 and fields(back.json()) == {"on"}
    future = client.post(url, json={"state": "accepted", "on": "2027-01-01"}, headers=admin)
    assert future.status_code == 422 and fields(future.json()) == {"on"}
    assert client.get(f"{API}/cameras/{cam}", headers=admin).json()["state"] == "built"


def test_editing_a_filed_attribute_of_a_camera_in_service_marks_it_changed(
    client: TestClient, admin: dict[str, str]
) -> None:
    unit = make_unit(client, admin)
    site = make_site(client, admin, unit)
    history = [
        {"state": "design_reviewed", "on": "2026-01-02"},
        {"state": "built", "on": "2026-01-08"},
        {"state": "accepted", "on": "2026-01-09"},
        {"state": "in_service", "on": "2026-01-10"},
    ]
    cam = client.post(
        f"{API}/cameras", json=camera_body(site, history=history), headers=admin
    ).json()
    assert cam["state"] == "in_service"
    r = client.patch(
        f"{API}/cameras/{cam['id']}", json={"field_of_view": "whole lobby"}, headers=admin
    )
    assert r.status_code == 200 and r.json()["state"] == "changed"


# ---- obligations, retention, base information, scope ----------------------------------------


def test_liaoning_retention_is_raised_to_the_national_thirty_days(
    client: TestClient, admin: dict[str, str]
) -> None:
    unit = make_unit(client, admin)
    site = make_site(client, admin, unit, "210102")
    cam = client.post(
        f"{API}/cameras", json=camera_body(site, "210102", retention_days=15), headers=admin
    ).json()
    assert cam["effective_retention_days"] == 30
    assert cam["warnings"][0]["field"] == "retention_days"
    ob = client.get(f"{API}/cameras/{cam['id']}/obligations", headers=admin).json()
    retention = ob["duties"]["retention_floor_days"]
    assert retention["value"] == 30
    assert retention["rule_ids"][0].startswith("national-2025:art17")
    assert any(c.startswith("liaoning-2008:art14") for c in retention["rule_ids"])


def test_base_information_is_hidden_from_roles_without_it(
    client: TestClient, admin: dict[str, str], login_as: LoginAs
) -> None:
    unit = make_unit(client, admin)
    site = make_site(client, admin, unit)
    cam = client.post(f"{API}/cameras", json=camera_body(site), headers=admin).json()["id"]
    operator = login_as(Role.OPERATOR, unit)
    seen = client.get(f"{API}/cameras/{cam}", headers=operator).json()
    assert seen["address_code"] is None and seen["install_position"] is None
    assert client.get(f"{API}/cameras/{cam}", headers=admin).json()["address_code"]


def test_unit_manager_sees_and_changes_only_their_own_unit(
    client: TestClient, admin: dict[str, str], login_as: LoginAs
) -> None:
    mine = make_unit(client, admin, 1)
    theirs = make_unit(client, admin, 2)
    their_site = make_site(client, admin, theirs)
    manager = login_as(Role.UNIT_MANAGER, mine)
    assert [u["id"] for u in client.get(f"{API}/units", headers=manager).json()] == [mine]
    assert client.get(f"{API}/sites/{their_site}", headers=manager).status_code == 404
    r = client.post(f"{API}/cameras", json=camera_body(their_site), headers=manager)
    assert r.status_code == 422 and fields(r.json()) == {"site_id"}
    r = client.post(f"{API}/sites", json=site_body(theirs), headers=manager)
    assert r.status_code == 422 and fields(r.json()) == {"unit_id"}


def test_filing_dates_may_not_be_inverted(client: TestClient, admin: dict[str, str]) -> None:
    unit = make_unit(client, admin)
    site = make_site(client, admin, unit)
    body = {
        "kind": "initial",
        "trigger_date": "2026-03-10",
        "filed_on": "2026-03-01",
        "recipient": "朝阳分局",
    }
    r = client.post(f"{API}/sites/{site}/filings", json=body, headers=admin)
    assert r.status_code == 422 and fields(r.json()) == {"filed_on"}
    body["filed_on"] = "2026-03-20"
    assert client.post(f"{API}/sites/{site}/filings", json=body, headers=admin).status_code == 201
