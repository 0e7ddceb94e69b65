"""/api/v1/audit: entries, checkpoints, inclusion proofs a client checks itself, verification."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from custos.adapters.signing import TrustedKeys
from custos.bootstrap import Container
from custos.domain.access import Role
from custos.domain.audit_chain import Checkpoint, canonical_json
from custos.domain.clock import ManualClock
from custos.domain.merkle import leaf_hash, verify_inclusion
from custos.domain.users import SYSTEM
from custos.entrypoints.api.app import create_app
from tests.integration.audit_support import around_the_application, fill

API = "/api/v1/audit"
PASSWORD = "correct horse battery staple"
LoginAs = Callable[[Role], dict[str, str]]


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container)) as c:
        yield c


@pytest.fixture
def login_as(container: Container, client: TestClient) -> LoginAs:
    def login(role: Role) -> dict[str, str]:
        container.auth.create_user(SYSTEM, role.value, role, PASSWORD, None)
        r = client.post("/api/v1/auth/login", json={"username": role.value, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    return login


@pytest.fixture
def admin(login_as: LoginAs) -> dict[str, str]:
    return login_as(Role.ADMIN)


def test_an_inclusion_proof_checks_out_against_the_signed_checkpoint_offline(
    container: Container, clock: ManualClock, client: TestClient, login_as: LoginAs
) -> None:
    auditor = login_as(Role.AUDITOR)
    fill(container, clock, 12)
    container.audit.checkpoint_now(SYSTEM)
    r = client.get(f"{API}/proofs/7", headers=auditor)
    assert r.status_code == 200, r.text
    p = r.json()
    assert (p["seq"], p["leaf_index"]) == (7, 6)
    leaf = leaf_hash(canonical_json(p["entry"]).encode())  # recomputed by the client
    assert leaf.hex() == p["leaf_hash"]
    path = [bytes.fromhex(h) for h in p["audit_path"]]
    root = bytes.fromhex(p["root"])
    assert verify_inclusion(p["leaf_index"], p["tree_size"], leaf, path, root)
    cp = Checkpoint.from_dict(p["checkpoint"])
    assert cp.root == root
    assert TrustedKeys.of(bytes.fromhex(p["public_key"]))(cp) is None


def test_no_proof_is_served_for_an_entry_changed_behind_the_application(
    container: Container, clock: ManualClock, client: TestClient, admin: dict[str, str]
) -> None:
    fill(container, clock, 6)
    container.audit.checkpoint_now(SYSTEM)
    with around_the_application(container) as conn:
        conn.execute(
            text("UPDATE audit_events SET entry = replace(entry, 'operator', 'x') WHERE seq = 5")
        )
    r = client.get(f"{API}/proofs/5", headers=admin)
    assert r.status_code == 409
    assert "run audit verify" in r.json()["message"]
    assert client.get(f"{API}/proofs/4", headers=admin).status_code == 200


def test_a_proof_for_an_entry_not_yet_signed_is_refused_with_the_reason(
    container: Container, clock: ManualClock, client: TestClient, admin: dict[str, str]
) -> None:
    fill(container, clock, 3)  # signed at 1 only; the logins are entries too
    r = client.get(f"{API}/proofs/3", headers=admin)
    assert r.status_code == 409
    assert "not yet covered by a signed checkpoint" in r.json()["message"]
    assert client.get(f"{API}/proofs/9999", headers=admin).status_code == 404


def test_entries_page_through_the_log_as_hashed(
    container: Container, clock: ManualClock, client: TestClient, admin: dict[str, str]
) -> None:
    fill(container, clock, 5)
    first = client.get(f"{API}/entries", params={"limit": 3}, headers=admin).json()
    assert [e["seq"] for e in first["entries"]] == [1, 2, 3]
    rest = client.get(
        f"{API}/entries", params={"after_seq": first["next_after_seq"]}, headers=admin
    ).json()
    assert rest["entries"][0]["seq"] == 4
    assert rest["next_after_seq"] is None
    for e in first["entries"] + rest["entries"]:
        assert leaf_hash(canonical_json(e["entry"]).encode()).hex() == e["leaf_hash"]


def test_checkpoints_are_listed_with_the_public_key(
    container: Container, clock: ManualClock, client: TestClient, admin: dict[str, str]
) -> None:
    fill(container, clock, 2)
    clock.advance(timedelta(minutes=5))
    fill(container, clock, 1)
    body = client.get(f"{API}/checkpoints", headers=admin).json()
    assert body["key_id"] == container.audit.key_id
    assert [c["tree_size"] for c in body["checkpoints"]][:1] == [1]
    trusted = TrustedKeys.of(bytes.fromhex(body["public_key"]))
    assert all(trusted(Checkpoint.from_dict(c)) is None for c in body["checkpoints"])


def test_verify_reports_the_first_bad_entry(
    container: Container, clock: ManualClock, client: TestClient, admin: dict[str, str]
) -> None:
    fill(container, clock, 6)
    assert client.post(f"{API}/verify", headers=admin).json()["ok"] is True
    with around_the_application(container) as conn:
        conn.exec_driver_sql("DELETE FROM audit_events WHERE seq = 4")
    body = client.post(f"{API}/verify", headers=admin).json()
    assert body["ok"] is False
    assert body["first_bad"]["seq"] == 4
    assert body["first_bad"]["problem"] == "missing"


def test_reading_the_log_needs_the_audit_permission(client: TestClient, login_as: LoginAs) -> None:
    operator = login_as(Role.APPROVER)  # signs approvals, reads no log
    for method, path in (
        ("GET", f"{API}/entries"),
        ("GET", f"{API}/checkpoints"),
        ("GET", f"{API}/proofs/1"),
        ("POST", f"{API}/verify"),
    ):
        assert client.request(method, path, headers=operator).status_code == 403
        assert client.request(method, path).status_code == 401
