"""A SIPp device (tests/sipp/device_queries.xml) registers with the GB/T 28181 SIP server, wired
as `custos serve` wires it: Custos asks it for its Catalog, DeviceInfo and DeviceStatus (in that
order), the device answers each, and the API shows the channel and the report; a unit manager's
``POST /gb/devices/{id}/query`` asks again, and the device's answer is taken in and logged.
Real peer (sipp), real database (SQLite and PostgreSQL). A missing `sipp` fails the test."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from custos.adapters.sip.server import GbSipServer
from custos.bootstrap import Container, gb_sip_server
from custos.domain.gb_device import gb_date
from tests.api.builders import API, make_unit
from tests.integration.gb.sipp_support import SippRun, sipp
from tests.ports import free_port

DEVICE = "34020000001180000001"
CHANNEL = "34020000001310000001"  # what device_queries.xml reports in its catalogue
PLATFORM = "34020000002000000001"
DOMAIN = "3402000000"
PASSWORD = "gb-s3cret-12345"


@pytest.fixture
def server(container: Container) -> Iterator[GbSipServer]:
    listen = {"gb_sip_host": "127.0.0.1", "gb_sip_port": free_port()}
    sip = gb_sip_server(container.settings.model_copy(update=listen), container, 0.05)
    sip.start()
    yield sip
    sip.stop()


def _until(condition: Callable[[], Any], timeout_s: float = 8.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if got := condition():
            return got
        time.sleep(0.05)
    return None


@pytest.mark.slow  # the manager asks while the device stays up (5 s)
def test_custos_asks_a_registering_device_the_three_queries_and_a_manager_asks_again(
    client: TestClient,
    admin: dict[str, str],
    container: Container,
    server: GbSipServer,
    tmp_path: Path,
) -> None:
    unit = make_unit(client, admin)
    body = {"device_id": DEVICE, "unit_id": unit, "name": "NVR 1", "password": PASSWORD}
    r = client.post(f"{API}/gb/devices", json=body, headers=admin)
    assert r.status_code == 201, r.text
    device_pk = r.json()["id"]
    auth = f"[authentication username={DEVICE} password={PASSWORD}]"
    keys: list[tuple[str, ...]] = [(DEVICE, auth, DOMAIN, PLATFORM, gb_date(container.clock.now()))]
    errors = tmp_path / "sipp-errors.log"
    runs: list[SippRun] = []
    device = threading.Thread(
        target=lambda: runs.append(
            sipp("register_for_invite", server.port, keys, tmp_path, oocsf="device_queries",
                 extra=("-d", "5000", "-trace_err", "-error_file", str(errors)))
        )
    )  # fmt: skip
    device.start()
    try:

        def reported() -> dict[str, Any] | None:
            got = client.get(f"{API}/gb/devices/{DEVICE}/report", headers=admin).json()
            return got if got["info"] and got["status"] else None

        report = _until(reported)
        assert report is not None, "the device's DeviceInfo and DeviceStatus never arrived"
        assert report["info"] == {
            "result": "OK", "device_name": "东门录像机", "manufacturer": "SIPp GB",
            "model": "NVR-8", "firmware": "V5.7.3", "channels": 8,
        }  # fmt: skip
        assert report["status"] == {
            "result": "OK", "online": "ONLINE", "status": "OK", "encode": "ON",
            "record": "OFF", "device_time": "2026-12-07T08:00:00",
        }  # fmt: skip
        channels = _until(
            lambda: client.get(f"{API}/gb/channels?device_id={DEVICE}", headers=admin).json()
        )
        assert [(c["channel_id"], c["name"], c["state"]) for c in channels] == [
            (CHANNEL, "东门", "planned")
        ]

        r = client.post(
            f"{API}/gb/devices/{device_pk}/query", json={"what": "device_status"}, headers=admin
        )
        assert r.status_code == 202, r.text
        asked_sn = r.json()["sn"]

        def status_reports() -> list[dict[str, Any]]:
            log = client.get(f"{API}/audit/search?action=gb.device_status", headers=admin)
            found = [e["entry"] for e in log.json()["entries"]]
            return found if len(found) == 2 else []

        assert _until(status_reports), "the DeviceStatus asked again was not taken in"
    finally:
        device.join(30)
    [run] = runs
    assert (run.returncode, run.failed) == (0, 0), run.screen
    logged = errors.read_text(errors="replace") if errors.exists() else ""
    for symptom in ("regexp", "unexpected", "aborting", "timeout"):
        assert symptom not in logged.lower(), logged[-3000:]  # the out-of-call answers' checks
    trace = "".join(p.read_text(errors="replace") for p in tmp_path.glob("*.msg"))
    asked = re.findall(r"<Query>\s*<CmdType>(\w+)</CmdType>\s*<SN>(\d+)</SN>", trace)
    assert [cmd for cmd, _ in asked] == ["Catalog", "DeviceInfo", "DeviceStatus", "DeviceStatus"]
    assert asked[-1][1] == str(asked_sn)
    log = client.get(f"{API}/audit/search?action=gb_device.query", headers=admin).json()
    [entry] = [e["entry"] for e in log["entries"]]
    assert entry["outcome"] == "ok" and entry["actor"] == "admin"
    assert entry["detail"]["what"] == "device_status" and entry["detail"]["sn"] == asked_sn
