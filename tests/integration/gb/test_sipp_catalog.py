"""A SIPp device registers; Custos's Catalog query (built by the catalog service, sent by the SIP
server) is answered out of call in two GB2312 MESSAGEs, second part first; the two cameras appear
as planned channels and the business group is skipped. Real peer (sipp), real database."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from custos.adapters.sip.server import GbSipServer, SipListen
from custos.bootstrap import Container
from custos.domain.access import Role
from custos.domain.gb_device import gb_date
from custos.domain.kinds import PublicPlaceArticle, UnitKind
from custos.domain.manscdp import CatalogItem, CatalogResponse, parse
from custos.domain.manscdp_build import build_catalog_responses
from custos.domain.manscdp_ptz import PtzCommand, Tilt
from custos.domain.users import Principal
from custos.services.gb_channels import Placement
from custos.services.gb_devices import DeviceInput
from custos.services.registry import SiteInput, UnitInput
from tests.api.builders import credit_code
from tests.integration.gb.sipp_support import free_port, sipp

DEVICE = "34020000001180000001"
PLATFORM = "34020000002000000001"
DOMAIN = "3402000000"
PASSWORD = "gb-s3cret-12345"
ADMIN = Principal(1, "admin", Role.ADMIN, None)
CAMERAS = {"34020000001310000001": "大门口东侧", "34020000001320000002": "停车场入口"}
GROUP = "34020000002150000001"


@pytest.fixture
def server(container: Container) -> Iterator[GbSipServer]:
    unit = container.registry.create_unit(
        ADMIN, UnitInput("Unit 1", credit_code(1), UnitKind.ENTERPRISE)
    )
    container.gb_devices.add(ADMIN, DeviceInput(DEVICE, unit.id or 0, "NVR 1", PASSWORD))
    sip = GbSipServer(container.gb_devices, SipListen("127.0.0.1", free_port(), check_every_s=0.05))
    catalog = container.gb_channels
    sip.on_message.append(catalog.on_message)
    container.gb_ptz.connect(sip.send_message)
    container.gb_devices.on_registered.append(
        lambda device_id: sip.send_message(device_id, catalog.query("Catalog", device_id)[1])
    )
    sip.start()
    yield sip
    sip.stop()


def test_a_sipp_device_answers_the_catalog_query_in_two_gb2312_parts_and_channels_appear(
    container: Container, server: GbSipServer, tmp_path: Path
) -> None:
    device_date = gb_date(container.clock.now() + timedelta(seconds=1))
    auth = f"[authentication username={DEVICE} password={PASSWORD}]"
    run = sipp("register_for_catalog", server.port, [(DEVICE, auth, DOMAIN, PLATFORM, device_date)],
               tmp_path, oocsf="catalog_two_parts")  # fmt: skip
    assert (run.returncode, run.successful, run.failed) == (0, 1, 0), run.screen
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len(container.gb_channels.list_channels(ADMIN)) < 2:
        time.sleep(0.05)
    channels = {c.channel_id: c for c in container.gb_channels.list_channels(ADMIN)}
    assert {cid: c.name for cid, c in channels.items()} == CAMERAS, run.screen
    assert all(c.state == "planned" and c.manufacturer == "海康威视" for c in channels.values())
    with container.uow() as uow:
        [logged] = [e for _, e in uow.audit.find(limit=1000) if e.action == "gb.catalog"]
    assert logged.actor == f"gb-device:{DEVICE}" and GROUP in logged.detail["skipped"]


def test_a_ptz_command_reaches_the_sipp_device_as_device_control(
    container: Container, server: GbSipServer, tmp_path: Path
) -> None:
    [unit] = container.registry.list_units(ADMIN)
    site = container.registry.create_site(
        ADMIN, SiteInput(unit.id or 0, "Gate", "340202", "1 Road", True, PublicPlaceArticle.ART9)
    )
    [body] = build_catalog_responses(1, DEVICE, [CatalogItem(next(iter(CAMERAS)), name="门")])
    part = parse(body)
    assert isinstance(part, CatalogResponse)
    container.gb_channels.on_catalog_part(DEVICE, part)
    [channel] = container.gb_channels.list_channels(ADMIN)
    container.gb_channels.place(ADMIN, channel.id or 0, Placement(site.id or 0, []))
    up = PtzCommand(tilt=Tilt.UP, tilt_speed=0xFA)
    operator = Principal(2, "operator", Role.OPERATOR, unit.id)
    sent: list[dict[str, object]] = []

    def command_once_registered() -> None:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not sent:
            if container.gb_devices.is_registered(DEVICE):
                sent.append(container.gb_ptz.command(operator, channel.id or 0, up))
            time.sleep(0.05)

    sender = threading.Thread(target=command_once_registered)
    sender.start()
    device_date = gb_date(container.clock.now())
    auth = f"[authentication username={DEVICE} password={PASSWORD}]"
    run = sipp("register_for_catalog", server.port, [(DEVICE, auth, DOMAIN, PLATFORM, device_date)],
               tmp_path, oocsf="answer_message")  # fmt: skip
    sender.join()
    assert sent and sent[0]["ptz_cmd"] == "A50F010800FA00B7"
    assert (run.returncode, run.successful, run.failed) == (0, 1, 0), run.screen
    received = "".join(p.read_text(errors="replace") for p in tmp_path.glob("*.msg"))
    assert "<CmdType>DeviceControl</CmdType>" in received, run.screen
    assert "<PTZCmd>A50F010800FA00B7</PTZCmd>" in received
    assert f"<DeviceID>{channel.channel_id}</DeviceID>" in received
