"""An upper platform that answers REGISTER with 423 Interval Too Brief (SIPp,
tests/sipp/upper_platform_423.xml): Custos registers again at once with ``Expires`` = its
``Min-Expires``, is registered for that long, and the operation log records it. A missing `sipp`
fails the test (it never skips)."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from custos.bootstrap import Container
from custos.domain.gb_cascade import LinkState
from tests.api.builders import API
from tests.api.test_gb_cascade_sipp import CUSTOS_ID, PASSWORD, UPPER_ID, _client, _free_port
from tests.api.test_gb_cascade_sipp import _setup as _setup_platform

SCENARIOS = Path(__file__).resolve().parents[1] / "sipp"


def test_a_423_from_the_upper_platform_is_answered_with_its_min_expires_at_once(
    client: TestClient, admin: dict[str, str], container: Container, tmp_path: Path
) -> None:
    binary = shutil.which("sipp")
    if binary is None:
        pytest.fail("sipp is not installed (Debian package sip-tester; see scripts/setup)")
    port = _free_port()
    pid = _setup_platform(client, admin, port, shared=0)  # register_expiry_s = 60
    inf = tmp_path / "upper.csv"
    inf.write_text("SEQUENTIAL\n" + ";".join([CUSTOS_ID, PASSWORD, UPPER_ID, UPPER_ID[:10]]) + "\n")
    trace = tmp_path / "upper.msg"
    cmd = [
        binary, "-sf", str(SCENARIOS / "upper_platform_423.xml"), "-inf", str(inf),
        "-i", "127.0.0.1", "-p", str(port), "-t", "u1", "-m", "1", "-nostdin",
        "-timeout", "20s", "-timeout_error", "-recv_timeout", "8000",
        "-trace_msg", "-message_file", str(trace),
    ]  # fmt: skip
    sipp = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    time.sleep(0.3)  # SIPp binds its port
    cascade, seen = _client(container, pid, retransmit=(0.2, 0.3))
    stop = threading.Event()
    thread = threading.Thread(target=cascade.run, args=(stop,), daemon=True)
    thread.start()
    try:
        out, _ = sipp.communicate(timeout=30)
        deadline = time.monotonic() + 5
        while LinkState.REGISTERED not in [s.state for s in seen] and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(10)
    text = trace.read_text(errors="replace") if trace.exists() else ""
    assert sipp.returncode == 0, out.decode(errors="replace")[-3000:] + text[-3000:]
    assert "SIP/2.0 423 Interval Too Brief" in text
    # registered at once after the 423, for the Min-Expires it asked for (not 60 s)
    states = [s.state for s in seen]
    assert states[:2] == [LinkState.REGISTERING, LinkState.REGISTERED], states
    registered = seen[1]
    assert registered.registered_until == container.clock.now() + timedelta(seconds=120)
    log = client.get(f"{API}/audit/search?action=gb_cascade", headers=admin).json()["entries"]
    [entry] = [e["entry"] for e in log if e["entry"]["action"] == "gb_cascade.interval_too_brief"]
    assert entry["outcome"] == "ok" and entry["actor"] == f"gb:{UPPER_ID}"
    assert entry["detail"] == {"expires": 60, "min_expires": 120}
