"""A recorder node killed with SIGKILL and started again at once on its own data directory is
the same instance (docs/design/cluster.md, "A node restarted on its own data directory is the
same instance"): it keeps its name's instance id and its tokens (no fence), re-attaches its
shards and adopts its own sessions, so the file in flight at the kill goes on without a frame
lost and nothing is refused or indexed twice. A second process on that data directory is
refused by its lock. Real processes, a real (private) PostgreSQL, real RTSP cameras."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from custos.adapters.media import fmp4
from custos.adapters.storage.segment_files import SegmentStore
from custos.bootstrap import Container
from custos.services.recorder_leases import RecorderLeases
from tests.integration.cluster.support import Index, NodeProcess, PrivatePostgres, wait_until
from tests.integration.cluster.test_failures import _all_held, _settled
from tests.integration.processes import alive
from tests.integration.recorder.conftest import shard_pids
from tests.integration.recorder.test_recorder_crash import frames_all_there

pytestmark = pytest.mark.slow

CAMERAS = 2


def _tokens(index: Index, node: str) -> dict[int, int]:
    return dict(
        index.rows("SELECT camera_id, fencing_token FROM camera_leases WHERE holder = :n", n=node)
    )


def _indexed(index: Index, node: str) -> set[str]:
    return {r[0] for r in index.rows("SELECT path FROM segments WHERE node = :n", n=node)}


def _joins(db: Container, node: str) -> list[dict[str, object]]:
    with db.uow() as uow:
        events = [e for _, e in uow.audit.find(limit=100_000)]
    return [
        dict(e.detail or {})
        for e in events
        if e.action == "recorder_node.join" and e.object_id == node
    ]


def _second_process(node: NodeProcess) -> subprocess.CompletedProcess[str]:
    """``custos recorder --node`` once more on the same data directory."""
    env = os.environ | {
        "CUSTOS_DATA_DIR": str(node.data_dir),
        "CUSTOS_DATABASE_URL": node.database_url,
        "CUSTOS_RECORDER_METRICS_PORT": "0",
    }
    argv = [sys.executable, "-m", "custos", "recorder", "--node", node.name]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)


def test_a_node_killed_and_started_again_at_once_keeps_its_tokens_and_loses_no_frame(
    private_pg: PrivatePostgres,
    db: Container,
    index: Index,
    camera_fleet: Callable[[int], list[int]],
    nodes: Callable[[str, str], NodeProcess],
) -> None:
    ids = camera_fleet(CAMERAS)
    node = nodes("node-a", private_pg.url)
    node.start()
    wait_until(lambda: _all_held(index, ids, {node.name}), 60)
    wait_until(lambda: _settled(index, ids), 90)
    kept = node.data_dir / "node-instance"
    assert kept.stat().st_mode & 0o777 == 0o600
    instance = json.loads(kept.read_text())["instance"]
    tokens = _tokens(index, node.name)
    assert set(tokens) == set(ids)

    refused = _second_process(node)  # the lock: refused at once, in one line, no traceback
    lines = [line for line in refused.stderr.splitlines() if "recorder.lock" in line]
    assert refused.returncode == 1 and len(lines) == 1, refused.stderr
    assert "Traceback" not in refused.stderr, refused.stderr
    assert node.proc is not None and node.proc.poll() is None, "the first process goes on"

    # just after a segment was sealed: the restarted node attaches within the orphan limit
    # (half the lease TTL) and well before the segment in flight ends
    sealed = len(_indexed(index, node.name))
    wait_until(lambda: len(_indexed(index, node.name)) > sealed, 30, step_s=0.1)
    time.sleep(1.0)
    shards = shard_pids(node.data_dir)
    assert shards, "the node's shards listen under its data directory"
    store = SegmentStore(node.media)
    killed_at = datetime.now(UTC)
    node.kill()
    started = time.monotonic()
    node.start()
    assert all(alive(p) for p in shards), "the shards outlive the node"
    in_flight = sorted(set(store.segment_files()) - _indexed(index, node.name))
    assert len(in_flight) == len(ids), in_flight
    wait_until(lambda: set(in_flight) <= _indexed(index, node.name), 40)
    print(f"in-flight files sealed {time.monotonic() - started:.1f} s after the restart")
    after = len(_indexed(index, node.name))
    wait_until(lambda: len(_indexed(index, node.name)) > after, 30)
    assert node.proc is not None and node.proc.poll() is None, node.tail()
    assert set(shard_pids(node.data_dir)) == set(shards), "no shard was replaced"
    assert _tokens(index, node.name) == tokens, "the same tokens across the restart"
    stopping_at = datetime.now(UTC)
    node.stop()

    assert json.loads(kept.read_text())["instance"] == instance
    joins = _joins(db, node.name)
    assert len(joins) == 2, joins
    assert joins[-1]["fenced_cameras"] == [], joins
    assert RecorderLeases(db.uow, db.clock).view().refused == []
    rows = index.rows(
        "SELECT path, camera_id, run_id, sequence, fencing_token, adopted FROM segments"
        " WHERE node = :n",
        n=node.name,
    )
    assert len(rows) == len({(r[1], r[2], r[3]) for r in rows}), "nothing indexed twice"
    assert set(store.segment_files()) == {r[0] for r in rows}, "every file indexed"
    assert index.overlapping() == []
    restart_gaps = index.rows(
        "SELECT camera_id, reason FROM recording_gaps WHERE start_at >= :k - interval '30 s'"
        " AND start_at < :s",
        k=killed_at,
        s=stopping_at,
    )
    assert restart_gaps == [], restart_gaps
    by_path = {r[0]: r for r in rows}
    for rel in in_flight:  # the files that span the kill: whole, same run, no frame lost
        _, camera_id, _, sequence, token, adopted = by_path[rel]
        assert not adopted and token == tokens[camera_id]
        assert fmp4.scan(store.absolute(rel)).torn is False
        frames_all_there(store, rel, sequence, "the kill")
    runs = {(r[1], r[2]) for r in rows}
    assert len(runs) == len(ids), "one connection per camera across the kill"
    # the run taken over stays on the wall clock: each segment starts where the one before
    # ended, none ends after the node stopped
    placed = index.rows(
        "SELECT run_id, sequence, start_at, end_at FROM segments WHERE node = :n"
        " ORDER BY run_id, sequence",
        n=node.name,
    )
    assert max(r[3] for r in placed) <= stopping_at + timedelta(seconds=1), placed
    for a, b in itertools.pairwise(placed):
        if a[0] == b[0]:
            assert abs((b[2] - a[3]).total_seconds()) < 1.0, (a, b)
    done = node.check()
    assert done.returncode == 0 and json.loads(done.stdout)["clean"], done.stdout[-2000:]
