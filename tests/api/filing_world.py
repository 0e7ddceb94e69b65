"""A site with an accepted filing, through the API: the start of every re-filing and exchange
test (docs/design/filing.md D3, D4)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient

from custos.bootstrap import Container
from custos.domain.access import Role
from custos.domain.users import SYSTEM, UserProfile
from tests.api.builders import API, PASSWORD, camera_body, credit_code, make_site, make_unit

IN_SERVICE = [
    {"state": "design_reviewed", "on": "2026-01-05"},
    {"state": "built", "on": "2026-02-02"},
    {"state": "accepted", "on": "2026-03-02"},
    {"state": "in_service", "on": "2026-03-03"},
]


def login(
    client: TestClient,
    container: Container,
    username: str,
    role: Role,
    unit_id: int | None = None,
    jurisdiction: str | None = None,
) -> dict[str, str]:
    if all(u.username != username for u in container.auth.list_users()):
        profile = UserProfile(full_name=username, jurisdiction=jurisdiction)
        container.auth.create_user(SYSTEM, username, role, PASSWORD, unit_id, profile)
    r = client.post(f"{API}/auth/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@dataclass
class FiledSite:
    unit_id: int
    site_id: int
    division: str
    manager: dict[str, str]
    supervisor: dict[str, str]
    cameras: list[int] = field(default_factory=list)
    accepted: dict[str, Any] = field(default_factory=dict)


def upload(client: TestClient, headers: dict[str, str], site_id: int, name: str) -> dict[str, str]:
    files = {"file": (name, f"%PDF-1.4 {name} for site {site_id}".encode(), "application/pdf")}
    r = client.post(f"{API}/sites/{site_id}/filing-documents", files=files, headers=headers)
    assert r.status_code == 201, r.text
    return {"sha256": r.json()["sha256"], "filename": name}


def profile_body(client: TestClient, headers: dict[str, str], site_id: int) -> dict[str, Any]:
    return {
        "system_name": "主楼视频监控系统",
        "system_purpose": "出入口与大厅的治安防范",
        "owner_unit": {"name": "业主单位", "contact": "010-12345678"},
        "builder_unit": {"name": "建设单位", "contact": "010-22345678"},
        "maintainer_unit": {"name": "维护单位", "contact": "010-32345678"},
        "responsible_persons": [{"name": "张三", "phone": "13800000000", "role": "安保负责人"}],
        "network": {"kind": "private", "description": "专网"},
        "storage_description": "NVR，本地存储",
        "design_scheme": upload(client, headers, site_id, "design.pdf"),
        "acceptance_report": upload(client, headers, site_id, "acceptance.pdf"),
    }


def filed_site(
    client: TestClient,
    container: Container,
    admin: dict[str, str],
    n: int,
    division: str,
    cameras: int = 1,
) -> FiledSite:
    """A unit with one site in ``division`` and ``cameras`` cameras in service, its profile
    complete, its initial filing submitted and accepted by the county's supervisor."""
    unit = make_unit(client, admin, n, name=f"Unit {n}", credit_code=credit_code(n, division))
    site = make_site(client, admin, unit, division, name=f"Site {n}")
    manager = login(client, container, f"manager-{n}", Role.UNIT_MANAGER, unit_id=unit)
    supervisor = login(client, container, f"bureau-{division}", Role.SUPERVISOR, None, division)
    ids = []
    for serial in range(1, cameras + 1):
        body = camera_body(site, division, serial=n * 100 + serial, history=IN_SERVICE)
        r = client.post(f"{API}/cameras", json=body, headers=admin)
        assert r.status_code == 201, r.text
        ids.append(int(r.json()["id"]))
    r = client.put(
        f"{API}/sites/{site}/filing-profile",
        json=profile_body(client, manager, site),
        headers=manager,
    )
    assert r.status_code == 200, r.text
    r = client.post(f"{API}/sites/{site}/filing-cases", json={"kind": "initial"}, headers=manager)
    assert r.status_code == 201, r.text
    case = r.json()["id"]
    r = client.post(f"{API}/filing-cases/{case}/submit", json={}, headers=manager)
    assert r.status_code == 201, r.text
    r = client.post(f"{API}/filing-cases/{case}/accept", json={}, headers=supervisor)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "accepted"
    return FiledSite(unit, site, division, manager, supervisor, ids, r.json())


def tasks(client: TestClient, fs: FiledSite) -> list[dict[str, Any]]:
    """The site's change, relocation and removal cases, newest first."""
    r = client.get(f"{API}/filing-cases", params={"site_id": fs.site_id}, headers=fs.manager)
    assert r.status_code == 200, r.text
    return [c for c in r.json() if c["kind"] != "initial"]
