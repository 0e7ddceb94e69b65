"""The media INVITE end to end on the SIP side: the recorder's control-socket client → the media
control socket → the GB/T 28181 SIP server → a SIPp device (tests/sipp/device_*.xml), which
checks what we send (Subject, SDP, ACK, CANCEL, BYE) and fails its call otherwise. Real peer
(sipp), real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from custos.adapters.sip.media_control import MediaControlClient, MediaControlServer, socket_path
from custos.adapters.sip.server import GbSipServer
from custos.bootstrap import Container, gb_sip_server
from custos.domain.access import Role
from custos.domain.gb_device import gb_date
from custos.domain.gb_media import MediaOffer, MediaRefused
from custos.domain.gb_sdp import Transport
from custos.domain.kinds import UnitKind
from custos.domain.manscdp import CatalogItem, CatalogResponse, parse
from custos.domain.manscdp_build import build_catalog_responses
from custos.domain.users import Principal
from custos.services.gb_devices import DeviceInput
from custos.services.registry import UnitInput
from tests.api.builders import credit_code
from tests.integration.gb.sipp_support import SippRun, free_port, received_requests, sipp

DEVICE = "34020000001180000001"
CHANNEL = "34020000001310000001"
OTHER_CHANNEL = "34020000001310000002"
PLATFORM = "34020000002000000001"
DOMAIN = "3402000000"
PASSWORD = "gb-s3cret-12345"
ADMIN = Principal(1, "admin", Role.ADMIN, None)
MEDIA_PORT = 40000


@dataclass
class Gb:
    container: Container
    server: GbSipServer
    client: MediaControlClient
    tmp: Path

    def device(
        self,
        oocsf: str,
        pause_ms: int,
        transport: str = "u1",
        scenario: str = "register_for_invite",
    ) -> Device:
        """A SIPp device registering and then answering out of call, run in a thread."""
        auth = f"[authentication username={DEVICE} password={PASSWORD}]"
        keys = [(DEVICE, auth, DOMAIN, PLATFORM, gb_date(self.container.clock.now()))]
        device = Device(self)
        errors = ("-trace_err", "-error_file", str(self.tmp / "sipp-errors.log"))
        device.thread = threading.Thread(
            target=lambda: device.runs.append(
                sipp(scenario, self.server.port, keys, self.tmp,
                     transport=transport, oocsf=oocsf, extra=("-d", str(pause_ms), *errors))
            )
        )  # fmt: skip
        device.thread.start()
        deadline = time.monotonic() + 10
        while self.container.gb_devices.online(DEVICE) is None:
            if not device.thread.is_alive():  # SIPp gave up (e.g. a scenario it cannot read)
                pytest.fail(f"SIPp ended before registering: {device.runs[0].screen}")
            assert time.monotonic() < deadline, "the SIPp device did not register"
            time.sleep(0.05)
        return device


@dataclass
class Device:
    gb: Gb
    thread: threading.Thread | None = None
    runs: list[SippRun] | None = None

    def __post_init__(self) -> None:
        self.runs = []

    def finish(self) -> tuple[SippRun, str]:
        """SIPp's result and every message it saw (-trace_msg). An out-of-call scenario's failed
        check or unexpected message is not counted as a failed call: its error log is read."""
        assert self.thread is not None and self.runs is not None
        self.thread.join(40)
        [run] = self.runs
        trace = "".join(p.read_text(errors="replace") for p in self.gb.tmp.glob("*.msg"))
        log = self.gb.tmp / "sipp-errors.log"
        errors = log.read_text(errors="replace") if log.exists() else ""
        for symptom in ("regexp", "unexpected", "Aborting", "timeout"):
            assert symptom.lower() not in errors.lower(), errors[-3000:]
        return run, trace


@pytest.fixture
def gb(container: Container, tmp_path: Path) -> Iterator[Gb]:
    unit = container.registry.create_unit(
        ADMIN, UnitInput("Unit 1", credit_code(1), UnitKind.ENTERPRISE)
    )
    container.gb_devices.add(ADMIN, DeviceInput(DEVICE, unit.id or 0, "NVR 1", PASSWORD))
    [body] = build_catalog_responses(1, DEVICE, [CatalogItem(CHANNEL, name="Gate")])
    part = parse(body)
    assert isinstance(part, CatalogResponse)
    container.gb_channels.on_catalog_part(DEVICE, part)  # the channel, as its catalogue said
    listen = {"gb_sip_host": "127.0.0.1", "gb_sip_port": free_port()}
    server = gb_sip_server(container.settings.model_copy(update=listen), container, 0.05)
    server.start()
    run_dir = Path(tempfile.mkdtemp(prefix="gbi", dir="/tmp"))  # short: a Unix socket's path
    control = MediaControlServer(server, socket_path(run_dir))
    control.start()
    yield Gb(container, server, MediaControlClient(socket_path(run_dir)), tmp_path)
    control.stop()
    server.stop()
    shutil.rmtree(run_dir, ignore_errors=True)


@pytest.mark.parametrize(
    ("sip_transport", "media"), [("u1", "udp"), ("t1", "udp"), ("u1", "tcp-passive")]
)
def test_a_sipp_device_answers_the_invite_with_the_ssrc_and_the_call_ends_with_bye(
    gb: Gb, sip_transport: str, media: Transport
) -> None:
    device = gb.device("device_invite", 3000, sip_transport)
    answer = gb.client.invite(MediaOffer(DEVICE, CHANNEL, "127.0.0.1", MEDIA_PORT, media), 5.0)
    assert answer.ssrc == "0200000001"  # the device's y=: ours, echoed (live, digits 4-8, 1)
    assert (answer.ip, answer.port, answer.transport) == ("127.0.0.1", 15060, media)
    assert answer.call_id in gb.server.media.dialogs
    time.sleep(0.3)
    gb.client.bye(answer.call_id)
    run, trace = device.finish()
    assert (run.returncode, run.failed) == (0, 0), run.screen  # ACK and BYE came
    [invite] = received_requests(trace, "INVITE")
    assert f"Subject: {CHANNEL}:0200000001,{PLATFORM}:0" in invite
    assert "y=0200000001" in invite and "a=recvonly" in invite and "s=Play" in invite
    proto = "RTP/AVP" if media == "udp" else "TCP/RTP/AVP"
    assert f"m=video {MEDIA_PORT} {proto} 96" in invite
    assert (media == "tcp-passive") == ("a=setup:passive" in invite)
    [ack] = received_requests(trace, "ACK")
    [bye] = received_requests(trace, "BYE")
    assert answer.call_id in ack and answer.call_id in bye and "SIPpTag11" in bye
    assert gb.server.media.dialogs == {}


def test_a_busy_device_is_refused_with_its_486_which_is_acked(gb: Gb) -> None:
    device = gb.device("device_busy", 1500)
    with pytest.raises(MediaRefused) as refused:
        gb.client.invite(MediaOffer(DEVICE, CHANNEL, "127.0.0.1", MEDIA_PORT, "udp"), 5.0)
    assert refused.value.reason == "refused" and "486" in refused.value.detail
    run, trace = device.finish()
    assert (run.returncode, run.failed) == (0, 0), run.screen
    assert len(received_requests(trace, "ACK")) == 1


def test_a_device_that_never_answers_times_out_and_is_cancelled(gb: Gb) -> None:
    device = gb.device("device_silent", 2500)
    started = time.monotonic()
    with pytest.raises(MediaRefused) as refused:
        gb.client.invite(MediaOffer(DEVICE, CHANNEL, "127.0.0.1", MEDIA_PORT, "udp"), 1.0)
    assert refused.value.reason == "timeout"
    assert 0.9 < time.monotonic() - started < 3.0
    run, trace = device.finish()
    assert (run.returncode, run.failed) == (0, 0), run.screen  # CANCEL came, 487 was ACKed
    [cancel] = received_requests(trace, "CANCEL")
    [invite] = received_requests(trace, "INVITE")
    branch = re.search(r"branch=(\S+)", invite)
    assert branch is not None and branch.group(1) in cancel
    assert len(received_requests(trace, "ACK")) == 1


def test_a_device_not_registered_is_offline_and_nothing_isreceived_requests(gb: Gb) -> None:
    with pytest.raises(MediaRefused) as refused:
        gb.client.invite(MediaOffer(DEVICE, CHANNEL, "127.0.0.1", MEDIA_PORT, "udp"), 2.0)
    assert refused.value.reason == "device_offline"


def test_a_device_gone_silent_is_offline(gb: Gb) -> None:
    device = gb.device("device_invite", 1000)
    gb.container.clock.advance(timedelta(seconds=3 * 60 + 1))  # 3 keepalive intervals missed
    with pytest.raises(MediaRefused) as refused:
        gb.client.invite(MediaOffer(DEVICE, CHANNEL, "127.0.0.1", MEDIA_PORT, "udp"), 2.0)
    assert refused.value.reason == "device_offline"
    _, trace = device.finish()
    assert received_requests(trace, "INVITE") == []


def test_a_channel_the_device_did_not_report_is_unknown_and_nothing_isreceived_requests(
    gb: Gb,
) -> None:
    device = gb.device("device_invite", 1000)
    with pytest.raises(MediaRefused) as refused:
        gb.client.invite(MediaOffer(DEVICE, OTHER_CHANNEL, "127.0.0.1", MEDIA_PORT, "udp"), 2.0)
    assert refused.value.reason == "unknown_channel" and OTHER_CHANNEL in refused.value.detail
    with pytest.raises(MediaRefused) as in_process:  # the server itself, from another thread
        gb.server.invite(MediaOffer(DEVICE, OTHER_CHANNEL, "127.0.0.1", MEDIA_PORT, "udp"), 2.0)
    assert in_process.value.reason == "unknown_channel"
    _, trace = device.finish()
    assert received_requests(trace, "INVITE") == []


def _invited(gb: Gb) -> str:
    answer = gb.client.invite(MediaOffer(DEVICE, CHANNEL, "127.0.0.1", MEDIA_PORT, "udp"), 5.0)
    assert answer.call_id in gb.server.media.dialogs
    return answer.call_id


def _wait_for_no_call(gb: Gb) -> None:
    deadline = time.monotonic() + 5
    while gb.server.media.dialogs:
        assert time.monotonic() < deadline, "the call did not end"
        time.sleep(0.05)


def test_a_device_that_goes_offline_gets_a_bye_for_its_call(gb: Gb) -> None:
    device = gb.device("device_invite", 2500)
    call_id = _invited(gb)
    gb.container.clock.advance(timedelta(seconds=3 * 60 + 1))  # the offline check on the SIP loop
    _wait_for_no_call(gb)
    run, trace = device.finish()
    assert (run.returncode, run.failed) == (0, 0), run.screen
    [bye] = received_requests(trace, "BYE")
    assert call_id in bye


def test_a_device_that_unregisters_gets_a_bye_for_its_call(gb: Gb) -> None:
    device = gb.device("device_invite", 1500, scenario="register_invite_unregister")
    call_id = _invited(gb)
    _wait_for_no_call(gb)
    run, trace = device.finish()
    assert (run.returncode, run.successful, run.failed) == (0, 1, 0), run.screen
    [bye] = received_requests(trace, "BYE")
    assert call_id in bye
    assert gb.container.gb_devices.online(DEVICE) is None


def test_a_device_that_hangs_up_gets_200_and_the_call_ends(gb: Gb) -> None:
    device = gb.device("device_hangs_up", 2000)
    call_id = _invited(gb)
    _wait_for_no_call(gb)
    gb.client.bye(call_id)  # the recorder's BYE afterwards changes nothing
    run, trace = device.finish()
    assert (run.returncode, run.failed) == (0, 0), run.screen
    assert received_requests(trace, "BYE") == []  # we sent none: the device ended it
