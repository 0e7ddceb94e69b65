"""The GB/T 28181 device allow-list over the API: a unit manager adds devices of their own unit;
the digest password is write-only (never answered, never in the operation log) and sealed at
rest; bad IDs are refused naming the field; other units' devices are out of reach. A unit
manager asks an online device again for its Catalog, DeviceInfo or DeviceStatus (logged)."""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from custos.adapters.db import gb_tables as gt
from custos.bootstrap import Container
from custos.domain.access import Role
from custos.domain.manscdp import Query, parse
from custos.services.gb_devices import RegisterAttempt
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


def test_the_password_is_stored_sealed_not_as_plaintext(
    client: TestClient, admin: dict[str, str], container: Container
) -> None:
    assert _add(client, admin, make_unit(client, admin)).status_code == 201
    with container.uow.engine.connect() as conn:
        sealed = conn.execute(select(gt.gb_devices.c.password_sealed)).scalar_one()
    assert PASSWORD.encode() not in sealed and PASSWORD.encode("utf-16-le") not in sealed
    with container.uow() as uow:
        assert uow.gb_devices.password(DEVICE) == PASSWORD  # the secret box opens it
        assert PASSWORD not in repr(uow.gb_devices.by_device_id(DEVICE))


def _online(container: Container) -> None:
    """The device registers (challenge, then a digest the test accepts), as the SIP server
    would ask the device service."""
    attempt = RegisterAttempt(DEVICE, None, lambda _pw: True, 3600, "127.0.0.1:5062", "UDP")
    challenge = container.gb_devices.register(attempt)
    assert challenge.status == 401
    answer = container.gb_devices.register(dataclasses.replace(attempt, nonce=challenge.nonce))
    assert answer.status == 200


def test_a_unit_manager_asks_an_online_device_again_and_the_question_is_logged(
    client: TestClient, admin: dict[str, str], login_as: LoginAs, container: Container
) -> None:
    unit = make_unit(client, admin)
    device = _add(client, admin, unit).json()
    url = f"{API}/gb/devices/{device['id']}/query"
    manager = login_as(Role.UNIT_MANAGER, unit)
    sent: list[tuple[str, bytes]] = []
    # no SIP server yet, and the device has not registered: refused, saying why, and logged
    r = client.post(url, json={"what": "device_status"}, headers=manager)
    assert r.status_code == 422 and "unregistered" in r.text
    _online(container)
    r = client.post(url, json={"what": "device_status"}, headers=manager)
    assert r.status_code == 422 and "gb_enabled" in r.text
    container.gb_queries.connect(lambda device_id, body: sent.append((device_id, body)))
    for what, cmd_type in (("device_status", "DeviceStatus"), ("catalog", "Catalog"),
                           ("device_info", "DeviceInfo")):  # fmt: skip
        r = client.post(url, json={"what": what}, headers=manager)
        assert r.status_code == 202, r.text
        assert r.json()["cmd_type"] == cmd_type and r.json()["device_id"] == DEVICE
        device_id, body = sent[-1]
        query = parse(body)
        assert isinstance(query, Query) and device_id == DEVICE
        assert (query.header.cmd_type, query.header.sn) == (cmd_type, r.json()["sn"])
    assert client.post(url, json={"what": "record_info"}, headers=manager).status_code == 422
    assert len(sent) == 3
    log = client.get(f"{API}/audit/search?action=gb_device.query", headers=admin).json()
    entries = [e["entry"] for e in log["entries"]]
    asked = [e["detail"]["what"] for e in entries if e["outcome"] == "ok"]
    assert sorted(asked) == ["catalog", "device_info", "device_status"]
    assert all(e["actor"] == f"unit-manager{unit}" for e in entries if e["outcome"] == "ok")
    assert len([e for e in entries if e["outcome"] == "refused"]) == 2


def test_asking_a_device_is_for_its_own_units_managers(
    client: TestClient, admin: dict[str, str], login_as: LoginAs, container: Container
) -> None:
    mine, theirs = make_unit(client, admin, 1), make_unit(client, admin, 2)
    device = _add(client, admin, theirs).json()
    _online(container)
    container.gb_queries.connect(lambda _device_id, _body: None)
    url = f"{API}/gb/devices/{device['id']}/query"
    manager = login_as(Role.UNIT_MANAGER, mine)
    assert client.post(url, json={"what": "catalog"}, headers=manager).status_code == 404
    operator = login_as(Role.OPERATOR, theirs)
    assert client.post(url, json={"what": "catalog"}, headers=operator).status_code == 403
    assert client.post(url, json={"what": "catalog"}, headers=admin).status_code == 202
