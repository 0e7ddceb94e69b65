"""Running SIPp (Debian's sip-tester) against the GB/T 28181 SIP server: a missing `sipp` fails
the test, it never skips it."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.ports import free_port

SCENARIOS = Path(__file__).resolve().parents[2] / "sipp"


@dataclass(frozen=True)
class SippRun:
    returncode: int
    successful: int
    failed: int
    screen: str


def sipp(
    scenario: str,
    port: int,
    devices: list[tuple[str, ...]],
    tmp: Path,
    *,
    transport: str = "u1",
    calls: int = 1,
    rate: int = 10,
    oocsf: str | None = None,
    timeout_s: float = 20,
    extra: tuple[str, ...] = (),
) -> SippRun:
    cmd, screen = sipp_command(scenario, port, devices, tmp, transport=transport, calls=calls,
                               rate=rate, oocsf=oocsf, timeout_s=timeout_s, extra=extra)  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, timeout=timeout_s + 10, cwd=tmp, check=False)
    text = screen.read_text(errors="replace") if screen.exists() else ""
    return SippRun(proc.returncode, _count(text, "Successful call"), _count(text, "Failed call"),
                   text + proc.stdout.decode(errors="replace")[-2000:]
                   + proc.stderr.decode(errors="replace")[-2000:])  # fmt: skip


def sipp_command(
    scenario: str,
    port: int,
    devices: list[tuple[str, ...]],
    tmp: Path,
    *,
    transport: str = "u1",
    calls: int = 1,
    rate: int = 10,
    oocsf: str | None = None,
    timeout_s: float = 20,
    extra: tuple[str, ...] = (),
) -> tuple[list[str], Path]:
    """SIPp's command line (run it in ``tmp``) and its screen file; -trace_msg goes to the
    screen file's name with ``.msg``."""
    binary = shutil.which("sipp")
    if binary is None:
        pytest.fail("sipp is not installed (Debian package sip-tester; see scripts/setup)")
    screen = tmp / f"{scenario}-{free_port()}.screen"
    cmd = [
        binary, f"127.0.0.1:{port}", "-sf", str(SCENARIOS / f"{scenario}.xml"),
        "-m", str(calls), "-r", str(rate), "-t", transport, "-i", "127.0.0.1",
        "-p", str(free_port(socket.SOCK_STREAM if transport.startswith("t") else socket.SOCK_DGRAM)),
        "-timeout", f"{int(timeout_s)}s", "-timeout_error", "-recv_timeout", "5000",
        "-nostdin", "-trace_screen", "-screen_file", str(screen), "-max_socket", "100",
        "-trace_msg", "-message_file", str(screen.with_suffix(".msg")),
    ]  # fmt: skip
    cmd += list(extra)
    if oocsf is not None:
        cmd += ["-oocsf", str(SCENARIOS / f"{oocsf}.xml")]
    inf = screen.with_suffix(".csv")
    inf.write_text("SEQUENTIAL\n" + "".join(";".join(row) + "\n" for row in devices))
    cmd += ["-inf", str(inf)]
    return cmd, screen


def _count(screen: str, label: str) -> int:
    found = re.findall(rf"{label}\s*\|\s*\d+\s*\|\s*(\d+)", screen)
    return int(found[-1]) if found else -1


def received_requests(trace: str, method: str) -> list[str]:
    """The ``method`` requests SIPp received, as text, from its -trace_msg file's content."""
    messages = re.split(r"\n(?=-{10,})", trace)
    return [m for m in messages if "message received" in m and f"\n{method} sip:" in m]
