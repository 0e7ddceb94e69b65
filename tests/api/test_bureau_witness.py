"""The bureau's witness routes, on SQLite and PostgreSQL: a supervisor registers a unit system's
log key; checkpoints that key signed are kept append-only, the same one again is harmless, a
contradicting one is kept as evidence, logged and answered 409; the list is public."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from custos.adapters.signing import Ed25519Signer
from custos.bootstrap import Container
from custos.domain.access import Role
from custos.domain.audit import Outcome
from custos.domain.audit_chain import Checkpoint, checkpoint_statement, key_id_of
from custos.domain.audit_witness import witness_line
from custos.domain.clock import ManualClock
from tests.api.builders import API
from tests.api.conftest import LoginAs

SENDERS = f"{API}/witness/senders"
CHECKPOINTS = f"{API}/witness/checkpoints"


def pem_of(signer: Ed25519Signer) -> str:
    key = signer._key.public_key()  # the test holds the unit's key pair
    return key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


def signed(signer: Ed25519Signer, n: int, at: datetime, salt: str = "") -> Checkpoint:
    root = hashlib.sha256(f"root {n}{salt}".encode()).digest()
    chain = hashlib.sha256(f"chain {n}{salt}".encode()).digest()
    statement = checkpoint_statement(n, root, chain, at, signer.key_id)
    return Checkpoint(n, root, chain, at, signer.key_id, signer.sign(statement))


def post(client: TestClient, cp: Checkpoint) -> Any:
    headers = {"Content-Type": "application/json"}
    return client.post(CHECKPOINTS, content=witness_line(cp), headers=headers)


def held(client: TestClient, key_id: str, **params: Any) -> Any:
    r = client.get(CHECKPOINTS, params={"key_id": key_id, **params})
    assert r.status_code == 200, r.text
    return r.json()


def logged(container: Container, action: str) -> list[tuple[Outcome, dict[str, Any]]]:
    with container.uow() as uow:
        entries = uow.audit.find(limit=10_000)
    return [(e.outcome, e.detail) for _, e in entries if e.action == action]


@pytest.fixture
def unit_key() -> Ed25519Signer:
    return Ed25519Signer.generate()


@pytest.fixture
def supervisor(login_as: LoginAs) -> dict[str, str]:
    return login_as(Role.SUPERVISOR)


@pytest.fixture
def registered(client: TestClient, supervisor: dict[str, str], unit_key: Ed25519Signer) -> str:
    body = {"name": "某单位视频系统", "public_key_pem": pem_of(unit_key)}
    r = client.post(SENDERS, json=body, headers=supervisor)
    assert r.status_code == 201, r.text
    return unit_key.key_id


def test_a_supervisor_or_an_admin_registers_a_sender_by_its_log_key(
    client: TestClient,
    container: Container,
    supervisor: dict[str, str],
    admin: dict[str, str],
    login_as: LoginAs,
    unit_key: Ed25519Signer,
) -> None:
    body = {"name": "甲单位", "public_key_pem": pem_of(unit_key)}
    r = client.post(SENDERS, json=body, headers=supervisor)
    assert r.status_code == 201, r.text
    assert r.json()["key_id"] == key_id_of(unit_key.public_key) == unit_key.key_id
    assert r.json()["public_key"] == unit_key.public_key.hex()
    again = client.post(SENDERS, json=body, headers=admin)
    assert again.status_code == 200 and again.json()["registered_by"] == "supervisor"
    renamed = client.post(SENDERS, json={**body, "name": "乙单位"}, headers=admin)
    assert renamed.status_code == 409
    assert "already registered as '甲单位'" in renamed.json()["message"]
    other = Ed25519Signer.generate()
    as_hex = {"name": "乙单位", "public_key_pem": other.public_key.hex()}
    assert client.post(SENDERS, json=as_hex, headers=admin).status_code == 201
    listed = client.get(SENDERS, headers=supervisor).json()
    assert {s["key_id"] for s in listed} == {unit_key.key_id, other.key_id}
    assert len(logged(container, "witness.sender.register")) == 2

    auditor = login_as(Role.AUDITOR)
    assert client.post(SENDERS, json=body, headers=auditor).status_code == 403
    assert client.get(SENDERS, headers=auditor).status_code == 403
    for bad in ("not a key", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"):
        r = client.post(SENDERS, json={"name": "x", "public_key_pem": bad}, headers=admin)
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["field"] == "public_key_pem"


def test_a_signed_checkpoint_is_kept_once_and_read_back_by_anyone(
    client: TestClient, registered: str, unit_key: Ed25519Signer, clock: ManualClock
) -> None:
    first = signed(unit_key, 1, clock.now())
    r = post(client, first)
    assert r.status_code == 201, r.text
    record = r.json()
    assert record["conflict"] is None and record["checkpoint"]["tree_size"] == 1
    again = post(client, first)
    assert again.status_code == 200 and again.json()["id"] == record["id"]  # idempotent
    for n in (11, 21, 31):
        clock.advance(timedelta(seconds=60))
        assert post(client, signed(unit_key, n, clock.now())).status_code == 201

    page = held(client, registered)  # no token: public
    assert page["newest_tree_size"] == 31 and page["next_after"] is None
    sizes = [c["checkpoint"]["tree_size"] for c in page["checkpoints"]]
    assert sizes == [1, 11, 21, 31]
    assert page["checkpoints"][0]["checkpoint"] == {
        "type": "checkpoint",
        "log": "custos-audit/1",
    } | (first.as_dict())
    walked: list[int] = []
    after = 0
    while True:
        part = held(client, registered, after=after, limit=3)
        walked += [c["checkpoint"]["tree_size"] for c in part["checkpoints"]]
        if part["next_after"] is None:
            break
        after = part["next_after"]
    assert walked == sizes
    assert client.get(CHECKPOINTS, params={"key_id": registered, "limit": 1001}).status_code == 422


def test_what_no_registered_key_signed_is_refused(
    client: TestClient, container: Container, registered: str, unit_key: Ed25519Signer,
    clock: ManualClock,
) -> None:  # fmt: skip
    good = signed(unit_key, 5, clock.now())
    forged = Checkpoint(good.tree_size, b"\x01" * 32, good.chain, good.signed_at, good.key_id,
                        good.signature)  # fmt: skip
    r = post(client, forged)
    assert r.status_code == 403
    assert "checkpoint 5 refused: the signature does not verify" in r.json()["message"]
    stranger = Ed25519Signer.generate()
    r = post(client, signed(stranger, 5, clock.now()))
    assert r.status_code == 403
    assert f"key {stranger.key_id} is not a registered sender" in r.json()["message"]
    assert held(client, registered)["checkpoints"] == []
    nobody = client.get(CHECKPOINTS, params={"key_id": stranger.key_id})
    assert nobody.status_code == 404
    assert client.get(CHECKPOINTS, params={"key_id": "NOT-HEX-16-CHARS"}).status_code == 422

    r = client.post(CHECKPOINTS, content=b'{"type": "checkpoint", "tree_size": 0, "x": 1}')
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body"
    fields = {e["field"]: e["reason"] for e in r.json()["errors"][1:]}
    assert fields["tree_size"].startswith("an integer 1..") and fields["root"] == "missing"
    assert fields["x"] == "not a member of a checkpoint"
    deep = client.post(CHECKPOINTS, content=b"[" * 3000)
    assert deep.status_code == 422 and "nested too deep" in deep.json()["message"]
    r = client.post(CHECKPOINTS, content=b"x" * 5000, headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert logged(container, "witness.checkpoint.conflict") == []  # refusals are not logged


def test_a_different_checkpoint_of_a_held_size_is_kept_as_evidence_logged_and_409(
    client: TestClient, container: Container, registered: str, unit_key: Ed25519Signer,
    clock: ManualClock,
) -> None:  # fmt: skip
    original = signed(unit_key, 31, clock.now())
    assert post(client, original).status_code == 201
    clock.advance(timedelta(minutes=5))
    rewritten = signed(unit_key, 31, clock.now(), salt="after the rollback")
    r = post(client, rewritten)
    assert r.status_code == 409, r.text
    message = r.json()["message"]
    first_id = held(client, registered)["checkpoints"][0]["id"]
    assert f"checkpoint 31 of key {registered}" in message
    assert f"differs from the one held (record {first_id}): another root" in message
    page = held(client, registered)
    assert page["newest_tree_size"] == 31
    kept = page["checkpoints"][1]
    assert kept["conflict"] == "same_size" and kept["conflicts_with"] == first_id
    assert kept["checkpoint"]["root"] == rewritten.root.hex()
    entries = logged(container, "witness.checkpoint.conflict")
    assert len(entries) == 1
    outcome, detail = entries[0]
    assert outcome is Outcome.REFUSED
    assert detail["tree_size"] == 31 and detail["conflict"] == "same_size"
    assert detail["held_record"] == first_id and detail["sender"] == "某单位视频系统"

    assert post(client, rewritten).status_code == 409  # again: still a conflict...
    assert len(logged(container, "witness.checkpoint.conflict")) == 1  # ...kept and logged once
    assert len(held(client, registered)["checkpoints"]) == 2
    assert post(client, original).status_code == 200  # the held one is still the held one

    statement = checkpoint_statement(31, original.root, original.chain, clock.now(), registered)
    resigned = Checkpoint(31, original.root, original.chain, clock.now(), registered,
                          unit_key.sign(statement))  # fmt: skip
    r = post(client, resigned)
    assert r.status_code == 409
    assert "the same root signed at another time" in r.json()["message"]


def test_a_checkpoint_out_of_the_order_of_sizes_is_a_conflict(
    client: TestClient, container: Container, registered: str, unit_key: Ed25519Signer,
    clock: ManualClock,
) -> None:  # fmt: skip
    early = clock.now()
    assert post(client, signed(unit_key, 11, early)).status_code == 201
    clock.advance(timedelta(minutes=1))
    assert post(client, signed(unit_key, 41, clock.now())).status_code == 201
    clock.advance(timedelta(minutes=1))
    # signed after checkpoint 41 yet smaller: the log shrank and grew again
    r = post(client, signed(unit_key, 31, clock.now()))
    assert r.status_code == 409
    assert "after the larger checkpoint 41 held" in r.json()["message"]
    # signed before checkpoint 11 yet larger
    r = post(client, signed(unit_key, 21, early - timedelta(seconds=1)))
    assert r.status_code == 409
    assert "before the smaller checkpoint 11 held" in r.json()["message"]
    page = held(client, registered)
    assert [c["conflict"] for c in page["checkpoints"]] == [
        None, None, "out_of_order", "out_of_order",
    ]  # fmt: skip
    assert page["newest_tree_size"] == 41
    assert len(logged(container, "witness.checkpoint.conflict")) == 2
    between = signed(unit_key, 21, early + timedelta(seconds=30))
    assert post(client, between).status_code == 201  # in order: accepted


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)  # SQLite has no triggers
def test_held_checkpoints_are_append_only_on_postgresql(
    client: TestClient, container: Container, registered: str, unit_key: Ed25519Signer,
    clock: ManualClock,
) -> None:  # fmt: skip
    assert post(client, signed(unit_key, 1, clock.now())).status_code == 201
    for statement in (
        "UPDATE witness_checkpoints SET tree_size = 2",
        "DELETE FROM witness_checkpoints",
        "TRUNCATE witness_checkpoints",
    ):
        with (
            pytest.raises(DBAPIError, match="witnessed checkpoints are append-only"),
            container.engine.begin() as conn,
        ):
            conn.execute(text(statement))
