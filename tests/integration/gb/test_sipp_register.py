"""GB/T 28181 devices simulated by SIPp register with the SIP server, keep alive, go offline and
come back (and the cameras placed from their channels with them); bad REGISTERs are refused with
the right answer, and so are unreadable MANSCDP bodies; the 2022 edition's Contact expiry and
Date without milliseconds are read, and too short an expiry gets 423. Real peer (sipp), real
database."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from custos.adapters.sip.server import GbSipServer
from custos.bootstrap import Container, gb_sip_server
from custos.domain.access import Role
from custos.domain.alarms import Alarm, AlarmKind
from custos.domain.audit import AuditEvent, Outcome
from custos.domain.calendar import SHANGHAI, shanghai_date
from custos.domain.clock import ManualClock
from custos.domain.gb_device import DeviceState, gb_date
from custos.domain.kinds import LifecycleState as S
from custos.domain.kinds import PublicPlaceArticle, UnitKind
from custos.domain.manscdp import CatalogItem, CatalogResponse, parse
from custos.domain.manscdp_build import build_catalog_responses
from custos.domain.recording import OfflineReason, RecorderState
from custos.domain.users import Principal
from custos.services.gb_devices import DeviceInput
from custos.services.gb_placement import Placement
from custos.services.registry import SiteInput, UnitInput
from tests.api.builders import credit_code
from tests.integration.gb.sipp_support import free_port, sipp

DEVICE = "34020000001180000001"
PLATFORM = "34020000002000000001"
DOMAIN = "3402000000"
PASSWORD = "gb-s3cret-12345"
ADMIN = Principal(1, "admin", Role.ADMIN, None)


@dataclass
class Gb:
    container: Container
    clock: ManualClock
    server: GbSipServer
    tmp: Path

    def keys(self, device: str = DEVICE, password: str = PASSWORD) -> list[tuple[str, ...]]:
        """SIPp's injection file: device;its digest answer;domain;platform;the device's Date."""
        device_date = gb_date(self.clock.now() + timedelta(seconds=90))
        auth = f"[authentication username={device} password={password}]"
        return [(device, auth, DOMAIN, PLATFORM, device_date)]

    def device(self) -> dict[str, object]:
        [d] = [d for d in self.container.gb_devices.find(ADMIN) if d["device_id"] == DEVICE]
        return d


@pytest.fixture
def gb(container: Container, clock: ManualClock, tmp_path: Path) -> Iterator[Gb]:
    unit = container.registry.create_unit(
        ADMIN, UnitInput("Unit 1", credit_code(1), UnitKind.ENTERPRISE)
    )
    container.gb_devices.add(ADMIN, DeviceInput(DEVICE, unit.id or 0, "NVR 1", PASSWORD))
    # wired as `custos serve` wires it: the Catalog query after REGISTER is GB catalog service's
    listen = {"gb_sip_host": "127.0.0.1", "gb_sip_port": free_port()}
    server = gb_sip_server(container.settings.model_copy(update=listen), container, 0.05)
    server.start()
    yield Gb(container, clock, server, tmp_path)
    server.stop()


def _wait_for(condition: Callable[[], bool], timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("transport", ["u1", "t1"])
def test_a_device_registers_with_digest_keeps_alive_goes_offline_and_comes_back(
    gb: Gb, transport: str
) -> None:
    run = sipp("register_keepalive", gb.server.port, gb.keys(), gb.tmp, transport=transport,
               oocsf="catalog_answer")  # fmt: skip
    assert run.returncode == 0, run.screen
    assert (run.successful, run.failed) == (1, 0), run.screen
    d = gb.device()
    assert d["state"] == DeviceState.ONLINE.value
    assert d["transport"] == ("UDP" if transport == "u1" else "TCP")
    assert d["last_keepalive_at"] is not None
    assert d["clock_drift_s"] == pytest.approx(90.0, abs=0.01)  # what the device's Date said

    gb.clock.advance(timedelta(seconds=3 * 60 + 1))  # 3 keepalive intervals missed
    assert gb.device()["state"] == DeviceState.OFFLINE.value
    assert _wait_for(lambda: _open_alarm(gb) is not None)  # the SIP thread's offline check
    alarm = _open_alarm(gb)
    assert alarm is not None and alarm.subject == f"device:{DEVICE}"

    run = sipp("keepalive", gb.server.port, gb.keys(), gb.tmp, transport=transport)
    assert run.returncode == 0, run.screen
    assert gb.device()["state"] == DeviceState.ONLINE.value
    assert _open_alarm(gb) is None


def _open_alarm(gb: Gb) -> Alarm | None:
    with gb.container.uow() as uow:
        return uow.alarms.open_for(AlarmKind.DEVICE_OFFLINE, f"device:{DEVICE}")


def _register_log(gb: Gb) -> list[AuditEvent]:
    with gb.container.uow() as uow:
        return [e for _, e in uow.audit.find(limit=1000) if e.action.startswith("gb_device.")]


def test_a_wrong_password_is_refused_with_403_after_the_challenge_and_logged(gb: Gb) -> None:
    run = sipp("wrong_password", gb.server.port, gb.keys(password="not-the-password"), gb.tmp)
    assert (run.returncode, run.successful) == (0, 1), run.screen
    assert gb.device()["state"] == DeviceState.UNREGISTERED.value
    [refused] = [e for e in _register_log(gb) if e.outcome is Outcome.REFUSED]
    assert refused.detail["reason"] == "wrong digest response (password)"
    assert PASSWORD not in repr(refused) and "not-the-password" not in repr(refused)


@pytest.mark.parametrize(
    ("device", "reason"),
    [("34020000001180000099", "not on the allow-list"), ("3402000000118000", "malformed")],
)
def test_an_unknown_or_malformed_device_is_refused_with_403_and_logged(
    gb: Gb, device: str, reason: str
) -> None:
    run = sipp("refused", gb.server.port, gb.keys(device=device), gb.tmp)
    assert (run.returncode, run.successful) == (0, 1), run.screen
    [refused] = [e for e in _register_log(gb) if e.outcome is Outcome.REFUSED]
    assert refused.detail["device_id"] == device and reason in refused.detail["reason"]


@pytest.mark.parametrize("transport", ["u1", "t1"])
def test_a_replayed_nonce_gets_a_fresh_stale_challenge(gb: Gb, transport: str) -> None:
    run = sipp("replayed_nonce", gb.server.port, gb.keys(), gb.tmp, transport=transport,
               oocsf="catalog_answer")  # fmt: skip
    assert (run.returncode, run.successful, run.failed) == (0, 1, 0), run.screen
    assert gb.device()["state"] == DeviceState.ONLINE.value


def test_a_device_unregisters_with_expires_0(gb: Gb) -> None:
    run = sipp("unregister", gb.server.port, gb.keys(), gb.tmp, oocsf="catalog_answer")
    assert (run.returncode, run.successful, run.failed) == (0, 1, 0), run.screen
    d = gb.device()
    assert d["state"] == DeviceState.UNREGISTERED.value and d["expires_at"] is None
    actions = [e.action for e in _register_log(gb) if e.outcome is Outcome.OK]
    assert actions[-2:] == ["gb_device.register", "gb_device.unregister"]
    gb.clock.advance(timedelta(hours=2))  # a device that said goodbye raises no alarm
    time.sleep(0.2)
    assert _open_alarm(gb) is None


# --- the 2022 edition, 423, unreadable bodies, cameras of an offline device -------------------


def test_a_2022_device_with_contact_expires_and_a_date_without_milliseconds_registers(
    gb: Gb,
) -> None:
    """The expiry in the Contact's `expires` parameter (no Expires header), a Date without
    milliseconds: both read; SIPp checks the 200's Expires: 120."""
    device_date = (gb.clock.now() + timedelta(seconds=90)).astimezone(SHANGHAI)
    [(device, auth, domain, platform, _)] = gb.keys()
    keys: list[tuple[str, ...]] = [
        (device, auth, domain, platform, device_date.strftime("%Y-%m-%dT%H:%M:%S"))
    ]
    run = sipp("register_2022", gb.server.port, keys, gb.tmp, oocsf="catalog_answer")
    assert (run.returncode, run.successful, run.failed) == (0, 1, 0), run.screen
    d = gb.device()
    assert d["state"] == DeviceState.ONLINE.value
    assert d["expires_at"] == (gb.clock.now() + timedelta(seconds=120)).isoformat()
    whole_seconds = 90 - gb.clock.now().microsecond / 1e6  # the device's Date has none
    assert d["clock_drift_s"] == pytest.approx(whole_seconds, abs=0.01)


def test_too_short_an_expiry_gets_423_with_min_expires_and_then_the_minimum(gb: Gb) -> None:
    assert gb.container.settings.gb_register_min_expires_s == 60  # what the scenario expects
    run = sipp("register_too_brief", gb.server.port, gb.keys(), gb.tmp, oocsf="catalog_answer")
    assert (run.returncode, run.successful, run.failed) == (0, 1, 0), run.screen
    d = gb.device()
    assert d["state"] == DeviceState.ONLINE.value
    assert d["expires_at"] == (gb.clock.now() + timedelta(seconds=60)).isoformat()


@pytest.mark.parametrize("transport", ["u1", "t1"])
def test_unreadable_manscdp_bodies_get_400_and_a_log_entry_and_the_device_stays(
    gb: Gb, transport: str
) -> None:
    """GB2312 bytes declared UTF-8, and broken XML: 400 with the reason (SIPp checks the
    status lines), an operation-log entry each; the keepalive after them is answered 200."""
    run = sipp("register_bad_bodies", gb.server.port, gb.keys(), gb.tmp, transport=transport,
               oocsf="catalog_answer")  # fmt: skip
    assert (run.returncode, run.successful, run.failed) == (0, 1, 0), run.screen
    d = gb.device()
    assert d["state"] == DeviceState.ONLINE.value and d["last_keepalive_at"] is not None
    bad = [e for e in _register_log(gb) if e.action == "gb_device.bad_message"]
    assert [e.detail["field"] for e in bad] == ["encoding", "xml"]
    assert all(e.outcome is Outcome.REFUSED and e.actor == f"gb-device:{DEVICE}" for e in bad)
    assert all(e.object_id == str(d["id"]) and e.detail["device_id"] == DEVICE for e in bad)
    assert "UTF-8" in bad[0].detail["reason"] and "well-formed" in bad[1].detail["reason"]
    with gb.container.uow() as uow:
        assert uow.gb_device_reports.get(DEVICE)["info"] is None  # nothing taken from it


def test_an_offline_device_takes_its_placed_cameras_offline_until_it_is_heard_again(
    gb: Gb,
) -> None:
    """3 keepalive intervals missed: the camera placed from the device's channel is offline on
    the recorder's health board (what the UI shows), and the alarm watcher raises
    camera_offline for it; the next keepalive takes the mark away and the alarm clears."""
    camera_id = _place_in_service(gb, "34020000001310000001")
    run = sipp("register_keepalive", gb.server.port, gb.keys(), gb.tmp, oocsf="catalog_answer")
    assert (run.returncode, run.successful, run.failed) == (0, 1, 0), run.screen
    registered_at = gb.clock.now()
    assert gb.container.recording.health(camera_id) is None  # the recorder has not reported

    gb.clock.advance(timedelta(seconds=3 * 60 + 1))
    assert _wait_for(lambda: gb.container.recording.health(camera_id) is not None)
    health = gb.container.recording.health(camera_id)
    assert health is not None and health.state is RecorderState.OFFLINE
    assert health.reason is OfflineReason.UNREACHABLE and health.since == registered_at
    assert f"GB/T 28181 device {DEVICE} offline" in health.detail
    report = gb.container.alarm_watch.tick()
    assert [(w.kind, w.subject) for w in report.raised] == [
        (AlarmKind.CAMERA_OFFLINE, f"camera:{camera_id}")
    ]
    assert _open_alarm(gb) is not None  # and the device's own

    run = sipp("keepalive", gb.server.port, gb.keys(), gb.tmp)
    assert run.returncode == 0, run.screen
    assert gb.container.recording.health(camera_id) is None  # the recorder's word again
    report = gb.container.alarm_watch.tick()
    assert report.cleared == [(AlarmKind.CAMERA_OFFLINE, f"camera:{camera_id}")]
    assert report.faults_recovered == [camera_id]


def _place_in_service(gb: Gb, channel_id: str) -> int:
    """The device's catalogue lists ``channel_id``; a unit manager places it at a site and the
    camera is put in service (so it should record, and is watched)."""
    c = gb.container
    [body] = build_catalog_responses(1, DEVICE, [CatalogItem(channel_id, name="Gate")])
    part = parse(body)
    assert isinstance(part, CatalogResponse)
    c.gb_channels.on_catalog_part(DEVICE, part)
    [unit] = c.registry.list_units(ADMIN)
    site = c.registry.create_site(
        ADMIN, SiteInput(unit.id or 0, "Gate", "340202", "1 Road", True, PublicPlaceArticle.ART9)
    )
    [channel] = c.gb_channels.list_channels(ADMIN)
    camera = c.gb_channels.place(ADMIN, channel.id or 0, Placement(site.id or 0, []))
    today = shanghai_date(gb.clock.now())
    for state in (S.DESIGN_REVIEWED, S.BUILT, S.ACCEPTED, S.IN_SERVICE):
        c.registry.transition_camera(ADMIN, camera.id or 0, state, today)
    return camera.id or 0
