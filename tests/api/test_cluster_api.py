"""GET /api/v1/cluster: cluster.read (administrators, supervisors, auditors), refused to the
roles without it; the same status as ``custos cluster status --json`` on SQLite (one machine)
and on PostgreSQL (two recorder nodes made through RecorderLeases, one gone stale)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from custos.bootstrap import Container
from custos.domain.access import Role
from tests.api.builders import API, make_unit
from tests.api.conftest import LoginAs
from tests.integration.cluster_status_world import make_stale, register_cameras, shared


def test_only_cluster_readers_see_the_cluster(
    client: TestClient, container: Container, login_as: LoginAs, admin: dict[str, str]
) -> None:
    unit = make_unit(client, admin)
    for role, unit_id in (
        (Role.OPERATOR, unit),
        (Role.UNIT_MANAGER, unit),
        (Role.OFFICER, None),
        (Role.APPROVER, None),
    ):
        r = client.get(f"{API}/cluster", headers=login_as(role, unit_id=unit_id))
        assert r.status_code == 403, (role, r.text)
        assert "cluster.read" in r.json()["message"]
    for headers in (admin, login_as(Role.AUDITOR), login_as(Role.SUPERVISOR)):
        r = client.get(f"{API}/cluster", headers=headers)
        assert r.status_code == 200, r.text
        assert r.json()["healthy"] is True
    assert client.get(f"{API}/cluster?refused=101", headers=admin).status_code == 422


def test_the_status_of_one_machine_or_of_two_nodes(
    client: TestClient, container: Container, backend: str, admin: dict[str, str]
) -> None:
    if backend == "sqlite":
        register_cameras(container, 2)
        body = client.get(f"{API}/cluster", headers=admin).json()
        assert body["single_machine"] == "sqlite" and body["cameras_in_service"] == 2
        assert body["nodes"] == [] and body["duties_local"] is True and body["healthy"]
        return
    w = shared(container)
    body = client.get(f"{API}/cluster", headers=admin).json()
    assert body["clustered"] is True and body["single_machine"] is None
    assert {n["name"]: n["cameras"] for n in body["nodes"]} == {
        "node-a": w.cameras[:3],
        "node-b": w.cameras[3:],
    }
    assert body["healthy"] and body["unrecorded"] == [] and body["duties_local"] is False
    make_stale(container, "node-b")
    body = client.get(f"{API}/cluster", headers=admin).json()
    assert body["healthy"] is False
    assert [c["id"] for c in body["unrecorded"]] == w.cameras[3:]
    assert {"kind": "dead_holder", "subject": "node-b"} in body["problems"]
