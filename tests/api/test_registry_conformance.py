"""Registry facts the API could not state before (issue 11 §6): a camera's address code can be
changed and is re-checked; an art. 9 site's camera may name no location category; a site may be
government-invested; the homestay (民宿) site category."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.builders import (
    API,
    address_code,
    camera_body,
    fields,
    make_site,
    make_unit,
    rule_ids,
)

XIAN = "610113"
IN_SERVICE = [
    {"state": "design_reviewed", "on": "2026-09-01"},
    {"state": "built", "on": "2026-09-10"},
    {"state": "accepted", "on": "2026-09-20"},
    {"state": "in_service", "on": "2026-10-01"},
]


def _camera(client: TestClient, admin: dict[str, str], site: int, **over: object) -> int:
    r = client.post(f"{API}/cameras", json=camera_body(site, XIAN, **over), headers=admin)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def test_an_internet_address_code_at_a_classified_site_is_refused_citing_xian_art20(
    client: TestClient, admin: dict[str, str]
) -> None:
    unit = make_unit(client, admin, kind="government_organ")
    site = make_site(client, admin, unit, XIAN, is_classified=True)
    cam = _camera(client, admin, site, address_code=address_code(XIAN, 1))
    internet = address_code(XIAN, 1, network="7")
    r = client.patch(f"{API}/cameras/{cam}", json={"address_code": internet}, headers=admin)
    assert r.status_code == 422, r.text
    assert "xian-2020:art20" in rule_ids(r.json())
    after = client.get(f"{API}/cameras/{cam}", headers=admin).json()
    assert after["address_code"] == address_code(XIAN, 1)


def test_a_camera_address_code_can_be_changed_and_is_checked(
    client: TestClient, admin: dict[str, str]
) -> None:
    unit = make_unit(client, admin)
    site = make_site(client, admin, unit, XIAN)
    cam = _camera(client, admin, site, address_code=address_code(XIAN, 1))
    _camera(client, admin, site, serial=2, address_code=address_code(XIAN, 2))
    new = address_code(XIAN, 9)
    r = client.patch(f"{API}/cameras/{cam}", json={"address_code": new}, headers=admin)
    assert r.status_code == 200, r.text
    assert client.get(f"{API}/cameras/{cam}", headers=admin).json()["address_code"] == new
    for bad in ("1234", address_code("110105", 3), address_code(XIAN, 3, type_code="200"), ""):
        r = client.patch(f"{API}/cameras/{cam}", json={"address_code": bad}, headers=admin)
        assert r.status_code == 422, bad
        assert fields(r.json()) == {"address_code"}
    taken = address_code(XIAN, 2)
    r = client.patch(f"{API}/cameras/{cam}", json={"address_code": taken}, headers=admin)
    assert r.status_code == 409
    assert client.get(f"{API}/cameras/{cam}", headers=admin).json()["address_code"] == new


def test_a_camera_at_an_art9_site_may_name_no_location_category(
    client: TestClient, admin: dict[str, str]
) -> None:
    unit = make_unit(client, admin)
    art9 = make_site(client, admin, unit, XIAN, public_place_article="art9", categories=[])
    art7 = make_site(client, admin, unit, XIAN)
    _camera(client, admin, art9, serial=1, location_categories=[])
    body = camera_body(art7, XIAN, serial=2, location_categories=[])
    r = client.post(f"{API}/cameras", json=body, headers=admin)
    assert r.status_code == 422
    assert fields(r.json()) == {"location_categories"}
    assert "art. 9" in r.json()["errors"][0]["reason"]


def test_a_homestay_site_and_its_guest_rooms(client: TestClient, admin: dict[str, str]) -> None:
    unit = make_unit(client, admin, kind="individual")
    site = make_site(
        client, admin, unit, XIAN, public_place_article="art9", categories=["homestay"]
    )
    assert client.get(f"{API}/sites/{site}", headers=admin).json()["categories"] == ["homestay"]
    body = camera_body(site, XIAN, location_categories=["hotel_guest_room"])
    r = client.post(f"{API}/cameras", json=body, headers=admin)
    assert r.status_code == 422
    assert "national-2025:art8.i1" in rule_ids(r.json())


def test_a_site_may_be_government_invested_and_liaoning_signage_follows(
    client: TestClient, admin: dict[str, str]
) -> None:
    unit = make_unit(client, admin)  # an enterprise runs it
    site = make_site(client, admin, unit, "210102", government_invested=True)
    assert client.get(f"{API}/sites/{site}", headers=admin).json()["government_invested"] is True
    body = camera_body(site, "210102", signage={"installed": False}, history=IN_SERVICE)
    assert client.post(f"{API}/cameras", json=body, headers=admin).status_code == 201
    report = client.get(f"{API}/compliance/sites/{site}", headers=admin).json()
    signage = [f for f in report["findings"] if f["code"] == "signage.missing"]
    assert "liaoning-2008:art13.p1" in signage[0]["rule_ids"]
    r = client.patch(f"{API}/sites/{site}", json={"government_invested": False}, headers=admin)
    assert r.status_code == 200 and r.json()["government_invested"] is False
    report = client.get(f"{API}/compliance/sites/{site}", headers=admin).json()
    signage = [f for f in report["findings"] if f["code"] == "signage.missing"]
    assert "liaoning-2008:art13.p1" not in signage[0]["rule_ids"]


def test_each_filing_duty_names_its_recipient_beside_its_deadline(
    client: TestClient, admin: dict[str, str]
) -> None:
    unit = make_unit(client, admin)
    site = make_site(client, admin, unit, XIAN, division_name="西安市雁塔区")
    got = client.get(f"{API}/sites/{site}", headers=admin).json()
    assert got["filing_recipient"]["name_zh"] == "西安市公安局雁塔分局"
    assert got["filing_recipient"]["named"] is True
    body = camera_body(site, XIAN, history=IN_SERVICE)
    made = client.post(f"{API}/cameras", json=body, headers=admin)
    assert made.status_code == 201
    duties = client.get(f"{API}/cameras/{made.json()['id']}/obligations", headers=admin).json()
    assert duties["filing_recipient"]["name_zh"] == "西安市公安局雁塔分局"
    report = client.get(f"{API}/compliance/sites/{site}", headers=admin).json()
    assert report["filing_recipient"]["division_code"] == XIAN
    filing = [f for f in report["findings"] if f["code"].startswith("filing.initial")]
    assert filing and filing[0]["due"]
    assert filing[0]["params"]["recipient"] == "西安市公安局雁塔分局"
    assert "西安市公安局雁塔分局" in filing[0]["message"]
    r = client.patch(f"{API}/sites/{site}", json={"division_name": "Yanta"}, headers=admin)
    assert r.status_code == 422 and fields(r.json()) == {"division_name"}
    r = client.patch(f"{API}/sites/{site}", json={"division_name": "西安市蓝田县"}, headers=admin)
    assert r.status_code == 422 and "district" in r.json()["errors"][0]["reason"]
    moved = {"division_code": "610122", "division_name": "西安市蓝田县"}
    r = client.patch(f"{API}/sites/{site}", json=moved, headers=admin)
    assert r.json()["filing_recipient"]["name_zh"] == "蓝田县公安局"
