"""A replicated SeaweedFS (one master, two volume servers, replication 001; real ``weed``
processes) under Custos on PostgreSQL: an upload is on both servers when it returns; kill -9 one
server and footage already offloaded still plays back byte-identical, new segments queue without
being lost, nothing inside retention is deleted, and ``custos check`` reports the
under-replicated volumes until the server is back (issue 16 §3 and §4; docs/design/storage.md,
"Replicated").
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from custos.adapters.child_process import dies_with_parent
from custos.adapters.storage import seaweedfs
from custos.adapters.storage.object_store import S3SegmentStore
from custos.adapters.storage.seaweedfs_cluster import LocalCluster
from custos.adapters.storage.segment_files import SegmentStore
from custos.bootstrap import Container, object_store_replication
from custos.domain.access import Role
from custos.domain.recording import Segment
from custos.entrypoints.cli.main import main
from custos.services.object_replication import ReplicationReport
from custos.services.offload import OffloadService
from tests.api.access_world import SEGMENT_S, XIAN, World, build_world
from tests.api.builders import API
from tests.integration.objectstore.conftest import ACCESS_KEY, SECRET_KEY
from tests.ports import seaweed_base

pytestmark = pytest.mark.slow

BUCKET = "custos-replicated"
PURPOSE = "核查设备故障 (volume server failure drill)"
T = TypeVar("T")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _get(url: str) -> bytes:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=10) as r:
        body: bytes = r.read()
        return body


def _wait_for(what: str, probe: Callable[[], T], done: Callable[[T], bool], within_s: float) -> T:
    deadline = time.monotonic() + within_s
    while True:
        got = probe()
        if done(got):
            return got
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {within_s:.0f} s; last: {got!r}")
        time.sleep(0.5)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    try:
        seaweedfs.weed_binary()
    except FileNotFoundError as exc:
        pytest.fail(str(exc))
    root = tmp_path_factory.mktemp("seaweedfs-replicated")
    for _ in range(200):
        ports = seaweedfs.Ports(seaweed_base(seaweedfs.Ports(12000, 2).span + 1), 2)
        if seaweedfs.ports_free(ports):
            break
    else:
        pytest.fail("no free block of loopback ports for a replicated SeaweedFS")
    c = LocalCluster(
        root, ports.s3, volumes=2, replication="001", volume_size_mb=16, restart_after_s=0,
        preexec_fn=dies_with_parent(signal.SIGKILL),
    )  # fmt: skip
    c.check()
    c.start(ACCESS_KEY, SECRET_KEY)
    try:
        c.wait_ready()
    except (RuntimeError, TimeoutError) as exc:
        c.stop()
        logs = "".join(p.read_text()[-1500:] for p in sorted(root.glob("*.log")))
        pytest.fail(f"the replicated SeaweedFS did not start: {exc}\n{logs}")
    S3SegmentStore(c.endpoint, BUCKET, ACCESS_KEY, SECRET_KEY).ensure_bucket(object_lock=True)
    yield c
    c.stop(grace_s=2)  # nothing to keep: no need to wait for the filer's slow goodbye


@pytest.fixture(autouse=True)
def s3_env(cluster: LocalCluster, monkeypatch: pytest.MonkeyPatch) -> str:
    """Overrides the package's fixture: Custos pointed at the replicated store (its master
    too), a key prefix per test, and a short S3 timeout so that a write the store cannot take
    fails within seconds, not minutes."""
    prefix = f"r-{secrets.token_hex(6)}/"
    monkeypatch.setenv("CUSTOS_S3_ENDPOINT", cluster.endpoint)
    monkeypatch.setenv("CUSTOS_S3_BUCKET", BUCKET)
    monkeypatch.setenv("CUSTOS_S3_PREFIX", prefix)
    monkeypatch.setenv("CUSTOS_S3_ACCESS_KEY", ACCESS_KEY)
    monkeypatch.setenv("CUSTOS_S3_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("CUSTOS_S3_MASTER_URL", cluster.master_url)
    monkeypatch.setenv("CUSTOS_S3_TIMEOUT_S", "3")
    return prefix


def chunks(cluster: LocalCluster, key: str, version_id: str | None) -> list[str]:
    """The file ids of an object's chunks, from the filer's metadata (a versioned bucket keeps
    each version as ``<key>.versions/v_<id>``)."""
    filer = f"http://127.0.0.1:{cluster.ports.filer}/buckets/{BUCKET}"
    meta = json.loads(_get(f"{filer}/{key}.versions/v_{version_id}?metadata=true"))
    ids = [str(c["file_id"]) for c in meta["chunks"]]
    assert ids, meta
    return ids


def copies_of(cluster: LocalCluster, file_id: str) -> dict[int, bytes]:
    """Each volume server's own copy of one chunk: read only from a server that holds the
    chunk's volume itself (a server without it would fetch it from the other)."""
    volume = int(file_id.split(",")[0])
    out: dict[int, bytes] = {}
    for i in (1, 2):
        status = json.loads(_get(f"{cluster.volume_url(i)}/status"))
        if volume in {v["Id"] for v in status["Volumes"]}:
            out[i] = _get(f"{cluster.volume_url(i)}/{file_id}")
    return out


def test_an_upload_returns_when_both_volume_servers_hold_it(
    cluster: LocalCluster, s3_env: str, tmp_path: Path
) -> None:
    store = S3SegmentStore(cluster.endpoint, BUCKET, ACCESS_KEY, SECRET_KEY, prefix=s3_env)
    for n in range(3):
        body = secrets.token_bytes(300_000 + n)
        path = tmp_path / f"{n}.mp4"
        path.write_bytes(body)
        stored = store.upload(store.key_for(f"1/run/{n:06d}.mp4"), path, sha(body), len(body))
        # at once, no waiting: every chunk is already on both servers, byte for byte
        on_each: dict[int, bytes] = {1: b"", 2: b""}
        for file_id in chunks(cluster, stored.key, stored.version_id):
            copies = copies_of(cluster, file_id)
            assert set(copies) == {1, 2}, file_id
            on_each = {i: on_each[i] + copies[i] for i in (1, 2)}
        assert on_each[1] == on_each[2] == body


def _seal(c: Container, camera: int, run: str, seq: int, clip: Path, start: Any) -> Segment:
    store = SegmentStore(c.settings.resolved_media_dir())
    path = store.run_dir(camera, run) / f"{seq:06d}.mp4"
    shutil.copyfile(clip, path)
    sealed = store.seal(path)
    seg = Segment(
        None, camera, run, seq, store.relative(path), start,
        start + timedelta(seconds=SEGMENT_S), float(SEGMENT_S), sealed.bytes, sealed.sha256,
        "h264", 320, 240, c.clock.now(),
    )  # fmt: skip
    c.recording.seal(seg)
    return seg


def _check_cli(c: Container, monkeypatch: pytest.MonkeyPatch) -> tuple[int, dict[str, Any]]:
    monkeypatch.setenv("CUSTOS_DATA_DIR", str(c.settings.data_dir))
    assert c.settings.database_url
    monkeypatch.setenv("CUSTOS_DATABASE_URL", c.settings.database_url)
    result = CliRunner().invoke(main, ["check", "--json"])
    return result.exit_code, json.loads(result.output)


# The cluster is for several machines, so PostgreSQL (one run, not one per backend).
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_dead_volume_server_costs_no_footage(
    cluster: LocalCluster,
    client: TestClient,
    container: Container,
    admin: dict[str, str],
    clip: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    c = container
    off = c.offload
    assert isinstance(off, OffloadService)
    w: World = build_world(client, c, admin, clip)  # 5 cameras x 3 sealed segments
    first = off.run_once(100)
    assert len(first.uploaded) == 15 and not (first.failed or first.refused), first
    before = sorted(c.recording.indexed(), key=lambda s: s.id or 0)
    media = c.settings.resolved_media_dir()

    def replication() -> ReplicationReport:
        report = object_store_replication(c.settings)
        assert report is not None
        return report

    healthy = replication()
    assert healthy.status == "checked" and healthy.clean, healthy

    # ---- kill -9 one volume server ----------------------------------------------------------
    cluster.kill_volume(2)
    degraded = _wait_for(
        "the master sees every volume at one copy of two, the bucket's files at risk",
        replication,
        lambda r: bool(r.under_replicated) and r.files_at_risk >= 15,
        30,
    )
    assert {(u.present, u.required) for u in degraded.under_replicated} == {(1, 2)}
    assert all(u.servers == (f"127.0.0.1:{cluster.ports.volume_at(1)}",) for u in
               degraded.under_replicated)  # fmt: skip

    # playback from the object store: one camera's local files out of the way
    cam = w.cameras[XIAN]
    played = [s for s in before if s.camera_id == cam]
    aside = c.settings.data_dir / "aside"
    aside.mkdir()
    for s in played:
        (media / s.path).rename(aside / f"{s.id}.mp4")
    manager = w.person("manager1", Role.UNIT_MANAGER, unit_id=w.unit_id)
    body = {"camera_ids": [cam], **w.range(0, 30), "purpose": PURPOSE}
    r = w.client.post(f"{API}/playback/sessions", json=body, headers=manager)
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    for s in played:
        got = w.client.get(f"{API}/sessions/{sid}/segments/{s.id}/media", headers=manager)
        assert got.status_code == 200, got.text
        assert sha(got.content) == s.sha256
    for s in played:
        (aside / f"{s.id}.mp4").rename(media / s.path)
    # every object read back byte-identical, and the object check re-hashing them is clean
    for s in before:
        off.evict(s.path)
        fetched = off.fetch(s)
        assert fetched is not None and sha(fetched.read_bytes()) == s.sha256
    assert off.check(before, rehash=True).clean

    # new segments: the store cannot write (no second server for a copy); they queue
    cam2 = w.cameras[sorted(w.cameras)[0]]
    assert w.footage_start is not None
    new = [
        _seal(c, cam2, "afterkill", n, clip, w.footage_start + timedelta(seconds=30 + 10 * n))
        for n in range(2)
    ]
    queued = off.run_once(100)
    assert sorted(queued.failed) == sorted(s.path for s in new), queued
    assert not (queued.uploaded or queued.refused or queued.skipped)
    now = c.recording.indexed()
    assert not [s for s in now if s.missing]  # nothing marked lost
    assert len(off.records()) == 15
    assert off.check(now).objects_pending == 2

    # inside retention nothing goes, whatever the store's state
    assert c.retention.purge().deleted == []

    # `custos check` as an operator runs it: the under-replication is reported, exit 1
    code, out = _check_cli(c, monkeypatch)
    assert code == 1, out
    rep = out["replication"]
    assert rep["status"] == "checked" and rep["clean"] is False and out["clean"] is False
    assert rep["files_at_risk"] >= 15 and rep["bytes_at_risk"] >= 15 * before[0].bytes
    assert {(u["present"], u["required"]) for u in rep["under_replicated"]} == {(1, 2)}
    assert out["missing_files"] == [] and out["missing_objects"] == []
    assert out["objects_pending"] == 2

    # ---- the server is back on its own disk ------------------------------------------------
    cluster.start_volume(2)
    _wait_for("the copies are back", replication, lambda r: r.clean, 30)
    resumed = off.run_once(100)
    assert sorted(resumed.uploaded) == sorted(s.path for s in new), resumed
    assert not (resumed.failed or resumed.refused)
    records = {rec.segment_id: rec for rec in off.records()}
    assert len(records) == 17
    for rec in records.values():  # the late ones on both servers like the rest
        for file_id in chunks(cluster, rec.key, rec.version_id):
            copies = copies_of(cluster, file_id)
            assert set(copies) == {1, 2} and copies[1] == copies[2], rec.key

    code, out = _check_cli(c, monkeypatch)
    assert code == 0, out
    assert out["replication"]["clean"] is True and out["replication"]["under_replicated"] == []
    assert out["objects_pending"] == 0
    # nothing inside retention was lost: every row, file and object is still there
    after = c.recording.indexed()
    assert {s.id for s in before} <= {s.id for s in after} and len(after) == 17
    assert all((media / s.path).exists() for s in after)


def test_serve_refuses_a_replication_its_volume_servers_cannot_hold(tmp_path: Path) -> None:
    runner = CliRunner()
    base = ["objectstore", "serve", "--dir", str(tmp_path / "weed"), "--port", "12990"]
    for extra, said in (
        (["--replication", "001"], "--replication 001 needs 2 volume servers"),
        (["--volumes", "2", "--replication", "011"], "--replication 011 needs 3 volume servers"),
        (["--volumes", "2", "--replication", "0x1"], "--replication: replication '0x1' is not"),
    ):
        result = runner.invoke(main, base + extra)
        assert result.exit_code == 1, result.output
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and said in lines[0], result.output
    assert not (tmp_path / "weed").exists()  # nothing was started or made


def _children(pid: int) -> list[int]:
    found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(p) for p in found]


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_serve_runs_a_replicated_store_and_starts_a_dead_volume_server_again(
    tmp_path: Path, stop: signal.Signals
) -> None:
    ports = next(
        p
        for p in (seaweedfs.Ports(seaweed_base(6), 3) for _ in range(200))
        if seaweedfs.ports_free(p)
    )
    env = os.environ | {
        "CUSTOS_DATA_DIR": str(tmp_path / "data"),
        "CUSTOS_S3_ACCESS_KEY": ACCESS_KEY,
        "CUSTOS_S3_SECRET_KEY": SECRET_KEY,
    }
    argv = [
        sys.executable, "-m", "custos", "objectstore", "serve", "--dir", str(tmp_path / "weed"),
        "--port", str(ports.s3), "--volume-size-mb", "16", "--volumes", "3", "--restart-after", "1",
    ]  # fmt: skip
    proc = subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        lines.extend(proc.stdout)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        _wait_for("ready", lambda: list(lines), lambda got: "ready\n" in got, 90)
        said = "".join(lines)
        assert f"master http://127.0.0.1:{ports.master}, 3 volume server(s)" in said
        assert "replication 001" in said and "Object Lock on" in said  # 001: the default
        for name in ("master", "filer", "volume-1", "volume-2", "volume-3"):
            assert (tmp_path / "weed" / name).is_dir() and (tmp_path / "weed" / f"{name}.log")
        topology = json.loads(_get(f"http://127.0.0.1:{ports.master}/dir/status"))["Topology"]
        nodes = [n for dc in topology["DataCenters"] for r in dc["Racks"] for n in r["DataNodes"]]
        assert sorted(n["Url"] for n in nodes) == [
            f"127.0.0.1:{ports.volume_at(i)}" for i in (1, 2, 3)
        ]

        # kill -9 volume server 3: serve says so and starts it again on its own directory
        third = f"-port={ports.volume_at(3)}"
        victim = next(
            p for p in _children(proc.pid)
            if third in Path(f"/proc/{p}/cmdline").read_bytes().decode().split("\0")
        )  # fmt: skip
        os.kill(victim, signal.SIGKILL)
        _wait_for(
            "started again",
            lambda: "".join(lines),
            lambda got: "volume server 3 started again" in got,
            30,
        )
        assert "volume server 3 exited with -9; starting it again in 1 s" in "".join(lines)
        assert proc.poll() is None
        family = _children(proc.pid)
        assert len(family) == 5 and victim not in family  # master, 3 volume servers, filer
    finally:
        proc.send_signal(stop)
        try:
            proc.wait(40)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        reader.join(5)
        if proc.stdout is not None:
            proc.stdout.close()
    assert proc.returncode == (0 if stop == signal.SIGTERM else -signal.SIGKILL), "".join(lines)
    # no weed outlives serve, the one started again included (SIGKILL: they die with it)
    _wait_for("no child left", lambda: [p for p in family if _alive(p)], lambda a: not a, 30)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"
