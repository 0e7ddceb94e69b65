"""Out-of-range integers are a 422 naming the field, on every route, never a 500 (issue 11 §5).

PostgreSQL's ``integer`` is 32 bits: an unbounded id of 2^31 or more reached the database and
came back as a 500. The first test is the cheap guard (every integer a client can send declares
both bounds); the second sends min−1, max+1 and 2^63 to each one, and the maximum itself (which must not be a
server error either), on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from custos.domain.access import Role, permissions_of
from tests.api.builders import unit_body
from tests.api.conftest import LoginAs
from tests.api.openapi_walk import IntegerSlot, integer_slots

#: Who calls each route: the admin where its role allows, else the first role that does.
ROLES = (
    Role.ADMIN,
    Role.SUPERVISOR,
    Role.OFFICER,
    Role.APPROVER,
    Role.AUDITOR,
    Role.UNIT_MANAGER,
    Role.OPERATOR,
)


def test_every_integer_a_client_can_send_declares_both_bounds(app: FastAPI) -> None:
    slots = list(integer_slots(app.openapi()))
    assert len(slots) > 50, "the walk found the integers of the API"
    unbounded = [str(s) for s in slots if s.minimum is None or s.maximum is None]
    assert unbounded == []


def test_out_of_range_integers_get_422_naming_the_field_on_every_route(
    app: FastAPI, client: TestClient, login_as: LoginAs, admin: dict[str, str]
) -> None:
    unit = client.post("/api/v1/units", json=unit_body(), headers=admin).json()["id"]
    headers: dict[Role, dict[str, str]] = {Role.ADMIN: admin}
    failures: list[str] = []
    tried = 0
    for slot in integer_slots(app.openapi()):
        role = _role_for(slot)
        if role not in headers:
            headers[role] = login_as(
                role, unit if role in {Role.UNIT_MANAGER, Role.OPERATOR} else None
            )
        assert slot.minimum is not None and slot.maximum is not None, str(slot)
        for bad in (slot.minimum - 1, slot.maximum + 1, 2**63):
            tried += 1
            r = _send(client, slot, bad, headers[role])
            named = r.status_code == 422 and any(
                e["field"] == slot.field for e in r.json().get("errors", [])
            )
            if not named:
                failures.append(f"{slot} = {bad}: {r.status_code} {r.text[:200]}")
        # A bound set too loose shows here: the largest allowed value must not break the server.
        r = _send(client, slot, slot.maximum, headers[role])
        if r.status_code >= 500:
            failures.append(
                f"{slot} = {slot.maximum} (its maximum): {r.status_code} {r.text[:200]}"
            )
    assert tried > 150
    assert failures == []


def _role_for(slot: IntegerSlot) -> Role:
    for role in ROLES:
        if all(scope in permissions_of(role) for scope in slot.scopes):
            return role
    raise AssertionError(f"no role may call {slot}")


def _send(client: TestClient, slot: IntegerSlot, bad: int, headers: dict[str, str]) -> Any:
    path = slot.path
    query: dict[str, str] = {}
    body: Any = None
    if slot.location == "path":
        path = path.replace("{" + str(slot.name[0]) + "}", str(bad))
    elif slot.location == "query":
        query[str(slot.name[0])] = str(bad)
    else:
        body = _nested(slot.name, bad)
    path = _fill_other_path_parameters(path)
    kwargs: dict[str, Any] = {"params": query, "headers": headers}
    if body is not None:
        kwargs["json"] = body
    return client.request(slot.method.upper(), path, **kwargs)


def _fill_other_path_parameters(path: str) -> str:
    while "{" in path:
        start = path.index("{")
        path = path[:start] + "1" + path[path.index("}", start) + 1 :]
    return path


def _nested(name: tuple[str | int, ...], value: int) -> Any:
    """Only the one field, nested where it belongs; the others' absence is reported too."""
    if not name:
        return value
    head, rest = name[0], name[1:]
    if isinstance(head, int):
        return [_nested(rest, value)]
    return {head: _nested(rest, value)}


def test_the_live_websocket_refuses_an_out_of_range_camera_id(
    client: TestClient, admin: dict[str, str]
) -> None:
    """Not in the OpenAPI document, so walked by hand: closed as a policy violation (1008)."""
    with (
        pytest.raises(WebSocketDisconnect) as closed,
        client.websocket_connect(f"/api/v1/live/cameras/{2**63}/stream", headers=admin) as ws,
    ):
        ws.receive_json()
    assert closed.value.code == 1008
