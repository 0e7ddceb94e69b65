"""Deny by default: every route declares a permission, and none but login and health is open
(and the routes a signature authorizes instead, each refusing what no registered key signed)."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from custos.domain.access import Permission
from custos.entrypoints.api.app import PUBLIC_ROUTES, SIGNED_ROUTES
from custos.entrypoints.api.routers.witness import AUTHORIZED_BY, CHECKPOINT_SIGNATURE

METHODS = {"get", "post", "put", "patch", "delete"}


def _operations(app: FastAPI) -> list[tuple[str, str, dict[str, Any]]]:
    doc = app.openapi()
    return [
        (method.upper(), path, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def test_every_route_but_login_and_health_declares_one_known_permission(app: FastAPI) -> None:
    known = {p.value for p in Permission}
    undeclared = []
    for method, path, op in _operations(app):
        if (method, path) in PUBLIC_ROUTES:
            assert "security" not in op, f"{method} {path} is public but asks for a token"
            continue
        if (method, path) in SIGNED_ROUTES:
            assert "security" not in op, f"{method} {path} is signed but asks for a token"
            assert op.get(AUTHORIZED_BY) == CHECKPOINT_SIGNATURE, f"{method} {path} undeclared"
            continue
        assert AUTHORIZED_BY not in op, f"{method} {path} claims a signature but is not signed"
        scopes = [s for req in op.get("security", []) for s in req.get("HTTPBearer", [])]
        if len(scopes) != 1 or scopes[0] not in known:
            undeclared.append(f"{method} {path}: {scopes}")
    assert undeclared == []
    assert len(_operations(app)) > 15  # the walk really walked


def test_no_route_but_login_and_health_answers_without_a_token(
    app: FastAPI, client: TestClient
) -> None:
    open_routes = []
    for method, path, _ in _operations(app):
        if (method, path) in PUBLIC_ROUTES or (method, path) in SIGNED_ROUTES:
            continue
        url = re.sub(r"\{[^}]+\}", "1", path)
        response = client.request(method, url, json={})
        if response.status_code != 401:
            open_routes.append(f"{method} {path} -> {response.status_code}")
    assert open_routes == []


def test_a_signed_route_refuses_what_no_registered_key_signed(
    app: FastAPI, client: TestClient
) -> None:
    """The witness route's permission is the checkpoint's signature (SIGNED_ROUTES says why):
    without a token, a body that is not a signed checkpoint, or one of an unregistered key, is
    refused; test_bureau_witness covers a bad signature and the accepted case."""
    assert set(SIGNED_ROUTES) == {("POST", "/api/v1/witness/checkpoints")}
    assert all(reason for reason in SIGNED_ROUTES.values())
    for _method, path in SIGNED_ROUTES:
        assert client.post(path, json={}).status_code == 422
        line = {
            "type": "checkpoint", "log": "custos-audit/1", "tree_size": 1, "root": "00" * 32,
            "chain": "00" * 32, "signed_at": "2026-11-20T02:00:00.000000Z",
            "key_id": "0123456789abcdef", "signature": "00" * 64,
        }  # fmt: skip
        r = client.post(path, json=line)
        assert r.status_code == 403, r.text
        assert "key 0123456789abcdef is not a registered sender" in r.json()["message"]


def test_login_and_health_are_reachable_without_a_token(client: TestClient) -> None:
    assert client.get("/api/v1/health").status_code == 200
    r = client.post("/api/v1/auth/login", json={"username": "nobody", "password": "x"})
    assert r.status_code == 401


def test_a_forged_token_is_refused(client: TestClient) -> None:
    r = client.get("/api/v1/units", headers={"Authorization": "Bearer not-a-real-token"})
    assert r.status_code == 401
    assert r.json()["error"] == "authentication_failed"


def test_openapi_document_is_served_under_the_api_prefix(client: TestClient) -> None:
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    assert "/api/v1/cameras/{camera_id}/obligations" in r.json()["paths"]


def test_alarm_routes_declare_reading_and_handling(app: FastAPI) -> None:
    declared = {
        (method, path): [s for req in op.get("security", []) for s in req.get("HTTPBearer", [])]
        for method, path, op in _operations(app)
        if path.startswith("/api/v1/alarms")
    }
    assert declared == {
        ("GET", "/api/v1/alarms"): ["alarm.read"],
        ("GET", "/api/v1/alarms/{alarm_id}"): ["alarm.read"],
        ("POST", "/api/v1/alarms/{alarm_id}/acknowledge"): ["alarm.handle"],
        ("POST", "/api/v1/alarms/{alarm_id}/resolve"): ["alarm.handle"],
        ("GET", "/api/v1/alarms/{alarm_id}/deliveries"): ["alarm.read"],
    }
