"""The GB/T 28181 device allow-list over the API: a unit manager adds devices of their own unit;
the digest password is write-only (never answered, never in the operation log); bad IDs are
refused naming the field; other units' devices are out of reach."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from custos.bootstrap import Container
from custos.domain.access import Role
from tests.api.builders import API, make_unit
from tests.api.conftest import LoginAs

DEVICE = "34020000001180000001"
PASSWORD = "digest-Pa55word"


def _add(client: TestClient, headers: dict[str, str], unit: int, **over: Any) -> Any:
    body = {"device_id": DEVICE, "unit_id": unit, "name": "NVR 1", "password": PASSWORD} | over
    return client.post(f"{API}/gb/devices", json=body, headers=headers)


def test_a_unit_manager_allow_lists_a_device_and_its_password_never_comes_back(
    client: TestClient, admin: dict[str, str], login_as: LoginAs, container: Container
) -> None:
    unit = make_unit(client, admin)
    manager = login_as(Role.UNIT_MANAGER, unit)
    r = _add(client, manager, unit)
    assert r.status_code == 201, r.text
    device = r.json()
    assert device["device_id"] == DEVICE and device["state"] == "unregistered"
    assert "password" not in r.text and PASSWORD not in r.text
    listed = client.get(f"{API}/gb/devices", headers=manager).json()
    assert [d["device_id"] for d in listed] == [DEVICE]
    r = client.put(f"{API}/gb/devices/{device['id']}", json={"name": "NVR 1b",
                   "password": "an0ther-secret"}, headers=manager)  # fmt: skip
    assert r.status_code == 200 and r.json()["name"] == "NVR 1b"
    with container.uow() as uow:
        log = repr(uow.audit.find(limit=1000))
        assert uow.gb_devices.password(DEVICE) == "an0ther-secret"  # sealed, opened by the box
    assert PASSWORD not in log and "an0ther-secret" not in log and "gb_device.update" in log
    assert client.delete(f"{API}/gb/devices/{device['id']}", headers=manager).status_code == 204
    assert client.get(f"{API}/gb/devices", headers=manager).json() == []


def test_a_malformed_device_id_is_refused_naming_the_field(
    client: TestClient, admin: dict[str, str]
) -> None:
    unit = make_unit(client, admin)
    r = _add(client, admin, unit, device_id="3402000000118000000X")
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"device_id"}
    assert _add(client, admin, unit).status_code == 201
    assert _add(client, admin, unit).status_code == 409  # allow-listed once


def test_another_units_devices_are_out_of_reach_and_operators_cannot_write(
    client: TestClient, admin: dict[str, str], login_as: LoginAs
) -> None:
    mine, theirs = make_unit(client, admin, 1), make_unit(client, admin, 2)
    device = _add(client, admin, theirs).json()
    manager = login_as(Role.UNIT_MANAGER, mine)
    assert client.get(f"{API}/gb/devices", headers=manager).json() == []
    assert client.get(f"{API}/gb/devices/{device['id']}", headers=manager).status_code == 404
    assert _add(client, manager, theirs, device_id="34020000001180000002").status_code == 404
    operator = login_as(Role.OPERATOR, mine)
    assert _add(client, operator, mine, device_id="34020000001180000003").status_code == 403
