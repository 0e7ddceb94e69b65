"""GB/T 28181 from the first REGISTER to a sealed segment, with ``custos serve`` as a user runs it
(a real process, its recorder child, its SIP server and media control socket): a SIPp device
registers and reports its camera; a unit manager places the channel and puts the camera in
service through the API; the recorder INVITEs through the socket; SIPp answers 200; the test's
media sender sends RTP/PS to the port of the INVITE's SDP; a segment is sealed and ffprobe says
H.264; the browser's live view of the camera gets its H.264 init and fragments; stopping serve
hangs up (SIPp receives the BYE). Fails, never skips, without sipp,
ffmpeg or ffprobe."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect as ws_connect

from custos.adapters.storage.segment_files import SegmentStore
from custos.bootstrap import bootstrap
from custos.config import Settings
from custos.domain.calendar import shanghai_date
from custos.domain.clock import SystemClock
from tests.api.builders import API, make_site, make_unit
from tests.integration.gb.gb_media_source import DeviceSender, Knobs
from tests.integration.gb.sipp_support import free_port, received_requests, sipp_command
from tests.integration.gb.test_gb_media import ffprobe

pytestmark = pytest.mark.slow

CUSTOS = [sys.executable, "-m", "custos"]
PLATFORM = "34020000002000000001"
DOMAIN = "3402000000"
DEVICE = "34020000001180000001"
CHANNEL = "34020000001310000001"  # what tests/sipp/device_invite.xml reports in its catalogue
DEVICE_PASSWORD = "gb-s3cret-12345"
ADMIN_PASSWORD = "a long enough password"
MANAGER_PASSWORD = "another long password"


@pytest.fixture(scope="module", autouse=True)
def tools() -> None:
    missing = [t for t in ("sipp", "ffmpeg", "ffprobe") if shutil.which(t) is None]
    if missing:
        pytest.fail(f"the GB/T 28181 end-to-end test needs {', '.join(missing)}: scripts/setup")


@dataclass
class Serve:
    data: Path
    env: dict[str, str]
    http: httpx.Client
    sip_port: int
    proc: subprocess.Popen[str]

    def login(self, username: str, password: str) -> dict[str, str]:
        r = self.http.post(f"{API}/auth/login", json={"username": username, "password": password})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _custos(env: dict[str, str], *args: str, stdin: str = "") -> None:
    done = subprocess.run([*CUSTOS, *args], input=stdin, capture_output=True, text=True, env=env,
                          timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture
def serve() -> Iterator[Serve]:
    data = Path(tempfile.mkdtemp(prefix="gbe", dir="/tmp"))  # short: the socket's path
    http_port, sip_port = free_port(socket.SOCK_STREAM), free_port()
    media_min = 31000 + (os.getpid() % 500) * 4
    env = os.environ | {
        "CUSTOS_DATA_DIR": str(data), "CUSTOS_SEGMENT_SECONDS": "10",
        "CUSTOS_RECORDER_ENGINE": "ffmpeg", "CUSTOS_GB_ENABLED": "true",
        "CUSTOS_GB_PLATFORM_ID": PLATFORM, "CUSTOS_GB_SIP_HOST": "127.0.0.1",
        "CUSTOS_GB_SIP_PORT": str(sip_port), "CUSTOS_GB_SIP_TRANSPORTS": "udp",
        "CUSTOS_GB_MEDIA_HOST": "127.0.0.1", "CUSTOS_GB_MEDIA_PORT_MIN": str(media_min),
        "CUSTOS_GB_MEDIA_PORT_MAX": str(media_min + 3),
    }  # fmt: skip
    env.pop("CUSTOS_DATABASE_URL", None)
    _custos(env, "db", "upgrade")
    _custos(env, "user", "create", "admin", "--role", "admin", stdin=ADMIN_PASSWORD + "\n")
    proc = subprocess.Popen([*CUSTOS, "serve", "--port", str(http_port)], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    http = httpx.Client(base_url=f"http://127.0.0.1:{http_port}", timeout=10)
    try:
        _wait(lambda: _healthy(http), 60, "custos serve did not answer")
        yield Serve(data, env, http, sip_port, proc)
    finally:
        http.close()
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()
        shutil.rmtree(data, ignore_errors=True)


def _healthy(http: httpx.Client) -> bool:
    try:
        return http.get(f"{API}/health").status_code == 200
    except httpx.HTTPError:
        return False


def _wait(check: Any, timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.3)
    pytest.fail(f"{what} within {timeout_s} s")


def _invite_sdp(trace: Path) -> tuple[int, str] | None:
    """The media port (m=) and SSRC (y=) of the INVITE SIPp received, if one came."""
    text = trace.read_text(errors="replace") if trace.exists() else ""
    invite = re.search(r"\nINVITE sip:.*?(?=\n-{10,}|\Z)", text, re.S)
    if invite is None:
        return None
    port = re.search(r"\nm=video (\d+) RTP/AVP 96", invite.group(0))
    ssrc = re.search(r"\ny=(\d{10})", invite.group(0))
    assert port is not None and ssrc is not None, invite.group(0)
    return int(port.group(1)), ssrc.group(1)


def _put_in_service(s: Serve, headers: dict[str, str], camera_id: int) -> None:
    today = shanghai_date(SystemClock().now())
    steps = ["design_reviewed", "built", "accepted", "in_service"]
    for n, state in enumerate(steps):
        on: date = today - timedelta(days=len(steps) - n)
        r = s.http.post(f"{API}/cameras/{camera_id}/transitions",
                        json={"state": state, "on": on.isoformat()}, headers=headers)  # fmt: skip
        assert r.status_code == 200, r.text


def _watch_live(s: Serve, headers: dict[str, str], camera_id: int) -> None:
    """The browser's live view of the channel's camera: the stream's init boxes (H.264) and
    then media fragments, as for an RTSP camera (the same tail of the recorder's file)."""
    url = f"ws://127.0.0.1:{s.http.base_url.port}{API}/live/cameras/{camera_id}/stream"
    kinds: list[str] = []
    fragments = 0
    with ws_connect(url, additional_headers=headers, open_timeout=10) as ws:
        deadline = time.monotonic() + 30
        while fragments < 2 and time.monotonic() < deadline:
            message = ws.recv(timeout=15)
            if isinstance(message, bytes):
                fragments += b"moof" in message[:64] or b"mdat" in message
                continue
            event = json.loads(message)
            kinds.append(event["type"])
            assert event["type"] != "error", event
            if event["type"] == "init":
                assert str(event["codec"]).startswith("avc1"), event
    assert kinds[:2] == ["session", "init"] and fragments >= 2, (kinds, fragments)


def test_a_sipp_devices_channel_is_recorded_by_custos_serve_and_hung_up_on_stop(
    serve: Serve, tmp_path: Path
) -> None:
    admin = serve.login("admin", ADMIN_PASSWORD)
    unit = make_unit(serve.http, admin)  # type: ignore[arg-type]  # an httpx client like TestClient
    site = make_site(serve.http, admin, unit, "340202")  # type: ignore[arg-type]
    r = serve.http.post(f"{API}/users", headers=admin, json={
        "username": "manager", "role": "unit_manager", "password": MANAGER_PASSWORD,
        "unit_id": unit, "full_name": "Unit Manager",
    })  # fmt: skip
    assert r.status_code == 201, r.text
    manager = serve.login("manager", MANAGER_PASSWORD)
    r = serve.http.post(f"{API}/gb/devices", headers=manager, json={
        "device_id": DEVICE, "unit_id": unit, "name": "NVR", "password": DEVICE_PASSWORD,
    })  # fmt: skip
    assert r.status_code == 201, r.text

    auth = f"[authentication username={DEVICE} password={DEVICE_PASSWORD}]"
    device_date = "2026-01-01T00:00:00.000"
    cmd, screen = sipp_command(
        "register_for_invite", serve.sip_port, [(DEVICE, auth, DOMAIN, PLATFORM, device_date)],
        tmp_path, oocsf="device_invite", timeout_s=170,
        extra=("-d", "150000", "-trace_err", "-error_file", str(tmp_path / "sipp-errors.log")),
    )  # fmt: skip
    sipp = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    sender: DeviceSender | None = None
    trace = screen.with_suffix(".msg")
    try:
        channels = _wait(lambda: [c for c in serve.http.get(f"{API}/gb/channels", headers=manager)
                                  .json() if c["channel_id"] == CHANNEL], 20,
                         "the SIPp device's channel did not appear")  # fmt: skip
        body = {"site_id": site, "location_categories": ["shopping_mall"],
                "covers_public_area": True}  # fmt: skip
        r = serve.http.post(f"{API}/gb/channels/{channels[0]['id']}/place", json=body,
                            headers=manager)  # fmt: skip
        assert r.status_code == 201, r.text
        camera_id = int(r.json()["camera_id"])
        _put_in_service(serve, manager, camera_id)

        port, ssrc = _wait(lambda: _invite_sdp(trace), 30, "the recorder's INVITE did not come")
        sender = DeviceSender("udp", int(ssrc), Knobs())
        sender.start(("127.0.0.1", port))

        settings = Settings(data_dir=serve.data)
        reader = bootstrap(settings)
        try:
            segs = _wait(lambda: reader.recording.timeline(camera_id, None, None).segments, 60,
                         "no segment was sealed")  # fmt: skip
        finally:
            reader.close()
        path = SegmentStore(settings.resolved_media_dir()).absolute(segs[0].path)
        codec, packets, _ = ffprobe(path)
        assert codec == segs[0].codec == "h264" and packets > 0
        _watch_live(serve, manager, camera_id)

        serve.proc.send_signal(signal.SIGTERM)
        serve.proc.wait(60)
        [bye] = _wait(lambda: received_requests(trace.read_text(errors="replace"), "BYE"), 10,
                      "SIPp received no BYE")  # fmt: skip
        assert "SIPpTag11" in bye  # in the dialog: the device's To tag
    finally:
        if sender is not None:
            sender.stop()
        sipp.send_signal(signal.SIGTERM)
        try:
            sipp.wait(10)
        except subprocess.TimeoutExpired:
            sipp.kill()
            sipp.wait(5)
        if sipp.stderr is not None:
            sipp.stderr.close()
    assert len(received_requests(trace.read_text(errors="replace"), "ACK")) == 1
    log = tmp_path / "sipp-errors.log"  # an out-of-call check that failed is only logged
    errors = log.read_text(errors="replace").lower() if log.exists() else ""
    for symptom in ("regexp", "unexpected", "aborting"):
        assert symptom not in errors, errors[-3000:]
