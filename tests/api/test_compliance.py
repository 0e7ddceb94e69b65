"""Compliance reports through the API and the CLI's service: findings with citations and fines."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from custos.domain.access import Role

from .builders import API, camera_body, make_site, make_unit
from .conftest import LoginAs

IN_SERVICE_SINCE_OCTOBER = [
    {"state": "design_reviewed", "on": "2026-09-01"},
    {"state": "built", "on": "2026-09-10"},
    {"state": "accepted", "on": "2026-09-20"},
    {"state": "in_service", "on": "2026-10-01"},
]


def _codes(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{f['code']}@{f['subject']}": f for f in report["findings"]}


def test_liaoning_site_report_names_each_breach_with_article_and_fine(
    client: TestClient, admin: dict[str, str]
) -> None:
    unit = make_unit(client, admin)
    site = make_site(client, admin, unit, "210102", categories=["hospital", "parking_lot"])
    cam = client.post(
        f"{API}/cameras",
        json=camera_body(
            site,
            "210102",
            location_categories=["hospital"],
            retention_days=15,
            history=[*IN_SERVICE_SINCE_OCTOBER, {"state": "changed", "on": "2026-11-16"}],
        ),
        headers=admin,
    )
    assert cam.status_code == 201, cam.text
    camera_id = cam.json()["id"]
    report = client.get(f"{API}/compliance/sites/{site}", headers=admin).json()
    found = _codes(report)

    uncovered = found[f"mandatory_category.uncovered@site:{site}"]
    assert "parking_lot" in uncovered["message"]
    assert any(r.startswith("liaoning-2008:art6") for r in uncovered["rule_ids"])

    low = found[f"retention.below_floor@camera:{camera_id}"]
    assert low["rule_ids"][0].startswith("national-2025:art17")

    change = found[f"filing.change.overdue@camera:{camera_id}"]
    assert change["due"] == "2026-11-19"  # Mon 16th + 3 working days (Liaoning art. 12)
    assert any(r.startswith("liaoning-2008:art12") for r in change["rule_ids"])
    assert change["fine"] is not None

    initial = found[f"filing.initial.overdue@site:{site}"]
    assert initial["due"] == "2026-10-31"  # in use 1 Oct + 30 days (Decree 799 art. 14)


def test_filing_on_record_clears_the_overdue_finding(
    client: TestClient, admin: dict[str, str]
) -> None:
    unit = make_unit(client, admin)
    site = make_site(client, admin, unit, "610402", categories=["shopping_mall"])
    r = client.post(
        f"{API}/cameras",
        json=camera_body(site, "610402", history=IN_SERVICE_SINCE_OCTOBER),
        headers=admin,
    )
    assert r.status_code == 201, r.text
    before = _codes(client.get(f"{API}/compliance/sites/{site}", headers=admin).json())
    assert f"filing.initial.overdue@site:{site}" in before
    filing = {
        "kind": "initial",
        "trigger_date": "2026-10-01",
        "filed_on": "2026-10-20",
        "recipient": "碑林分局",
    }
    assert client.post(f"{API}/sites/{site}/filings", json=filing, headers=admin).status_code == 201
    after = _codes(client.get(f"{API}/compliance/sites/{site}", headers=admin).json())
    assert not [k for k in after if k.startswith("filing.initial")]


def test_public_area_camera_without_signage_is_a_finding_in_shaanxi(
    client: TestClient, admin: dict[str, str]
) -> None:
    unit = make_unit(client, admin)
    site = make_site(client, admin, unit, "610402", categories=["shopping_mall"])
    body = camera_body(
        site, "610402", signage={"installed": False}, history=IN_SERVICE_SINCE_OCTOBER
    )
    camera_id = client.post(f"{API}/cameras", json=body, headers=admin).json()["id"]
    found = _codes(client.get(f"{API}/compliance/sites/{site}", headers=admin).json())
    sign = found[f"signage.missing@camera:{camera_id}"]
    assert any(r.startswith("shaanxi-2011:art11") for r in sign["rule_ids"])


def test_unit_report_counts_findings_and_scoped_users_see_only_their_unit(
    client: TestClient, admin: dict[str, str], login_as: LoginAs
) -> None:
    mine = make_unit(client, admin, 1)
    other = make_unit(client, admin, 2)
    make_site(client, admin, mine, "500103", categories=["hotel"])
    report = client.get(f"{API}/compliance/units/{mine}", headers=admin).json()
    assert report["counts"]["violation"] + report["counts"]["warning"] >= 1
    manager = login_as(Role.UNIT_MANAGER, mine)
    assert client.get(f"{API}/compliance/units/{other}", headers=manager).status_code == 404
    listed = client.get(f"{API}/compliance/units", headers=manager).json()
    assert [r["unit_id"] for r in listed] == [mine]
