"""The cascade client against SIPp as the upper platform (tests/sipp/upper_platform*.xml): digest
REGISTER, a Catalog query answered with exactly the shared cameras, a keepalive; and back-off when
the upper platform is down. A missing `sipp` fails the test (it never skips)."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from custos.adapters.sip.cascade_link import LocalIdentity, TcpUpperLink, UdpUpperLink
from custos.adapters.sip.cascade_runner import CascadeRunner
from custos.bootstrap import Container
from custos.domain.gb_cascade import LinkState, PlatformState
from custos.services.gb_cascade_client import CascadeClient
from tests.api.builders import API, address_code, camera_body, make_site, make_unit
from tests.ports import free_port as _free_port

SCENARIOS = Path(__file__).resolve().parents[1] / "sipp"
CHONGQING = "500103"
CUSTOS_ID = "50010300002000000001"
UPPER_ID = "50000000002005000001"
PASSWORD = "upper-pl@tform-pw"


def _setup(
    client: TestClient, admin: dict[str, str], port: int, shared: int, transport: str = "UDP"
) -> int:
    site = make_site(client, admin, make_unit(client, admin), CHONGQING)
    cams = []
    for n in range(1, 7):
        body = camera_body(site, CHONGQING, n, address_code=address_code(CHONGQING, n))
        r = client.post(f"{API}/cameras", json=body, headers=admin)
        assert r.status_code == 201, r.text
        cams.append(r.json()["id"])
    body = {
        "sip_id": UPPER_ID, "domain": UPPER_ID[:10], "host": "127.0.0.1", "port": port,
        "password": PASSWORD, "register_expiry_s": 60, "keepalive_interval_s": 5,
        "transport": transport,
    }  # fmt: skip
    r = client.post(f"{API}/gb/upper-platforms", json=body, headers=admin)
    assert r.status_code == 201, r.text
    pid = int(r.json()["id"])
    for cam in cams[:shared]:
        r = client.post(
            f"{API}/gb/upper-platforms/{pid}/shares", json={"camera_id": cam}, headers=admin
        )
        assert r.status_code == 201, r.text
    return pid


def _client(
    container: Container, pid: int, retransmit: tuple[float, ...] = (0.5, 1.0, 2.0)
) -> tuple[CascadeClient, list[PlatformState]]:
    [platform] = [p for p in container.gb_cascade.enabled_platforms() if p.id == pid]
    kind = TcpUpperLink if platform.transport.value == "TCP" else UdpUpperLink
    link = kind(
        platform, LocalIdentity(CUSTOS_ID, CUSTOS_ID[:10]), container.gb_cascade, "127.0.0.1",
        retransmit_s=retransmit,
    )  # fmt: skip
    seen: list[PlatformState] = []

    def record(s: PlatformState) -> None:
        seen.append(s)
        container.gb_cascade.record_state(s)

    return CascadeClient(platform, link, record, container.clock, time.monotonic), seen


@pytest.mark.slow
@pytest.mark.parametrize("transport", ["UDP", "TCP"])
def test_custos_registers_with_a_sipp_upper_platform_and_answers_its_catalog_query(
    client: TestClient, admin: dict[str, str], container: Container, tmp_path: Path, transport: str
) -> None:
    binary = shutil.which("sipp")
    if binary is None:
        pytest.fail("sipp is not installed (Debian package sip-tester; see scripts/setup)")
    port = _free_port(socket.SOCK_STREAM if transport == "TCP" else socket.SOCK_DGRAM)
    pid = _setup(
        client, admin, port, shared=5, transport=transport
    )  # 5 of 6 cameras: two Catalog parts of ≤ 4
    inf = tmp_path / "upper.csv"
    unshared, shared = address_code(CHONGQING, 6), address_code(CHONGQING, 1)
    fields = [CUSTOS_ID, PASSWORD, UPPER_ID, UPPER_ID[:10], unshared, shared]
    inf.write_text("SEQUENTIAL\n" + ";".join(fields) + "\n")
    trace = tmp_path / "upper.msg"
    cmd = [
        binary, "-sf", str(SCENARIOS / "upper_platform.xml"),
        "-inf", str(inf), "-i", "127.0.0.1", "-p", str(port), "-t", "t1" if transport == "TCP" else "u1",
        # 5 calls: the registration, two Catalog parts, the DeviceInfo response and one
        # keepalive (each MESSAGE of Custos's is a call of its own)
        "-m", "5", "-nostdin",
        "-timeout", "30s", "-timeout_error", "-recv_timeout", "8000",
        "-trace_msg", "-message_file", str(trace),
    ]  # fmt: skip
    sipp = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    time.sleep(0.3)  # SIPp binds its port
    cascade, seen = _client(container, pid)
    stop = threading.Event()
    thread = threading.Thread(target=cascade.run, args=(stop,), daemon=True)
    thread.start()
    try:
        out, _ = sipp.communicate(timeout=40)
    finally:
        stop.set()
        thread.join(15)
    text = trace.read_text(errors="replace") if trace.exists() else ""
    assert sipp.returncode == 0, out.decode(errors="replace")[-3000:] + text[-3000:]
    assert [s.state for s in seen][:2] == [LinkState.REGISTERING, LinkState.REGISTERED]
    # the upper platform saw the digest answer, the Catalog parts and a keepalive
    assert re.search(r'Authorization: Digest username="' + CUSTOS_ID, text)
    parts = re.findall(r"<Response>.*?</Response>", text, re.S)
    catalog = [p for p in parts if "<CmdType>Catalog</CmdType>" in p]
    assert len(catalog) == 2 and all("<SumNum>5</SumNum>" in p for p in catalog)
    ids = sorted(set(re.findall(r"<Item>\s*<DeviceID>(\d{20})</DeviceID>", "".join(catalog))))
    assert ids == [address_code(CHONGQING, n) for n in range(1, 6)]  # not the 6th
    assert "<CmdType>Keepalive</CmdType>" in text
    [info] = [p for p in parts if "<CmdType>DeviceInfo</CmdType>" in p]
    assert f"<DeviceID>{CUSTOS_ID}</DeviceID>" in info and "<DeviceName>Custos</DeviceName>" in info
    assert "SIP/2.0 400 Bad MANSCDP" in text
    assert "SIP/2.0 403 Camera not shared with this platform" in text
    assert "SIP/2.0 488 " in text
    with container.uow() as uow:
        state = uow.gb_platforms.state(pid)
    assert state is not None and state.state is LinkState.DISABLED  # stopped: unregistered
    log = client.get(f"{API}/audit/search?action=gb_cascade", headers=admin).json()["entries"]
    entries = [e["entry"] for e in log]
    invites = {e["detail"]["channel_id"]: e for e in entries if e["action"] == "gb_cascade.invite"}
    assert (
        invites[unshared]["outcome"] == "refused" and invites[unshared]["actor"] == f"gb:{UPPER_ID}"
    )
    assert invites[shared]["detail"]["answer"] == 488
    [catalog] = [e for e in entries if e["action"] == "gb_cascade.catalog"]
    assert catalog["detail"]["sum_num"] == 5
    # the broken XML and the GB2312 bytes declared UTF-8: each answered 400 and logged
    bad = [e for e in entries if e["action"] == "gb_cascade.bad_message"]
    assert sorted(e["detail"]["field"] for e in bad) == ["encoding", "xml"]
    assert all(e["outcome"] == "refused" and e["actor"] == f"gb:{UPPER_ID}" for e in bad)
    assert re.search(r"SIP/2.0 400 Bad MANSCDP: encoding: .*UTF-8", text)


def test_an_upper_platform_that_is_down_is_retried_with_back_off(
    client: TestClient, admin: dict[str, str], container: Container
) -> None:
    pid = _setup(client, admin, _free_port(), shared=0)  # nothing listens there
    cascade, seen = _client(container, pid, retransmit=(0.2, 0.3))
    stop = threading.Event()
    thread = threading.Thread(target=cascade.run, args=(stop,), daemon=True)
    started = time.monotonic()
    thread.start()
    failed_at: list[float] = []
    while len(failed_at) < 2 and time.monotonic() - started < 10:
        fails = [s for s in seen if s.state is LinkState.FAILED]
        if len(fails) > len(failed_at):
            failed_at.append(time.monotonic())
        time.sleep(0.05)
    listed = client.get(f"{API}/gb/upper-platforms/{pid}", headers=admin).json()
    stop.set()
    thread.join(5)
    assert len(failed_at) == 2, [s.state for s in seen]
    # 0.5 s of retransmissions, then 2 s of back-off before the second try's 0.5 s
    assert failed_at[1] - failed_at[0] >= 2.4
    assert listed["link"]["state"] == "failed" and "timeout" in listed["link"]["last_error"]
    assert listed["link"]["attempts"] >= 1


def test_the_runner_starts_a_client_per_enabled_platform_and_stops_it_when_disabled(
    client: TestClient, admin: dict[str, str], container: Container
) -> None:
    pid = _setup(client, admin, _free_port(), shared=0)  # nothing listens: it keeps failing
    runner = CascadeRunner(
        container.gb_cascade, LocalIdentity(CUSTOS_ID, CUSTOS_ID[:10]), container.clock,
        "127.0.0.1", reload_s=0.2, retransmit_s=(0.1, 0.1),
    )  # fmt: skip
    runner.start()
    try:
        assert _until(container, pid, LinkState.FAILED)
        assert runner.running == [pid]
        body = {"sip_id": UPPER_ID, "domain": UPPER_ID[:10], "host": "127.0.0.1", "enabled": False}
        r = client.put(f"{API}/gb/upper-platforms/{pid}", json=body, headers=admin)
        assert r.status_code == 200, r.text
        deadline = time.monotonic() + 5
        while runner.running and time.monotonic() < deadline:
            time.sleep(0.05)
        assert runner.running == []  # the client stopped (it unregisters only when registered)
        assert _until(container, pid, LinkState.DISABLED)
    finally:
        runner.stop()


def _until(container: Container, pid: int, state: LinkState, within_s: float = 5) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        with container.uow() as uow:
            got = uow.gb_platforms.state(pid)
        if got is not None and got.state is state:
            return True
        time.sleep(0.05)
    return False


def test_a_request_from_anyone_but_the_upper_platform_is_dropped(
    client: TestClient, admin: dict[str, str], container: Container
) -> None:
    upper = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    upper.bind(("127.0.0.1", 0))
    stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    stranger.bind(("127.0.0.2", 0))
    try:
        pid = _setup(client, admin, upper.getsockname()[1], shared=1)
        [platform] = [p for p in container.gb_cascade.enabled_platforms() if p.id == pid]
        me = LocalIdentity(CUSTOS_ID, CUSTOS_ID[:10])
        link = UdpUpperLink(platform, me, container.gb_cascade, "127.0.0.1")
        invite = (
            f"INVITE sip:{address_code(CHONGQING, 1)}@127.0.0.1 SIP/2.0\r\n"
            "Via: SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bKx\r\nFrom: <sip:x@y>;tag=1\r\n"
            "To: <sip:z@y>\r\nCall-ID: stranger\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
        ).encode()
        for sender in (stranger, upper):
            sender.sendto(invite, ("127.0.0.1", link.local_port))
        link.serve(0.5)
        upper.settimeout(2)
        answer = upper.recv(65535)
        assert answer.startswith(b"SIP/2.0 488 ")  # shared: the upper platform is answered
        stranger.settimeout(0.3)
        with pytest.raises(TimeoutError):
            stranger.recv(65535)  # the stranger is not
        link.close()
    finally:
        upper.close()
        stranger.close()
