"""ONVIF onboarding against a virtual camera no one here wrote (ipycam, tests/integration/onvif_peer):
discovered on loopback, proposed (never added), accepted through the registry's own checks with
its credentials sealed, its clock drift measured and corrected where the unit allows, PTZ
commands reaching its motor and the operation log (issue 14 §3)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from custos.adapters.db import onvif_tables
from custos.bootstrap import Container
from custos.domain.access import Role
from custos.domain.alarms import AlarmKind
from custos.domain.clock import SystemClock
from custos.domain.onvif import Credentials, OnvifLink
from tests.api.builders import API, address_code, make_site, make_unit
from tests.api.conftest import LoginAs
from tests.integration.onvif_peer import PASSWORD, USERNAME, Peer, ipycam_peer


class ShiftedClock:
    """The real clock, moved forward by ``shift``: drift is measured against the camera's real
    clock, so the server's must tick too; a test moves it a day on to make the check due."""

    def __init__(self) -> None:
        self.shift = timedelta(0)

    def now(self) -> datetime:
        return SystemClock().now() + self.shift


@pytest.fixture
def clock() -> ShiftedClock:
    return ShiftedClock()


@pytest.fixture
def peer() -> Iterator[Peer]:
    with ipycam_peer() as p:
        yield p


def _discover(client: TestClient, headers: dict[str, str], unit: int, peer: Peer) -> Any:
    body = {"unit_id": unit, "address": "127.0.0.1", "username": USERNAME, "password": PASSWORD,
            "timeout_s": 1.5}  # fmt: skip
    r = client.post(f"{API}/onvif/discover", json=body, headers=headers)
    assert r.status_code == 200, r.text
    ours = [p for p in r.json() if p["xaddr"] == peer.xaddr]
    assert len(ours) == 1, r.json()  # other tests' peers on loopback may answer too
    return ours[0]


def _placement(site: int, serial: int = 1, **over: Any) -> dict[str, Any]:
    body = {"site_id": site, "address_code": address_code("110105", serial), "name": "东门云台",
            "location_categories": ["shopping_mall"], "covers_public_area": True}  # fmt: skip
    return body | over


@pytest.mark.slow  # a discovery, three sign-ins (argon2), a dozen ONVIF calls
def test_a_discovered_camera_is_proposed_accepted_clock_corrected_and_moved(
    client: TestClient,
    admin: dict[str, str],
    login_as: LoginAs,
    container: Container,
    peer: Peer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    unit = make_unit(client, admin)
    site = make_site(client, admin, unit)
    manager = login_as(Role.UNIT_MANAGER, unit)
    peer.drift_by(40.0)  # its clock runs 40 s ahead
    seen: list[str] = []

    proposal = _discover(client, manager, unit, peer)
    seen.append(str(proposal))
    assert proposal["status"] == "proposed" and proposal["probe_error"] == ""
    assert (proposal["manufacturer"], proposal["model"], proposal["serial"]) == (
        "PythonCam", "VirtualCam-1", "PY-000001",
    )  # fmt: skip
    assert proposal["main_stream_uri"].endswith("/video_main")
    assert proposal["sub_stream_uri"].endswith("/video_sub")
    assert proposal["has_ptz"] is True and proposal["has_credentials"] is True
    assert 38.5 <= proposal["clock_drift_s"] <= 41.5
    assert client.get(f"{API}/cameras", headers=admin).json() == [], "never added silently"

    # the unit allows Custos to set its cameras' clocks
    r = client.put(f"{API}/units/{unit}/onvif-settings", json={"camera_time_sync": True},
                   headers=manager)  # fmt: skip
    assert r.status_code == 200, r.text

    r = client.post(f"{API}/onvif/proposals/{proposal['id']}/accept", json=_placement(site),
                    headers=manager)  # fmt: skip
    assert r.status_code == 201, r.text
    seen.append(r.text)
    camera = r.json()["camera_id"]
    assert r.json()["proposal"]["status"] == "accepted"
    got = client.get(f"{API}/cameras/{camera}", headers=admin).json()
    seen.append(str(got))
    assert got["manufacturer"] == "PythonCam" and got["ptz"] is True
    assert got["has_stream_credentials"] is True
    with container.uow() as uow:
        stored = uow.cameras.get(camera)
        assert stored is not None and stored.main_stream is not None
        assert stored.main_stream.username == USERNAME and stored.main_stream.password == PASSWORD
        link = uow.onvif_links.get(camera)
        assert link is not None and link.credentials is not None
        assert link.credentials.password == PASSWORD
        seen.append(repr(stored) + repr(link))

    # measured at onboarding, 40 s beyond the 2 s limit: set, then measured again within it
    assert len(peer.sets) == 1
    assert abs(peer.service.offset_s) < 1.5
    assert link.clock_drift_s is not None and abs(link.clock_drift_s) <= 2.0
    check = client.post(f"{API}/cameras/{camera}/clock/check", headers=manager)
    assert check.status_code == 200, check.text
    assert abs(check.json()["drift_s"]) <= 2.0 and check.json()["set"] is False

    # PTZ from the wall: an operator of the unit moves it; the motor and the log both see it
    operator = login_as(Role.OPERATOR, unit)
    move = {"action": "move", "pan": 0.5, "tilt": -0.25, "timeout_s": 2}
    r = client.post(f"{API}/cameras/{camera}/ptz", json=move, headers=operator)
    assert r.status_code == 200, r.text
    r = client.post(f"{API}/cameras/{camera}/ptz", json={"action": "stop"}, headers=operator)
    assert r.status_code == 200, r.text
    r = client.post(f"{API}/cameras/{camera}/ptz", json={"action": "preset", "preset": "gate"},
                    headers=operator)  # fmt: skip
    assert r.status_code == 200, r.text
    assert [c[0] for c in peer.motor.calls] == ["continuous_move", "stop", "goto_preset"]
    assert peer.motor.calls[0][1] == (0.5, -0.25, 0.0)

    with container.uow() as uow:
        entries = [e for _, e in uow.audit.find(limit=1000)]
    actions = [(e.action, e.actor) for e in entries]
    assert ("onvif.discover", "unit-manager" + str(unit)) in actions
    assert ("onvif.accept", "unit-manager" + str(unit)) in actions
    assert ("onvif.clock.set", "unit-manager" + str(unit)) in actions
    ptz = [e for e in entries if e.action == "camera.ptz"]
    assert [(e.actor, e.object_id, e.detail["action"]) for e in ptz] == [
        ("operator" + str(unit), str(camera), a) for a in ("move", "stop", "preset")
    ]
    seen.extend(str(e) for e in entries)
    seen.append(client.get(f"{API}/onvif/proposals", headers=manager).text)
    seen.append(client.get(f"{API}/audit/entries", headers=admin).text)
    seen.append(caplog.text)
    for text in seen:
        assert PASSWORD not in text
    if container.settings.database_url is None:  # SQLite: the file and its write-ahead log
        db = Path(container.settings.resolved_database_url().removeprefix("sqlite:///"))
        for f in (p for p in (db, Path(f"{db}-wal")) if p.exists()):
            assert PASSWORD.encode() not in f.read_bytes(), f.name


def test_a_proposal_whose_address_code_is_refused_stays_a_proposal(
    client: TestClient, admin: dict[str, str], container: Container, peer: Peer
) -> None:
    unit = make_unit(client, admin)
    site = make_site(client, admin, unit)
    proposal = _discover(client, admin, unit, peer)
    wrong = _placement(site, address_code="1101050000132X000001")
    r = client.post(f"{API}/onvif/proposals/{proposal['id']}/accept", json=wrong, headers=admin)
    assert r.status_code == 422, r.text
    assert "address_code" in {e["field"] for e in r.json()["errors"]}
    assert client.get(f"{API}/cameras", headers=admin).json() == []
    [still] = [p for p in client.get(f"{API}/onvif/proposals", headers=admin).json()
               if p["id"] == proposal["id"]]  # fmt: skip
    assert still["status"] == "proposed"
    with container.engine.connect() as conn:
        assert conn.execute(select(onvif_tables.onvif_links)).all() == []
    r = client.post(f"{API}/onvif/proposals/{proposal['id']}/dismiss", headers=admin)
    assert r.status_code == 200 and r.json()["status"] == "dismissed"
    again = client.post(f"{API}/onvif/proposals/{proposal['id']}/accept",
                        json=_placement(site), headers=admin)  # fmt: skip
    assert again.status_code == 422 and again.json()["errors"][0]["field"] == "proposal"


def test_ptz_is_refused_for_a_camera_without_onvif_and_speeds_are_bounded(
    client: TestClient, admin: dict[str, str], login_as: LoginAs
) -> None:
    unit = make_unit(client, admin)
    site = make_site(client, admin, unit)
    body = _placement(site) | {"signage": {"installed": True, "installed_on": "2026-01-05"}}
    cam = client.post(f"{API}/cameras", json=body, headers=admin).json()["id"]
    operator = login_as(Role.OPERATOR, unit)
    r = client.post(f"{API}/cameras/{cam}/ptz", json={"action": "stop"}, headers=operator)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "camera_id", r.text
    r = client.post(f"{API}/cameras/{cam}/ptz", json={"action": "move", "pan": 3},
                    headers=operator)  # fmt: skip
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "pan", r.text
    other = login_as(Role.OPERATOR, make_unit(client, admin, 2))
    r = client.post(f"{API}/cameras/{cam}/ptz", json={"action": "stop"}, headers=other)
    assert r.status_code == 404, r.text
    auditor = login_as(Role.AUDITOR)
    r = client.post(f"{API}/cameras/{cam}/ptz", json={"action": "stop"}, headers=auditor)
    assert r.status_code == 403, r.text


def test_the_daily_check_raises_clock_drift_on_the_camera_and_clears_it_when_back(
    client: TestClient, admin: dict[str, str], container: Container, peer: Peer,
    clock: ShiftedClock,
) -> None:  # fmt: skip
    unit = make_unit(client, admin)
    site = make_site(client, admin, unit)
    in_service = [{"state": s, "on": f"2026-01-0{i}"}
                  for i, s in enumerate(("design_reviewed", "built", "accepted", "in_service"), 1)]  # fmt: skip
    body = _placement(site) | {"signage": {"installed": True, "installed_on": "2026-01-05"},
                               "history": in_service}  # only cameras in service are checked  # fmt: skip
    cam = client.post(f"{API}/cameras", json=body, headers=admin).json()["id"]
    with container.uow() as uow:  # as an accepted proposal leaves it (the flow is tested above)
        link = OnvifLink(cam, peer.xaddr, "urn:uuid:daily", Credentials(USERNAME, PASSWORD),
                         "Profile_Main", True)  # fmt: skip
        uow.onvif_links.add(link)
        uow.commit()
    peer.drift_by(-30.0)  # the unit has not allowed Custos to set its clocks
    [check] = container.camera_time.check_due()
    assert -31.5 <= check.drift_s <= -28.5 and check.set is False and check.alarm is True
    assert peer.sets == []
    with container.uow() as uow:
        alarm = uow.alarms.open_for(AlarmKind.CLOCK_DRIFT, f"camera:{cam}")
    assert alarm is not None and alarm.camera_id == cam
    assert container.camera_time.check_due() == [], "measured today already"

    clock.shift = timedelta(days=1, minutes=1)  # a day later the camera is right again
    peer.drift_by(clock.shift.total_seconds())
    [check] = container.camera_time.check_due()
    assert abs(check.drift_s) <= 1.5 and check.alarm is False
    with container.uow() as uow:
        assert uow.alarms.open_for(AlarmKind.CLOCK_DRIFT, f"camera:{cam}") is None
