"""Deny by default: every route declares a permission, and none but login and health is open."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from custos.domain.access import Permission
from custos.entrypoints.api.app import PUBLIC_ROUTES

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
        if (method, path) in PUBLIC_ROUTES:
            continue
        url = re.sub(r"\{[^}]+\}", "1", path)
        response = client.request(method, url, json={})
        if response.status_code != 401:
            open_routes.append(f"{method} {path} -> {response.status_code}")
    assert open_routes == []


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
