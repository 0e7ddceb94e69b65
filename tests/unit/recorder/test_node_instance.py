"""A recorder node's kept instance id and the sessions it may adopt after a restart
(docs/design/cluster.md, "A node restarted on its own data directory is the same instance")."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from unittest.mock import Mock

from custos.recorder.lease_stamp import LeaseStamp, write_stamp
from custos.recorder.node_adoption import is_own
from custos.recorder.node_instance import INSTANCE_FILE, kept_instance
from custos.recorder.port import RunningSession
from custos.recorder.recorder_lock import RecorderLock


def test_the_same_name_on_the_same_data_directory_keeps_its_instance(tmp_path: Path) -> None:
    first = kept_instance(tmp_path, "node-a")
    assert kept_instance(tmp_path, "node-a") == first
    path = tmp_path / INSTANCE_FILE
    assert path.stat().st_mode & 0o777 == 0o600
    assert json.loads(path.read_text()) == {"node": "node-a", "instance": first}
    assert list(tmp_path.glob("*.part")) == []


def test_another_name_or_an_unreadable_file_is_a_new_instance(tmp_path: Path) -> None:
    first = kept_instance(tmp_path, "node-a")
    other = kept_instance(tmp_path, "node-b")
    assert other != first
    assert kept_instance(tmp_path, "node-a") not in (first, other)  # node-b's was kept since
    (tmp_path / INSTANCE_FILE).write_text("{not json")
    assert len(kept_instance(tmp_path, "node-a")) == 16


def test_a_data_directory_lock_refuses_a_second_holder_until_released(tmp_path: Path) -> None:
    first = RecorderLock(tmp_path / "recorder.lock")
    assert first.try_acquire()
    probe = (
        "import fcntl, sys; f = open(sys.argv[1], 'a+')\n"
        "try:\n    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
        "except BlockingIOError:\n    sys.exit(3)\n"
    )
    path = str(tmp_path / "recorder.lock")
    assert subprocess.run([sys.executable, "-c", probe, path], check=False).returncode == 3
    assert not RecorderLock(tmp_path / "recorder.lock").try_acquire()
    first.release()
    assert subprocess.run([sys.executable, "-c", probe, path], check=False).returncode == 0


def _running(run_dir: Path) -> RunningSession:
    return RunningSession(3, run_dir, "hash", 2, Mock(), Mock())


def test_only_a_session_under_this_nodes_name_and_current_token_is_its_own(
    tmp_path: Path,
) -> None:
    run_dir = tmp_path / "run"
    write_stamp(run_dir, LeaseStamp("node-a", 7))
    running = _running(run_dir)
    assert is_own(running, "node-a", 7)
    assert not is_own(running, "node-a", 8)  # fenced since: a new term
    assert not is_own(running, "node-b", 7)  # another node's directory
    assert not is_own(running, "node-a", None)  # a camera it does not hold
    assert not is_own(_running(tmp_path / "unstamped"), "node-a", 7)  # a one-machine run
