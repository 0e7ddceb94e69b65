"""Every child of a Custos process dies with it: ``custos demo`` (camera simulator, recorder,
recording shards) killed with SIGTERM and with SIGKILL leaves no process behind
(docs/design/first-hour.md, "Children die with their parent") — the recording shards after a
SIGKILL only once their orphan limit has passed with no recorder to re-attach them
(docs/design/recording.md, "Shards outlive their supervisor")."""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.processes import alive
from tests.ports import free_port as _free_port
from tests.ports import seaweed_base

PASSWORD = "a long enough password"
ORPHAN_S = 5  # how long a shard records on without a recorder


def _parents() -> dict[int, int]:
    """pid → parent pid of every process, from /proc/PID/stat."""
    found: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ')'.
        found[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return found


def _descendants(pid: int) -> set[int]:
    parents = _parents()
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {p for p, pp in parents.items() if pp in frontier} - found
        found |= frontier
    return found


def _start_demo(tmp_path: Path) -> tuple[subprocess.Popen[str], Path]:
    data = tmp_path / "data"
    log = tmp_path / "demo.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTOS_")}
    env |= {"CUSTOS_RECORDER_METRICS_PORT": "0", "CUSTOS_LOG_LEVEL": "WARNING"}
    env |= {"CUSTOS_RECORDER_ORPHAN_S": str(ORPHAN_S)}
    cmd = [
        sys.executable, "-m", "custos", "demo", "--data-dir", str(data), "--cameras", "2",
        "--rtsp-port", str(_free_port()), "--port", str(_free_port()), "--segment-seconds", "10",
    ]  # fmt: skip
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, text=True)
    return proc, log


def _wait_for_family(proc: subprocess.Popen[str], log: Path) -> set[int]:
    """Until the demo serves and its recorder has started its shard; then its descendants."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"custos demo exited with {proc.returncode}: {log.read_text()[-3000:]}")
        family = _descendants(proc.pid)
        commands = " ".join(_cmdline(p) for p in family)
        if "Custos is serving" in log.read_text() and "custos.recorder.shard" in commands:
            return family
        time.sleep(0.5)
    pytest.fail(f"the demo did not start its children: {log.read_text()[-3000:]}")


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _survivors(family: set[int], within_s: float) -> dict[int, str]:
    deadline = time.monotonic() + within_s
    while True:
        left = {p: _cmdline(p) for p in family if alive(p)}
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.3)


def _kill_survivors(left: dict[int, str]) -> None:
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_no_child_of_the_demo_survives_it(tmp_path: Path, sig: signal.Signals) -> None:
    proc, log = _start_demo(tmp_path)
    family: set[int] = set()
    try:
        family = _wait_for_family(proc, log)
        kinds = " ".join(_cmdline(p) for p in family)
        assert "gst_rtsp_camera" in kinds, "the camera simulator is among the children"
        assert "custos recorder" in kinds
        proc.send_signal(sig)
        proc.wait(60)
        # a SIGKILL leaves the shards recording until their orphan limit, then they close
        # their segments (within the socket time-out) and exit
        left = _survivors(family, within_s=30 + ORPHAN_S)
        _kill_survivors(left)
        assert left == {}, f"still running after {sig.name} of the demo: {left}"
        if sig is signal.SIGTERM:
            assert proc.returncode == 0, "a SIGTERM is an orderly stop"
            assert "Traceback" not in log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        _kill_survivors({p: "" for p in family if alive(p)})


def test_the_demo_prints_commands_that_work_as_printed(tmp_path: Path) -> None:
    proc, log = _start_demo(tmp_path)
    try:
        _wait_for_family(proc, log)
        out = log.read_text()
        create = next(line for line in out.splitlines() if " user create admin " in line)
        env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTOS_")}
        done = subprocess.run(
            shlex.split(create.strip()),
            input=PASSWORD + "\n",
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert "created user admin (admin)" in done.stdout
        assert not (tmp_path / "data" / "data").exists()
        assert "user demo-operator (operator of the demo unit), password " in out
    finally:
        proc.terminate()
        proc.wait(60)


def _free_block() -> int:
    """An S3 port whose next three (master, volume, filer) and their gRPC ports (+10000) are free."""
    from custos.adapters.storage import seaweedfs

    for _ in range(200):
        ports = seaweedfs.Ports(seaweed_base(4))
        if seaweedfs.ports_free(ports):
            return ports.s3
    pytest.fail("no free block of loopback ports for SeaweedFS")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_no_child_of_the_object_store_survives_it(tmp_path: Path, sig: signal.Signals) -> None:
    log = tmp_path / "objectstore.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTOS_")}
    env |= {"CUSTOS_S3_ACCESS_KEY": "custos-test", "CUSTOS_S3_SECRET_KEY": "not-a-real-secret-42"}
    cmd = [
        sys.executable, "-m", "custos", "objectstore", "serve", "--data-dir", str(tmp_path / "data"),
        "--port", str(_free_block()), "--volume-size-mb", "64",
    ]  # fmt: skip
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, text=True)
    family: set[int] = set()
    try:
        deadline = time.monotonic() + 90
        while "ready" not in log.read_text().split():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"objectstore serve did not start: {log.read_text()[-3000:]}")
            time.sleep(0.3)
        family = _descendants(proc.pid)
        assert any("weed" in _cmdline(p) for p in family), "SeaweedFS is among the children"
        proc.send_signal(sig)
        proc.wait(60)
        left = _survivors(family, within_s=30)
        _kill_survivors(left)
        assert left == {}, f"still running after {sig.name} of objectstore serve: {left}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        _kill_survivors({p: "" for p in family if alive(p)})
