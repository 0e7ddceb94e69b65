"""GB/T 28181 channels: a device's (multi-part, GB2312) catalogue becomes planned channels; a
unit manager places one and it becomes a registry camera under the typed-in camera's rules."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from custos.bootstrap import Container
from custos.domain.access import Role
from custos.domain.audit import Outcome
from custos.domain.clock import ManualClock
from custos.domain.gb_device import GbDevice
from custos.domain.manscdp import CatalogItem, CatalogResponse, PtzControl, parse
from custos.domain.manscdp_build import build_catalog_responses
from tests.api.builders import API, address_code, make_site, make_unit
from tests.api.conftest import LoginAs

DIVISION = "500103"  # Chongqing: art. 15, no Internet camera at a classified site
DEVICE = f"{DIVISION}0000118" + "0000001"  # an NVR (118)
PRIVATE = address_code(DIVISION, 1, network="0")
INTERNET = address_code(DIVISION, 2, network="7")
GROUP = f"{DIVISION}0000215" + "0000001"  # a business group (215): not a video source
ART15 = "chongqing-2016:art15"


def _device(container: Container, unit_id: int) -> None:
    with container.uow() as uow:
        uow.gb_devices.add(
            GbDevice(None, DEVICE, unit_id, "前门NVR", container.clock.now(), "admin"), "pw-1234"
        )
        uow.commit()


def _report_catalogue(container: Container, items: list[CatalogItem], sn: int = 7) -> Any:
    bodies = build_catalog_responses(sn, DEVICE, items, page_size=3)  # GB2312, 2 MESSAGEs
    assert len(bodies) == 2
    outcomes = []
    for body in reversed(bodies):  # out of order
        message = parse(body)
        outcomes.append(container.gb_channels.on_catalog_part(DEVICE, message))  # type: ignore[arg-type]
    return outcomes


CATALOGUE = [
    CatalogItem(PRIVATE, name="大门口东侧", manufacturer="海康威视", model="DS-2CD", status="ON"),
    CatalogItem(INTERNET, name="停车场", manufacturer="大华", status="ON"),
    CatalogItem(GROUP, name="一号楼"),
    CatalogItem(DEVICE, name="前门NVR", parental=True),
]


def _world(client: TestClient, admin: dict[str, str], container: Container) -> tuple[int, int]:
    unit = make_unit(client, admin, kind="government_organ")
    site = make_site(client, admin, unit, DIVISION, is_classified=True)
    _device(container, unit)
    return unit, site


def _channels(client: TestClient, headers: dict[str, str]) -> dict[str, dict[str, Any]]:
    r = client.get(f"{API}/gb/channels", headers=headers)
    assert r.status_code == 200, r.text
    return {c["channel_id"]: c for c in r.json()}


def _place(client: TestClient, headers: dict[str, str], channel: int, site: int) -> Any:
    body = {"site_id": site, "location_categories": ["shopping_mall"], "covers_public_area": True}
    return client.post(f"{API}/gb/channels/{channel}/place", json=body, headers=headers)


def test_a_two_part_gb2312_catalogue_becomes_planned_channels_and_skips_non_video_items(
    client: TestClient, admin: dict[str, str], container: Container
) -> None:
    _world(client, admin, container)
    first, second = _report_catalogue(container, CATALOGUE)
    assert first is None  # the second part of two came first
    assert sorted(second.added) == sorted([PRIVATE, INTERNET])
    assert GROUP in second.skipped and "215" in second.skipped[GROUP]
    assert "the device itself" in second.skipped[DEVICE]
    channels = _channels(client, admin)
    assert set(channels) == {PRIVATE, INTERNET}
    private = channels[PRIVATE]
    assert (private["name"], private["manufacturer"], private["state"]) == (
        "大门口东侧", "海康威视", "planned",
    )  # fmt: skip
    assert private["camera_id"] is None and private["present"] is True


def test_an_internet_channel_at_a_classified_site_is_refused_with_its_article_and_logged(
    client: TestClient, admin: dict[str, str], container: Container
) -> None:
    _, site = _world(client, admin, container)
    _report_catalogue(container, CATALOGUE)
    channels = _channels(client, admin)
    refused = _place(client, admin, channels[INTERNET]["id"], site)
    assert refused.status_code == 422, refused.text
    assert ART15 in {e.get("rule_id") for e in refused.json()["errors"]}
    assert _channels(client, admin)[INTERNET]["state"] == "planned"
    with container.uow() as uow:
        entries = uow.audit.find(limit=100_000)
    assert any(e.action == "camera.create" and e.outcome is Outcome.REFUSED for _, e in entries)

    placed = _place(client, admin, channels[PRIVATE]["id"], site)
    assert placed.status_code == 201, placed.text
    camera = client.get(f"{API}/cameras/{placed.json()['camera_id']}", headers=admin).json()
    assert camera["address_code"] == PRIVATE and camera["state"] == "planned"
    assert camera["name"] == "大门口东侧"
    after = _channels(client, admin)[PRIVATE]
    assert (after["state"], after["camera_id"]) == ("placed", camera["id"])
    _report_catalogue(container, CATALOGUE, sn=8)  # the device reports again: still placed
    assert _channels(client, admin)[PRIVATE]["camera_id"] == camera["id"]
    again = _place(client, admin, channels[PRIVATE]["id"], site)
    assert again.status_code == 422 and again.json()["errors"][0]["field"] == "channel"


def test_catalogue_changes_mark_channels_and_another_units_manager_sees_none(
    client: TestClient, admin: dict[str, str], container: Container, login_as: LoginAs
) -> None:
    unit, site = _world(client, admin, container)
    _report_catalogue(container, CATALOGUE)
    notify = (
        f"<Notify><CmdType>Catalog</CmdType><SN>9</SN><DeviceID>{DEVICE}</DeviceID>"
        f"<SumNum>2</SumNum><DeviceList Num='2'><Item><DeviceID>{PRIVATE}</DeviceID>"
        f"<Event>OFF</Event></Item><Item><DeviceID>{INTERNET}</DeviceID><Event>DEL</Event>"
        "</Item></DeviceList></Notify>"
    ).encode()
    container.gb_channels.on_message(DEVICE, parse(notify))
    channels = _channels(client, admin)
    assert channels[PRIVATE]["status"] == "OFF" and channels[PRIVATE]["present"] is True
    assert channels[INTERNET]["present"] is False
    other = make_unit(client, admin, 2)
    stranger = login_as(Role.UNIT_MANAGER, other)
    assert _channels(client, stranger) == {}
    assert _place(client, stranger, channels[PRIVATE]["id"], site).status_code == 404
    own = login_as(Role.UNIT_MANAGER, unit)
    assert set(_channels(client, own)) == {PRIVATE, INTERNET}
    elsewhere = make_site(client, admin, other, DIVISION)
    refused = _place(client, admin, channels[PRIVATE]["id"], elsewhere)
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "site_id"


def test_device_info_and_status_are_kept_as_last_reported(
    client: TestClient, admin: dict[str, str], container: Container
) -> None:
    _world(client, admin, container)
    info = (
        f"<Response><CmdType>DeviceInfo</CmdType><SN>2</SN><DeviceID>{DEVICE}</DeviceID>"
        "<Result>OK</Result><DeviceName>前门NVR</DeviceName><Manufacturer>Hikvision</Manufacturer>"
        "<Model>DS-7608</Model><Firmware>V4.1</Firmware><Channel>8</Channel></Response>"
    )
    container.gb_channels.on_message(DEVICE, parse(info.encode("gb18030"), "GB2312"))
    report = client.get(f"{API}/gb/devices/{DEVICE}/report", headers=admin)
    assert report.status_code == 200, report.text
    got = report.json()
    assert got["info"]["device_name"] == "前门NVR" and got["info"]["channels"] == 8
    assert got["status"] is None and got["info_at"] is not None
    bad = client.get(f"{API}/gb/devices/123/report", headers=admin)
    assert bad.status_code == 422


def test_ptz_of_a_placed_channel_sends_device_control_and_is_logged(
    client: TestClient, admin: dict[str, str], container: Container, login_as: LoginAs
) -> None:
    unit, site = _world(client, admin, container)
    operator = login_as(Role.OPERATOR, unit)
    _report_catalogue(container, CATALOGUE)
    channel = _channels(client, admin)[PRIVATE]["id"]
    move = {"tilt": "up", "tilt_speed": 250, "pan_speed": 0, "zoom_speed": 0}
    unplaced = client.post(f"{API}/gb/channels/{channel}/ptz", json=move, headers=operator)
    assert unplaced.status_code == 422 and unplaced.json()["errors"][0]["field"] == "channel"
    assert _place(client, admin, channel, site).status_code == 201
    no_server = client.post(f"{API}/gb/channels/{channel}/ptz", json=move, headers=operator)
    assert no_server.status_code == 422 and "gb_enabled" in no_server.text
    sent: list[tuple[str, bytes]] = []
    container.gb_ptz.connect(lambda device, body: sent.append((device, body)))
    r = client.post(f"{API}/gb/channels/{channel}/ptz", json=move, headers=operator)
    assert r.status_code == 200, r.text
    assert r.json()["ptz_cmd"] == "A50F010800FA00B7"  # tilt up at speed FA, annex A
    [(device, body)] = sent
    message = parse(body)
    assert device == DEVICE and isinstance(message, PtzControl)
    assert message.header.device_id == PRIVATE and message.command.to_hex() == "A50F010800FA00B7"
    too_fast = client.post(
        f"{API}/gb/channels/{channel}/ptz", json={"zoom": "in", "zoom_speed": 16}, headers=operator
    )
    assert too_fast.status_code == 422 and len(sent) == 1
    with container.uow() as uow:
        actions = [e.action for _, e in uow.audit.find(limit=100_000)]
    assert actions.count("gb_channel.ptz") == 3  # two refused, one sent


def test_a_catalogue_that_never_completes_is_given_up_and_logged(
    client: TestClient, admin: dict[str, str], container: Container, clock: ManualClock
) -> None:
    _world(client, admin, container)
    first = parse(build_catalog_responses(11, DEVICE, CATALOGUE, page_size=3)[0])
    assert isinstance(first, CatalogResponse)
    assert container.gb_channels.on_catalog_part(DEVICE, first) is None
    clock.advance(timedelta(seconds=29))
    assert container.gb_channels.expire() == []
    clock.advance(timedelta(seconds=1))
    [lost] = container.gb_channels.expire()
    assert (lost.sn, lost.sum_num, lost.received) == (11, 4, 3)
    assert _channels(client, admin) == {}  # nothing stored from half a catalogue
    with container.uow() as uow:
        [entry] = [e for _, e in uow.audit.find(limit=1000) if e.action == "gb.catalog_incomplete"]
    assert entry.detail["received"] == 3 and entry.actor == f"gb-device:{DEVICE}"


def test_a_device_speaking_for_another_device_is_refused_and_logged(
    client: TestClient, admin: dict[str, str], container: Container
) -> None:
    _world(client, admin, container)
    other = f"{DIVISION}0000118" + "0000002"
    [body] = build_catalog_responses(12, other, CATALOGUE[:1])
    container.gb_channels.on_message(DEVICE, parse(body))
    assert _channels(client, admin) == {}
    with container.uow() as uow:
        [entry] = [e for _, e in uow.audit.find(limit=1000) if e.action == "gb.message_refused"]
    assert entry.outcome is Outcome.REFUSED and entry.detail["device_id_in_body"] == other


def test_the_wall_moves_a_gb_channels_camera_through_the_camera_ptz_route(
    client: TestClient, admin: dict[str, str], container: Container, login_as: LoginAs
) -> None:
    unit, site = _world(client, admin, container)
    operator = login_as(Role.OPERATOR, unit)
    _report_catalogue(container, CATALOGUE)
    channel = _channels(client, admin)[PRIVATE]["id"]
    placed = _place(client, admin, channel, site)
    assert placed.status_code == 201, placed.text
    camera = placed.json()["camera_id"]
    assert client.get(f"{API}/onvif/ptz-cameras", headers=operator).json() == []  # no SIP server
    sent: list[tuple[str, bytes]] = []
    container.gb_ptz.connect(lambda device, body: sent.append((device, body)))
    assert client.get(f"{API}/onvif/ptz-cameras", headers=operator).json() == [camera]
    move = {"action": "move", "pan": -0.5, "tilt": 0.0, "zoom": 1.0}
    r = client.post(f"{API}/cameras/{camera}/ptz", json=move, headers=operator)
    assert r.status_code == 200, r.text
    stop = client.post(f"{API}/cameras/{camera}/ptz", json={"action": "stop"}, headers=operator)
    assert stop.status_code == 200, stop.text
    preset = {"action": "preset", "preset": "1"}
    refused = client.post(f"{API}/cameras/{camera}/ptz", json=preset, headers=operator)
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "action"
    moved, stopped = (parse(body) for _, body in sent)
    assert isinstance(moved, PtzControl) and isinstance(stopped, PtzControl)
    assert moved.header.device_id == PRIVATE
    # pan left at 128 (0.5 × 255), zoom in at 15: annex A bits 0x12 (left 0x02, zoom in 0x10)
    assert moved.command.to_hex()[6:8] == "12" and moved.command.pan_speed == 128
    assert moved.command.zoom_speed == 15 and stopped.command.is_stop
    with container.uow() as uow:
        actions = [e.action for _, e in uow.audit.find(limit=100_000)]
    assert actions.count("gb_channel.ptz") == 2
