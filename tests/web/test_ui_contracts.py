"""Contracts of the UI that need no browser: one catalogue, no literal text in templates, every
page route declares a permission, the live WebSocket authenticates."""

from __future__ import annotations

import json
import re

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, APIWebSocketRoute
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from custos.domain.access import Role
from custos.entrypoints.api.app import PUBLIC_ROUTES
from custos.entrypoints.api.deps import RequirePermission
from custos.entrypoints.web import live, pages
from custos.entrypoints.web.i18n import catalogue, catalogue_files
from custos.entrypoints.web.paths import CATALOGUE_DIR, TEMPLATES_DIR, UI_PREFIX
from tests.api.builders import make_unit
from tests.api.conftest import LoginAs


def test_both_catalogues_have_the_same_keys() -> None:
    zh, en = catalogue("zh_CN"), catalogue("en")
    assert set(zh) == set(en)
    assert all(v.strip() for v in [*zh.values(), *en.values()])
    areas = {p.name.split(".", 1)[1] for p in CATALOGUE_DIR.glob("*.*.json")}
    for area in areas:  # an area file exists in both languages, with the same keys
        zh_area = json.loads((CATALOGUE_DIR / f"zh_CN.{area}").read_text("utf-8"))
        en_area = json.loads((CATALOGUE_DIR / f"en.{area}").read_text("utf-8"))
        assert set(zh_area) == set(en_area), area


def test_no_key_is_defined_in_two_catalogue_files() -> None:
    for lang in ("zh_CN", "en"):
        seen: dict[str, str] = {}
        for path in catalogue_files(lang):
            for key in json.loads(path.read_text("utf-8")):
                assert key not in seen, f"{key} in {seen.get(key)} and {path.name}"
                seen[key] = path.name


def test_templates_hold_no_literal_text() -> None:
    for path in TEMPLATES_DIR.glob("*.html"):
        text = path.read_text("utf-8")
        text = re.sub(r"\{% block page %\}\w*\{% endblock %\}", "", text)  # an attribute value
        text = re.sub(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", "", text, flags=re.S)
        text = re.sub(r"<script\b.*?</script>|<style\b.*?</style>", "", text, flags=re.S)
        text = re.sub(r"<[^>]*>", "", text)
        words = re.findall(r"[A-Za-z\u4e00-\u9fff]{2,}", text)
        assert words == [], f"{path.name}: literal text {words}"


def _ui_routes(app: FastAPI) -> list[APIRoute]:
    # The UI's routers are included without a prefix, so their routes carry their full paths.
    return [r for r in pages.router.routes if isinstance(r, APIRoute)]


def test_every_ui_page_but_login_declares_one_permission(app: FastAPI) -> None:
    # Page routes stay out of the OpenAPI document, so tests/api/test_route_permissions.py does
    # not see them; this walks them the same way, through the dependency tree.
    undeclared = []
    for route in _ui_routes(app):
        for method in route.methods:
            if (method, route.path) in PUBLIC_ROUTES:
                continue
            found = [
                d.call
                for d in route.dependant.dependencies
                if isinstance(d.call, RequirePermission)
            ]
            if len(found) != 1:
                undeclared.append(f"{method} {route.path}")
    assert undeclared == []
    assert len(_ui_routes(app)) >= 10
    assert all(r.path == "/" or r.path.startswith(UI_PREFIX + "/") for r in _ui_routes(app))


def test_ui_pages_send_a_stranger_to_the_login_page(client: TestClient, app: FastAPI) -> None:
    for route in _ui_routes(app):
        for method in route.methods:
            if (method, route.path) in PUBLIC_ROUTES:
                continue
            r = client.request(method, route.path, follow_redirects=False)
            assert r.status_code in (303, 401), f"{method} {route.path} -> {r.status_code}"


def test_a_cookie_alone_does_not_authenticate_a_state_changing_api_call(
    client: TestClient, login_as: LoginAs
) -> None:
    token = login_as(Role.ADMIN)["Authorization"].split()[1]
    client.cookies.set("custos_session", token)
    assert client.get("/api/v1/units").status_code == 200
    body = {"name": "x", "credit_code": "x", "kind": "enterprise"}
    assert client.post("/api/v1/units", json=body).status_code == 401
    r = client.post("/api/v1/units", json=body, headers={"X-Custos-UI": "1"})
    assert r.status_code == 422  # authenticated, then validated


def test_the_live_socket_needs_a_token_and_live_view(
    client: TestClient, login_as: LoginAs, app: FastAPI
) -> None:
    assert any(isinstance(r, APIWebSocketRoute) for r in live.router.routes)
    url = "/api/v1/live/cameras/1/stream"
    with client.websocket_connect(url) as ws:
        assert ws.receive_json()["error"] == "authentication_failed"
        with pytest.raises(WebSocketDisconnect):
            ws.receive_json()
    admin = login_as(Role.ADMIN)  # an admin sees no footage
    with client.websocket_connect(url, headers=admin) as ws:
        assert ws.receive_json()["error"] == "permission_denied"
    unit = make_unit(client, admin)
    operator = login_as(Role.OPERATOR, unit_id=unit, name="watcher")
    with client.websocket_connect(url, headers=operator) as ws:
        assert ws.receive_json()["error"] == "refused"  # no camera 1 in reach
