"""The filing loop through the API, for each pack (docs/design/filing.md D2, D3): a unit manager
fills the profile, previews, submits; the county's supervisor returns it with reasons; the unit
resubmits; the supervisor accepts and the Filing row is filed (the compliance report no longer
has the initial filing pending). Also: missing parts refused with their articles, an unknown
division refused, another county's supervisor sees nothing, an operator cannot file."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from custos.bootstrap import Container
from custos.domain.access import Role
from custos.domain.calendar import shanghai_date
from custos.domain.users import SYSTEM, UserProfile
from tests.api.builders import API, PASSWORD, camera_body, make_site, make_unit
from tests.api.conftest import LoginAs

# Built, accepted on Tue 10 Nov 2026, in service on Thu 12 Nov (the tests' clock: 20 Nov).
HISTORY = [
    {"state": "design_reviewed", "on": "2026-10-01"},
    {"state": "built", "on": "2026-11-01"},
    {"state": "accepted", "on": "2026-11-10"},
    {"state": "in_service", "on": "2026-11-12"},
]
NATIONAL = "national-2025:art14.p1"


@dataclass(frozen=True)
class Pack:
    division: str
    organ: str
    due: str  # the earliest binding due date of the initial filing
    citations: set[str]  # the initial filing's articles
    documents: bool  # the design scheme and acceptance report are mandatory

    @property
    def trigger(self) -> str:
        """Beijing and Chongqing count from acceptance, the others from put into use."""
        return "2026-11-10" if self.due == "2026-12-10" else "2026-11-12"


PACKS = {
    # Beijing art. 11 ¶1: 30 days from acceptance (10 Nov → 10 Dec); Decree 799: in use + 30
    "beijing": Pack("110105", "北京市公安局朝阳分局", "2026-12-10", {"beijing-2007:art11.p1", NATIONAL}, False),
    # Liaoning art. 12 ¶1 and Decree 799: 30 days from put into use (12 Nov → 12 Dec)
    "liaoning": Pack("210102", "沈阳市公安局和平分局", "2026-12-12", {"liaoning-2008:art12.p1", NATIONAL}, False),
    # Shaanxi outside Xi'an: only Decree 799 sets the initial filing
    "shaanxi": Pack("610302", "宝鸡市公安局渭滨分局", "2026-12-12", {NATIONAL}, False),
    # Xi'an: Decree 799's deadline; art. 14 makes the design scheme and acceptance report parts
    "xian": Pack("610113", "西安市公安局雁塔分局", "2026-12-12", {NATIONAL}, True),
    # Chongqing art. 16 ¶1: 30 days from acceptance, with the design scheme and acceptance materials
    "chongqing": Pack("500151", "重庆市公安局铜梁区分局", "2026-12-10", {"chongqing-2016:art16.p1", NATIONAL}, True),
    # Guangdong: only Decree 799 applies
    "guangdong": Pack("440106", "广州市公安局天河区分局", "2026-12-12", {NATIONAL}, False),
}  # fmt: skip


def supervisor(
    container: Container, client: TestClient, name: str, jurisdiction: str
) -> dict[str, str]:
    container.auth.create_user(
        SYSTEM,
        name,
        Role.SUPERVISOR,
        PASSWORD,
        None,
        UserProfile(full_name=name, jurisdiction=jurisdiction),
    )
    r = client.post(f"{API}/auth/login", json={"username": name, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def registered_site(
    client: TestClient, admin: dict[str, str], division: str, n: int = 1
) -> tuple[int, int]:
    unit = make_unit(client, admin, n)
    site = make_site(client, admin, unit, division, name=f"商场 {n}")
    cam = client.post(
        f"{API}/cameras", json=camera_body(site, division, serial=n, history=HISTORY), headers=admin
    )
    assert cam.status_code == 201, cam.text
    return unit, site


def upload(
    client: TestClient, headers: dict[str, str], site: int, data: bytes, name: str
) -> dict[str, str]:
    r = client.post(
        f"{API}/sites/{site}/filing-documents",
        files={"file": (name, data, "application/pdf")},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    assert r.json()["sha256"] == hashlib.sha256(data).hexdigest()
    return dict(r.json())


def full_profile(client: TestClient, headers: dict[str, str], site: int) -> dict[str, Any]:
    return {
        "system_name": "商场视频监控系统",
        "system_purpose": "公共区域安全防范",
        "owner_unit": {"name": "某某置业有限公司", "contact": "010-12345678"},
        "builder_unit": {"name": "某某安防工程有限公司", "contact": "010-87654321"},
        "maintainer_unit": {"name": "某某维保有限公司", "contact": "010-11112222"},
        "responsible_persons": [{"name": "李四", "phone": "13800000000", "role": "安全负责人"}],
        "network": {"kind": "private", "description": "独立专网，不接入互联网"},
        "storage_description": "NVR 本地存储，RAID 5",
        "design_scheme": upload(
            client, headers, site, b"%PDF design " + str(site).encode(), "设计方案.pdf"
        ),
        "acceptance_report": upload(
            client, headers, site, b"%PDF acceptance " + str(site).encode(), "验收报告.pdf"
        ),
    }


def initial_filing_codes(client: TestClient, admin: dict[str, str], site: int) -> set[str]:
    report = client.get(f"{API}/compliance/sites/{site}", headers=admin).json()
    return {f["code"] for f in report["findings"] if f["code"].startswith("filing.initial")}


@pytest.mark.parametrize("pack", list(PACKS))
def test_each_pack_files_is_returned_resubmits_and_is_accepted(
    pack: str, client: TestClient, admin: dict[str, str], login_as: LoginAs, container: Container
) -> None:
    p = PACKS[pack]
    unit, site = registered_site(client, admin, p.division)
    manager = login_as(Role.UNIT_MANAGER, unit)
    bureau = supervisor(container, client, f"bureau-{pack}", p.division)
    assert initial_filing_codes(client, admin, site) == {"filing.initial.pending"}

    empty = client.get(f"{API}/sites/{site}/filing-package/preview", headers=manager).json()
    assert empty["recipient"] == {"division_code": p.division, "organ_name": p.organ}
    assert empty["initial"]["due"] == p.due
    assert empty["initial"]["trigger_date"] == p.trigger
    assert set(empty["initial"]["citations"]) == p.citations
    missing = {m["part"] for m in empty["missing"]}
    assert missing == {"system_profile", "units", "responsible_persons", "storage", "network"} | (
        {"design_scheme", "acceptance_report"} if p.documents else set()
    )

    r = client.put(
        f"{API}/sites/{site}/filing-profile",
        json=full_profile(client, manager, site),
        headers=manager,
    )
    assert r.status_code == 200, r.text
    preview = client.get(f"{API}/sites/{site}/filing-package/preview", headers=manager).json()
    assert preview["missing"] == []
    assert preview["package"]["system_profile"]["system_name"] == "商场视频监控系统"
    assert len(preview["package"]["cameras"]) == 1

    opened = client.post(
        f"{API}/sites/{site}/filing-cases", json={"kind": "initial"}, headers=manager
    )
    assert opened.status_code == 201, opened.text
    case = opened.json()
    assert (
        case["state"] == "draft" and case["due"] == p.due and set(case["citations"]) == p.citations
    )
    assert case["trigger_date"] == p.trigger
    assert case["recipient"]["organ_name"] == p.organ and case["site_name"] == "商场 1"

    first = client.post(
        f"{API}/filing-cases/{case['id']}/submit", json={"channel": "internal"}, headers=manager
    )
    assert first.status_code == 201, first.text
    receipt = first.json()["receipt"]
    today = shanghai_date(container.clock.now())  # 20 or 21 Nov (scripts/test-at 16:30)
    assert receipt["receipt_number"] == f"{p.division}-{today:%Y%m%d}-001"
    assert first.json()["state"] == "submitted"

    # the package as stored: canonical JSON whose SHA-256 is the receipt's, and a PDF
    body = client.get(f"{API}/filing-cases/{case['id']}/package.json", headers=bureau)
    assert body.status_code == 200
    assert hashlib.sha256(body.content).hexdigest() == receipt["package_sha256"]
    assert json.loads(body.content)["recipient"]["organ_name"] == p.organ
    pdf = client.get(f"{API}/filing-cases/{case['id']}/package.pdf", headers=manager)
    assert (
        pdf.content.startswith(b"%PDF")
        and hashlib.sha256(pdf.content).hexdigest() == receipt["pdf_sha256"]
    )

    no_reason = client.post(
        f"{API}/filing-cases/{case['id']}/return", json={"reasons": [" "]}, headers=bureau
    )
    assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["field"] == "reasons"
    returned = client.post(
        f"{API}/filing-cases/{case['id']}/return",
        json={"reasons": ["维护单位联系方式有误"]},
        headers=bureau,
    )
    assert returned.status_code == 200, returned.text
    assert returned.json()["state"] == "returned"
    assert returned.json()["return_reasons"] == ["维护单位联系方式有误"]
    assert initial_filing_codes(client, admin, site) == {"filing.initial.pending"}  # not filed

    profile = full_profile(client, manager, site)
    profile["maintainer_unit"]["contact"] = "010-33334444"
    assert (
        client.put(f"{API}/sites/{site}/filing-profile", json=profile, headers=manager).status_code
        == 200
    )
    second = client.post(
        f"{API}/filing-cases/{case['id']}/submit", json={"channel": "internal"}, headers=manager
    )
    assert second.status_code == 201, second.text
    assert second.json()["receipt"]["receipt_number"] == f"{p.division}-{today:%Y%m%d}-002"
    assert second.json()["receipt"]["package_sha256"] != receipt["package_sha256"]

    accepted = client.post(f"{API}/filing-cases/{case['id']}/accept", json={}, headers=bureau)
    assert accepted.status_code == 200, accepted.text
    done = accepted.json()
    assert done["state"] == "accepted" and done["filing_number"] == f"备{p.division}202600001"
    assert done["decided_on"] == today.isoformat()
    assert [e["action"] for e in done["history"]] == [
        "open",
        "submit",
        "return",
        "submit",
        "accept",
    ]
    assert initial_filing_codes(client, admin, site) == set()  # filed in time: nothing pending
    filings = client.get(f"{API}/sites/{site}/filings", headers=admin).json()
    row = next(f for f in filings if f["id"] == done["filing_id"])
    assert row["filed_on"] == today.isoformat() and row["receipt_number"] == done["filing_number"]

    log = client.get(f"{API}/audit/search?action=filing.&limit=200", headers=admin).json()
    logged = {
        e["entry"]["action"]: e["entry"]
        for e in log["entries"]
        if e["entry"]["object_type"] == "filing_case" and e["entry"]["object_id"] == str(case["id"])
    }
    assert set(logged) == {"filing.case_open", "filing.submit", "filing.return", "filing.accept"}
    assert (
        logged["filing.accept"]["detail"]["package_sha256"]
        == (second.json()["receipt"]["package_sha256"])
    )


def test_missing_parts_are_refused_each_with_its_article(
    client: TestClient, admin: dict[str, str], login_as: LoginAs
) -> None:
    unit, site = registered_site(client, admin, "500151")
    manager = login_as(Role.UNIT_MANAGER, unit)
    profile = full_profile(client, manager, site)
    del profile["acceptance_report"], profile["design_scheme"]
    profile["responsible_persons"] = []
    assert (
        client.put(f"{API}/sites/{site}/filing-profile", json=profile, headers=manager).status_code
        == 200
    )
    case = client.post(
        f"{API}/sites/{site}/filing-cases", json={"kind": "initial"}, headers=manager
    ).json()
    r = client.post(f"{API}/filing-cases/{case['id']}/submit", json={}, headers=manager)
    assert r.status_code == 422, r.text
    errors = {e["field"]: e for e in r.json()["errors"]}
    assert set(errors) == {
        "package.responsible_persons",
        "package.design_scheme",
        "package.acceptance_report",
    }
    assert errors["package.design_scheme"]["rule_id"] == "chongqing-2016:art16.p1"
    assert errors["package.responsible_persons"]["rule_id"] == NATIONAL
    assert "chongqing-2016:art16.p1" in errors["package.acceptance_report"]["article"]
    assert "设计技术方案" in errors["package.design_scheme"]["text"]  # Chinese by default
    en = client.post(
        f"{API}/filing-cases/{case['id']}/submit",
        json={},
        headers={**manager, "Accept-Language": "en"},
    ).json()
    texts = {e["field"]: e["text"] for e in en["errors"]}
    assert texts["package.design_scheme"].startswith("The filing package needs its")
    assert (
        client.get(f"{API}/filing-cases/{case['id']}", headers=manager).json()["state"] == "draft"
    )


def test_a_division_the_table_does_not_know_is_refused_never_guessed(
    client: TestClient, admin: dict[str, str], login_as: LoginAs
) -> None:
    unit, site = registered_site(client, admin, "110105")
    # 110199 is well-formed (Beijing) but no such district exists in the GB/T 2260 table
    assert (
        client.patch(
            f"{API}/sites/{site}", json={"division_code": "110199"}, headers=admin
        ).status_code
        == 200
    )
    manager = login_as(Role.UNIT_MANAGER, unit)
    preview = client.get(f"{API}/sites/{site}/filing-package/preview", headers=manager).json()
    assert preview["recipient"] is None
    [problem] = preview["problems"]
    assert problem["field"] == "site.division_code" and "GB/T 2260" in problem["rule"]
    assert problem["key"] == "refusal.filing_unknown_division"
    assert problem["params"]["division_code"] == "110199"
    r = client.post(f"{API}/sites/{site}/filing-cases", json={"kind": "initial"}, headers=manager)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "site.division_code"


def test_another_countys_supervisor_sees_nothing_and_decides_nothing(
    client: TestClient, admin: dict[str, str], login_as: LoginAs, container: Container
) -> None:
    unit, site = registered_site(client, admin, "610302")
    manager = login_as(Role.UNIT_MANAGER, unit)
    assert (
        client.put(
            f"{API}/sites/{site}/filing-profile",
            json=full_profile(client, manager, site),
            headers=manager,
        ).status_code
        == 200
    )
    case = client.post(
        f"{API}/sites/{site}/filing-cases", json={"kind": "initial"}, headers=manager
    ).json()
    assert (
        client.post(f"{API}/filing-cases/{case['id']}/submit", json={}, headers=manager).status_code
        == 201
    )
    other = supervisor(container, client, "bureau-yanta", "610113")
    assert client.get(f"{API}/filing-cases", headers=other).json() == []
    assert client.get(f"{API}/filing-cases/{case['id']}", headers=other).status_code == 404
    assert (
        client.get(f"{API}/filing-cases/{case['id']}/package.json", headers=other).status_code
        == 404
    )
    assert (
        client.get(f"{API}/sites/{site}/filing-package/preview", headers=other).status_code == 404
    )
    accept = client.post(f"{API}/filing-cases/{case['id']}/accept", json={}, headers=other)
    assert accept.status_code in (403, 404)
    ret = client.post(
        f"{API}/filing-cases/{case['id']}/return", json={"reasons": ["x"]}, headers=other
    )
    assert ret.status_code in (403, 404)
    # the city's supervisor (宝鸡市, 6103) reaches it; the unit manager cannot accept its own
    city = supervisor(container, client, "bureau-baoji", "610300")
    assert [c["id"] for c in client.get(f"{API}/filing-cases", headers=city).json()] == [case["id"]]
    assert (
        client.post(f"{API}/filing-cases/{case['id']}/accept", json={}, headers=manager).status_code
        == 403
    )
    assert (
        client.get(f"{API}/filing-cases/{case['id']}", headers=manager).json()["state"]
        == "submitted"
    )


def test_an_operator_cannot_file_or_read_the_package(
    client: TestClient, admin: dict[str, str], login_as: LoginAs
) -> None:
    unit, site = registered_site(client, admin, "440106")
    operator = login_as(Role.OPERATOR, unit)
    assert (
        client.post(
            f"{API}/sites/{site}/filing-cases", json={"kind": "initial"}, headers=operator
        ).status_code
        == 403
    )
    assert (
        client.put(f"{API}/sites/{site}/filing-profile", json={}, headers=operator).status_code
        == 403
    )
    assert (
        client.get(f"{API}/sites/{site}/filing-package/preview", headers=operator).status_code
        == 403
    )
    # another unit's manager does not see the site at all
    other_unit = make_unit(client, admin, 9)
    other = login_as(Role.UNIT_MANAGER, other_unit)
    assert client.get(f"{API}/sites/{site}/filing-profile", headers=other).status_code == 404
    assert (
        client.post(
            f"{API}/sites/{site}/filing-cases", json={"kind": "initial"}, headers=other
        ).status_code
        == 404
    )


def test_a_malformed_profile_is_refused_with_the_field(
    client: TestClient, admin: dict[str, str], login_as: LoginAs
) -> None:
    unit, site = registered_site(client, admin, "440106")
    manager = login_as(Role.UNIT_MANAGER, unit)
    bad = {"network": {"kind": "carrier_pigeon"}}
    r = client.put(f"{API}/sites/{site}/filing-profile", json=bad, headers=manager)
    assert r.status_code == 422 and r.json()["errors"][0]["field"].endswith("kind")
    unknown_doc = {"design_scheme": {"sha256": "0" * 64, "filename": "x.pdf"}}
    r = client.put(f"{API}/sites/{site}/filing-profile", json=unknown_doc, headers=manager)
    assert r.status_code == 422
    r = client.post(f"{API}/sites/{site}/filing-cases", json={"kind": "sideways"}, headers=manager)
    assert r.status_code == 422
    twice = [
        client.post(f"{API}/sites/{site}/filing-cases", json={"kind": "initial"}, headers=manager)
        for _ in range(2)
    ]
    assert twice[0].status_code == 201 and twice[1].status_code == 422


def test_a_change_opened_by_hand_is_due_per_the_pack_and_owed_until_accepted(
    client: TestClient, admin: dict[str, str], login_as: LoginAs, container: Container
) -> None:
    unit, site = registered_site(client, admin, "210102")
    manager = login_as(Role.UNIT_MANAGER, unit)
    r = client.post(f"{API}/sites/{site}/filing-cases", json={"kind": "change"}, headers=manager)
    assert r.status_code == 201, r.text
    case = r.json()
    today = shanghai_date(container.clock.now())
    assert case["kind"] == "change" and case["trigger_date"] == today.isoformat()
    # Liaoning art. 12 ¶1: 3 working days (Fri 20 or Sat 21 Nov → Wed 25 Nov); Decree 799: promptly
    assert case["due"] == "2026-11-25"
    assert set(case["citations"]) == {"liaoning-2008:art12.p1", NATIONAL}
    report = client.get(f"{API}/compliance/sites/{site}", headers=admin).json()
    pending = [f for f in report["findings"] if f["code"] == "filing.change.pending"]
    assert [f["due"] for f in pending] == ["2026-11-25"]
