"""The ONVIF adapter (wsdiscovery, onvif-zeep-async) against ipycam, a virtual camera no one here
wrote: discovery on loopback, the device's report, its clock read and set, PTZ reaching its motor,
and a plain reason (never a traceback, never the password) for each way a device fails."""

from __future__ import annotations

import http.server
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from custos.adapters.onvif import ZeepOnvifClient
from custos.domain.errors import ValidationFailed
from custos.domain.onvif import Credentials, PtzAction, PtzCommand
from tests.integration.onvif_peer import PASSWORD, USERNAME, Peer, ipycam_peer

CREDS = Credentials(USERNAME, PASSWORD)


@pytest.fixture(scope="module")
def peer() -> Iterator[Peer]:
    with ipycam_peer() as p:
        yield p


@pytest.fixture(scope="module")
def client() -> ZeepOnvifClient:
    return ZeepOnvifClient(timeout_s=5)


def _now() -> datetime:
    return datetime.now(UTC)


@pytest.mark.parametrize(("interface", "address"), [("lo", None), (None, "127.0.0.1")])
def test_discovery_on_loopback_finds_the_camera_with_its_device_url(
    peer: Peer, client: ZeepOnvifClient, interface: str | None, address: str | None
) -> None:
    found = client.discover(interface, address, 1.0)
    ours = [d for d in found if peer.xaddr in d.xaddrs]
    assert len(ours) == 1, found
    assert ours[0].endpoint.startswith("urn:uuid:")
    assert "onvif://www.onvif.org/name/ipycam-peer" in ours[0].scopes


def test_discovery_refuses_an_address_this_machine_does_not_have(client: ZeepOnvifClient) -> None:
    with pytest.raises(ValidationFailed) as got:
        client.discover(None, "198.51.100.7", 0.5)
    assert got.value.errors[0].field == "address"
    with pytest.raises(ValidationFailed) as got:
        client.discover("no-such-if0", None, 0.5)
    assert got.value.errors[0].field == "interface"


def test_the_report_has_identity_both_streams_and_the_ptz_profile(
    peer: Peer, client: ZeepOnvifClient
) -> None:
    report = client.report(peer.xaddr, CREDS)
    assert report.identity.manufacturer == "PythonCam"
    assert report.identity.serial == "PY-000001"
    assert report.main_stream_uri == "rtsp://127.0.0.1:8554/video_main"
    assert report.sub_stream_uri == "rtsp://127.0.0.1:8554/video_sub"
    assert report.profile_token == "Profile_Main" and report.has_ptz


def test_the_camera_clock_is_read_and_set_in_utc(peer: Peer, client: ZeepOnvifClient) -> None:
    peer.drift_by(-75)
    try:
        before = client.camera_utc(peer.xaddr, CREDS) - _now()
        assert timedelta(seconds=-77) < before < timedelta(seconds=-73)
        client.set_camera_utc(peer.xaddr, CREDS, _now() + timedelta(milliseconds=500))
        after = client.camera_utc(peer.xaddr, CREDS) - _now()
        assert abs(after.total_seconds()) < 1.5
        assert "Manual</" in peer.sets[-1], "a manual setting, not NTP"
    finally:
        peer.drift_by(0)


def test_ptz_commands_reach_the_motor(peer: Peer, client: ZeepOnvifClient) -> None:
    peer.motor.calls.clear()
    client.ptz(peer.xaddr, CREDS, "Profile_Main", PtzCommand(PtzAction.MOVE, 0.3, 0.2, 0.1))
    client.ptz(peer.xaddr, CREDS, "Profile_Main", PtzCommand(PtzAction.STOP))
    client.ptz(peer.xaddr, CREDS, "Profile_Main", PtzCommand(PtzAction.PRESET, preset="gate"))
    assert peer.motor.calls == [
        ("continuous_move", (0.3, 0.2, 0.1)), ("stop", ()), ("goto_preset", ("gate",)),
    ]  # fmt: skip


def test_ipycams_preset_list_is_refused_in_plain_words(peer: Peer, client: ZeepOnvifClient) -> None:
    # ipycam 1.3.0 answers GetPresets with an undeclared "tptz:" prefix, which zeep rejects:
    # the failure must still be a plain refusal naming the device (GotoPreset works, above)
    with pytest.raises(ValidationFailed) as got:
        client.presets(peer.xaddr, CREDS, "Profile_Main")
    assert got.value.errors[0].field == "device" and got.value.errors[0].key is not None


def test_a_wrong_password_is_a_plain_refusal_without_the_password(
    peer: Peer, client: ZeepOnvifClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ValidationFailed) as got:
        client.report(peer.xaddr, Credentials(USERNAME, "Wr0ng-Pw-123"))
    assert "refused the user name or password" in str(got.value)
    assert "Wr0ng-Pw-123" not in str(got.value) + caplog.text


def test_an_unreachable_device_and_a_web_server_that_is_not_onvif(
    client: ZeepOnvifClient,
) -> None:
    with pytest.raises(ValidationFailed) as got:
        client.report("http://127.0.0.1:9/onvif/device_service", CREDS)
    assert "unreachable" in str(got.value)

    class NotOnvif(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = b"<html>hello</html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotOnvif)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(ValidationFailed) as got:
            client.report(
                f"http://127.0.0.1:{server.server_address[1]}/onvif/device_service", CREDS
            )
        assert got.value.errors[0].field == "device"
        assert "not an ONVIF device" in str(got.value), str(got.value)
    finally:
        server.shutdown()
        server.server_close()
