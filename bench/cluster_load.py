"""Cluster load benchmark: (a) what the camera-lease protocol costs PostgreSQL per 1,000 cameras,
and (b) the CPU per stream of 3 recorder nodes against 1 node recording as many cameras, in the
same run. Not part of the test suite.

    .venv/bin/python bench/cluster_load.py                       # (a) 1,000 and 5,000; (b) 3x100 vs 1x300
    .venv/bin/python bench/cluster_load.py --parts a --lease-cameras 200,600 --lease-window 20
    .venv/bin/python bench/cluster_load.py --parts b --cameras 30 --window 60   # quick

Both parts run a private PostgreSQL (``tests/integration/cluster/support.py``'s, with
``pg_stat_statements`` preloaded and ``track_utility`` on). The nodes connect as their own role
(``custos_node``), so what is counted is theirs alone, never the bench's own queries.

(a) Lease renewal load. For each camera count C (``--lease-cameras``, default 1,000 then 5,000,
in one database: the second count adds cameras to the first's): C cameras registered in service,
then ``ceil(C / capacity)`` nodes (``--lease-capacity``, default 400) as real ``LeaseKeeper``
threads in this process — the class ``custos recorder --node`` runs, each with its own
container, connection pool and ``RecorderLeases``, and the registry read it makes at each claim
(``RecordingService.targets``) — and no recording. A helper does what the recorder's supervisor
does with leases marked ``releasing`` (hands them over). Once every camera is held and none is
releasing: ``pg_stat_statements_reset()``, a window of ``--lease-window`` seconds, then the
nodes' statements by kind (renew, heartbeat, ensure, live nodes, claim, the registry read, BEGIN,
COMMIT, the pool's ping), the rows they touched, their execution time, the committed
transactions, the WAL the server wrote, the server's CPU (its process tree, from /proc) and this
process's (the keepers'). A SQLAlchemy ``before_cursor_execute`` count on every node's engine
cross-checks the server's count. Everything is also given per 1,000 cameras, and the larger
count's figures as ratios to the first's (is the load linear in cameras?).

(b) Nodes on this machine. The same ``rtsp_replay.py`` load generator and clip as
``bench/ingest.py`` (1080p25, 2 Mbit/s, a keyframe every 2 s), one phase after the other:
``--nodes`` ``custos recorder --node`` processes (default 3) sharing N cameras (default 300), then
ONE node recording all N; each phase with its own database and URL prefix. Each phase: start,
wait until all N streams play and every camera is leased, ``--warmup``, then a window of
``--window`` seconds (default 120 = two 60-s segments): CPU per stream = utime+stime (+ reaped
children) of the nodes' process trees from /proc, over the window, / N, in % of one core (as
``ingest.py``); PSS per stream (``smaps_rollup``, sampled); the node processes' own CPU (the Python
supervisors); the load generator's and PostgreSQL's CPU; the machine's busy share; and all the
nodes' statements in the window (seals, health, registry polls, leases), per 1,000 cameras,
with the seals counted from the index. Then freeze, SIGTERM, close, as ``ingest.py``.
``--rounds 2`` repeats the pair with the order swapped (this machine's speed drifts by 10-20 %
over minutes); the CPU ratio of each round and their median are printed.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ingest_procfs as procfs
from cluster_bench import (
    NODE_ROLE,
    RESULTS,
    BenchNode,
    StatementCounter,
    StatementSnapshot,
    StatsPostgres,
    by_kind,
    register,
    wait_for,
)
from ingest import CACHE, MB, LoadGenerator, make_clip, wait_all_playing
from sqlalchemy import event, text
from tests.integration.cluster.support import Index

from custos import __version__
from custos.bootstrap import bootstrap
from custos.config import Settings
from custos.recorder.leases import LeaseKeeper
from custos.recorder.lifeline import dies_with_parent
from custos.services.recorder_leases import NodeIdentity, RecorderLeases

STARTED = time.strftime("%Y%m%dT%H%M%S")
LEASE_KINDS = (
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    "pool ping (SELECT 1)",
    "heartbeat",
    "renew",
    "ensure lease rows",
    "live nodes",
    "claim: free leases",
    "claim: grant",
    "claim: term",
    "mark releasing",
    "release",
    "registry read",
)


# ---- (a) the lease protocol alone ------------------------------------------------------------
@dataclass
class LeasePhase:
    cameras: int
    nodes: int
    capacity: int
    window_s: float = 0.0
    statements: int = 0  # server-side calls, BEGIN/COMMIT included
    sql_statements: int = 0  # without BEGIN/COMMIT/ROLLBACK
    client_statements: int = 0  # before_cursor_execute, all nodes
    commits: int = 0
    wal_bytes: int = 0
    rows: float = 0.0
    exec_ms: float = 0.0
    pg_cpu_s: float = 0.0
    keepers_cpu_s: float = 0.0
    renewals_per_node_s: float = 0.0
    settle_s: float = 0.0
    kinds: dict[str, dict[str, float]] = field(default_factory=dict)

    def per_s(self, v: float) -> float:
        return v / self.window_s if self.window_s else math.nan

    def per_s_per_k(self, v: float) -> float:
        return self.per_s(v) * 1000 / self.cameras


class ClientCount:
    def __init__(self) -> None:
        self.n = 0
        self._lock = threading.Lock()

    def __call__(self, *_: Any) -> None:
        with self._lock:
            self.n += 1


def _handovers(keeper: LeaseKeeper, stop: threading.Event) -> None:
    """The supervisor's part: a camera marked ``releasing`` is handed over (no worker to stop)."""
    while not stop.wait(1.0):
        ids = [c for c, h in keeper.held().items() if h.releasing]
        if ids:
            try:
                keeper.release(ids)
            except Exception as exc:  # the database's boundary, as in the supervisor
                print(f"  hand-over failed ({exc}); again in 1 s", flush=True)


def keeper_main(name: str, url: str, capacity: int, status: Path) -> None:
    """One node's lease keeper in a process of its own (``--keeper``): its own interpreter and
    connection pool, as on its own machine. Writes what it holds and how many statements it
    sent to ``status`` twice a second; ends on SIGTERM."""
    logging.getLogger("custos").setLevel(logging.WARNING)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    c = bootstrap(Settings(data_dir=status.parent / name, database_url=url))
    count = ClientCount()
    event.listen(c.engine, "before_cursor_execute", count)
    recording = c.recording
    keeper = LeaseKeeper(
        RecorderLeases(c.uow, c.clock),
        NodeIdentity(name, "127.0.0.1:0", capacity, __version__),
        recording.camera_ids_to_record,  # as recorder/main.py
    )
    keeper.start()
    threading.Thread(target=_handovers, args=(keeper, stop), daemon=True).start()
    while not stop.wait(0.5):
        held = keeper.held()
        tmp = status.with_suffix(".part")
        tmp.write_text(
            json.dumps(
                {
                    "held": len(held),
                    "releasing": sum(1 for h in held.values() if h.releasing),
                    "statements": count.n,
                }
            )
        )
        tmp.replace(status)
    keeper.stop()
    c.close()


class KeeperProcess:
    def __init__(self, name: str, url: str, capacity: int, work: Path) -> None:
        self.status = work / f"{name}.json"
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--keeper", name, url, str(capacity), str(self.status)],
            preexec_fn=dies_with_parent(signal.SIGKILL),
        )

    def read(self) -> dict[str, int]:
        try:
            data: dict[str, int] = json.loads(self.status.read_text())
        except (OSError, ValueError):
            return {"held": 0, "releasing": 0, "statements": 0}
        return data

    def cpu_seconds(self) -> float:
        st = procfs.read_stat(self.proc.pid)
        return procfs.cpu_seconds([st] if st else [])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def lease_phase(
    pg: StatsPostgres, db: str, cameras: int, capacity: int, window_s: float, work: Path
) -> LeasePhase:
    nodes = math.ceil(cameras / capacity)
    res = LeasePhase(cameras, nodes, capacity)
    url = pg.db_url(db, NODE_ROLE)
    here = work / f"leases-{cameras}"
    here.mkdir(parents=True, exist_ok=True)
    t = time.monotonic()
    keepers = [KeeperProcess(f"lease-{i}", url, capacity, here) for i in range(nodes)]
    try:

        def settled() -> bool:
            st = [k.read() for k in keepers]
            if any(k.proc.poll() is not None for k in keepers):
                raise SystemExit("a lease keeper process ended early")
            return sum(x["held"] for x in st) == cameras and not any(x["releasing"] for x in st)

        wait_for(settled, 300, f"{cameras} cameras leased by {nodes} nodes, none releasing")
        res.settle_s = time.monotonic() - t
        time.sleep(5)  # claim rounds with nothing to do, as in steady state
        counter = StatementCounter(pg, db)
        counter.reset()
        c0 = sum(k.read()["statements"] for k in keepers)
        pg0, cpu0, t0 = pg.cpu_seconds(), sum(k.cpu_seconds() for k in keepers), time.monotonic()
        time.sleep(window_s)
        snap = counter.snapshot()
        res.window_s = time.monotonic() - t0
        res.pg_cpu_s = pg.cpu_seconds() - pg0
        res.keepers_cpu_s = sum(k.cpu_seconds() for k in keepers) - cpu0
        time.sleep(0.6)  # the next status line
        res.client_statements = sum(k.read()["statements"] for k in keepers) - c0
        counter.close()
        held = sum(k.read()["held"] for k in keepers)
        if held != cameras:
            print(f"  note: {held} of {cameras} held at the window's end", flush=True)
    finally:
        for k in keepers:
            k.stop()
    _fill(res, snap)
    res.renewals_per_node_s = res.per_s(res.kinds.get("renew", {}).get("calls", 0)) / nodes
    return res


def _fill(res: LeasePhase, snap: StatementSnapshot) -> None:
    res.kinds = by_kind(snap)
    res.statements = snap.calls
    res.sql_statements = snap.calls_where(
        lambda q: q.strip().lower() not in ("begin", "commit", "rollback")
    )
    res.commits, res.wal_bytes = snap.commits, snap.wal_bytes
    res.rows = sum(k["rows"] for k in res.kinds.values())
    res.exec_ms = sum(k["ms"] for k in res.kinds.values())


def _lease_only(p: LeasePhase) -> float:
    """The statements without the registry read the keeper makes at each claim round: its two
    SELECTs (cameras, lifecycle), and the BEGIN and ROLLBACK around them (one each per read)."""
    return p.statements - 2 * p.kinds.get("registry read", {}).get("calls", 0)


def _nominal(p: LeasePhase, v: float) -> float:
    """Per second per 1,000 cameras at 0.5 renewals per node per second."""
    rate = p.renewals_per_node_s
    return p.per_s_per_k(v) * 0.5 / rate if rate else math.nan


def lease_report(phases: list[LeasePhase]) -> str:
    base = phases[0]
    lines = [
        "(a) lease protocol alone (LeaseKeeper threads, no recording); per second, and per "
        "second per 1,000 cameras; ratio = per 1,000 cameras vs the first count's"
    ]
    w = [34, *([24] * len(phases)), 10]
    head = [
        "",
        *(f"{p.cameras} cams / {p.nodes} nodes" for p in phases),
        "ratio" if len(phases) > 1 else "",
    ]
    lines.append("  ".join(h.ljust(x) for h, x in zip(head, w, strict=True)))

    def row(label: str, get: Any, per_k: bool = True, digits: int = 1) -> None:
        vals = [get(p) for p in phases]
        cells = [label]
        for p, v in zip(phases, vals, strict=True):
            cells.append(
                f"{p.per_s(v):.{digits}f} ({p.per_s_per_k(v):.{digits}f}/1k)"
                if per_k
                else f"{v:.{digits}f}"
            )
        if len(phases) > 1 and per_k:
            b = base.per_s_per_k(get(base))
            cells.append(f"{phases[-1].per_s_per_k(get(phases[-1])) / b:.2f}" if b else "n/a")
        else:
            cells.append("")
        lines.append("  ".join(c.ljust(x) for c, x in zip(cells, w, strict=True)))

    row("statements/s (all, server)", lambda p: p.statements)
    row("  SQL (without BEGIN/COMMIT)", lambda p: p.sql_statements)
    row("  client-side count (cross-check)", lambda p: p.client_statements)
    row("  without the keeper's registry read", _lease_only)
    row("transactions/s (commits)", lambda p: p.commits)
    row("rows touched/s", lambda p: p.rows, digits=0)
    row("statement time (ms/s)", lambda p: p.exec_ms)
    row("WAL (kB/s)", lambda p: p.wal_bytes / 1000)
    row("PostgreSQL CPU (% of a core)", lambda p: p.pg_cpu_s * 100, digits=2)
    row("keepers' CPU (% of a core)", lambda p: p.keepers_cpu_s * 100, digits=2)
    row("renewals per node per s (0.5)", lambda p: p.renewals_per_node_s, per_k=False, digits=3)
    row(
        "statements per node per renewal",
        lambda p: p.statements / max(1.0, p.kinds.get("renew", {}).get("calls", 0)),
        per_k=False,
    )
    row(
        "  lease alone, per 1k cams at 0.5/s",
        lambda p: (
            _lease_only(p)
            / max(1.0, p.kinds.get("renew", {}).get("calls", 0))
            * 0.5
            * p.nodes
            * 1000
            / p.cameras
        ),
        per_k=False,
    )
    row("settled in (s)", lambda p: p.settle_s, per_k=False)
    lines.append(
        "at the nominal renewal rate (0.5 per node per s; every figure is a cost per renewal"
        " cycle, scaled by 0.5 / the rate achieved here), per 1,000 cameras:"
    )
    for label, get in (
        ("statements/s", lambda p: p.statements),
        ("  without the keeper's registry read", _lease_only),
        ("transactions/s", lambda p: p.commits),
        ("rows touched/s", lambda p: p.rows),
        ("statement time (ms/s)", lambda p: p.exec_ms),
        ("PostgreSQL CPU (% of a core)", lambda p: p.pg_cpu_s * 100),
    ):
        row(f"  {label}", lambda p, g=get: _nominal(p, g(p)), per_k=False, digits=2)
    row(
        "  keepers' CPU per node (% of a core)",
        lambda p: _nominal(p, p.keepers_cpu_s * 100) * p.cameras / 1000 / p.nodes,
        per_k=False,
        digits=2,
    )
    kinds = [k for k in LEASE_KINDS if any(k in p.kinds for p in phases)]
    kinds += sorted({k for p in phases for k in p.kinds} - set(kinds))
    lines.append("by statement: calls/s (per 1k cameras), rows per call, mean ms")
    for k in kinds:
        cells = [f"  {k}"]
        for p in phases:
            d = p.kinds.get(k, {"calls": 0.0, "rows": 0.0, "ms": 0.0})
            per_call = d["rows"] / d["calls"] if d["calls"] else 0.0
            ms = d["ms"] / d["calls"] if d["calls"] else 0.0
            cells.append(f"{p.per_s(d['calls']):.2f} ({p.per_s_per_k(d['calls']):.2f}) "
                         f"{per_call:.0f}r {ms:.2f}ms")  # fmt: skip
        cells.append("")
        lines.append("  ".join(c.ljust(x) for c, x in zip(cells, w, strict=True)))
    return "\n".join(lines)


def part_a(args: argparse.Namespace, work: Path) -> tuple[str, list[LeasePhase]]:
    pg = StatsPostgres(work)
    pg.init()
    phases: list[LeasePhase] = []
    try:
        admin = pg.create_db("leases")
        registered = 0
        for n in args.lease_cameras:
            t = time.monotonic()
            register(admin, [f"rtsp://127.0.0.1:9/lease/cam{k}" for k in range(1, n + 1)])
            print(
                f"(a) {n} cameras in service ({n - registered} registered in "
                f"{time.monotonic() - t:.0f} s)",
                flush=True,
            )
            registered = n
            phases.append(
                lease_phase(pg, "leases", n, args.lease_capacity, args.lease_window, work)
            )
            p = phases[-1]
            print(
                f"(a) {n} cameras, {p.nodes} nodes: {p.per_s(p.statements):.1f} statements/s "
                f"({p.per_s_per_k(p.statements):.1f} per 1,000 cameras), "
                f"{p.per_s(p.rows):.0f} rows/s",
                flush=True,
            )
            idx = Index(admin)  # a fresh start for the next count: no leases, no nodes
            with idx.engine.begin() as c:
                c.execute(text("TRUNCATE camera_lease_terms, camera_leases, recorder_nodes"))
            idx.close()
            time.sleep(1)
    finally:
        pg.close()
    return lease_report(phases), phases


# ---- (b) nodes recording on this machine -----------------------------------------------------
@dataclass
class NodesPhase:
    label: str
    nodes: int
    cameras: int
    connect_s: float = 0.0
    playing: int = 0
    playing_at_end: int = 0
    window_s: float = 0.0
    cpu_pct_total: float = 0.0
    cpu_pct_per_stream: float = 0.0
    supervisors_cpu_pct: float = 0.0  # the node processes themselves (Python), all nodes
    pss_mb_per_stream: float = 0.0
    supervisors_pss_mb: float = 0.0
    processes: int = 0
    server_cpu_pct: float = 0.0
    pg_cpu_pct: float = 0.0
    machine_busy_pct: float = 0.0
    loadavg: tuple[float, float] = (0.0, 0.0)
    seals: int = 0
    segments_total: int = 0
    segment_row_bytes: float = 0.0  # segments table + indexes / rows
    audit_entry_bytes: float = 0.0  # audit_events table + indexes / rows
    overlapping: int = 0
    statements: int = 0
    commits: int = 0
    wal_bytes: int = 0
    rows: float = 0.0
    exec_ms: float = 0.0
    kinds: dict[str, dict[str, float]] = field(default_factory=dict)
    holders: dict[str, int] = field(default_factory=dict)


def _node_cpu(ns: list[BenchNode]) -> tuple[float, float]:
    """(the trees', the node processes' own) CPU seconds."""
    stats = procfs.all_stats()
    trees = [s for n in ns if n.proc for s in procfs.tree(n.proc.pid, stats)]
    own = sum(stats[n.proc.pid].own_ticks for n in ns if n.proc and n.proc.pid in stats)
    return procfs.cpu_seconds(trees), own / procfs.CLK_TCK


def nodes_phase(
    pg: StatsPostgres,
    gen: LoadGenerator,
    label: str,
    n_nodes: int,
    cameras: int,
    args: argparse.Namespace,
    work: Path,
) -> NodesPhase:
    res = NodesPhase(label, n_nodes, cameras)
    db = label.replace("-", "_")
    admin = pg.create_db(db)
    prefix = f"/{label}"
    register(admin, [gen.url(prefix, k) for k in range(1, cameras + 1)])
    capacity = max(args.capacity, math.ceil(cameras / n_nodes))
    ns = [
        BenchNode(
            f"{label}-{i}",
            work / label,
            pg.db_url(db, NODE_ROLE),
            args.segment_seconds,
            capacity,
            shard_cameras=args.shard_cameras,
        )
        for i in range(n_nodes)
    ]
    index = Index(admin)
    print(f"[{label}] {n_nodes} node(s), {cameras} cameras (capacity {capacity})", flush=True)
    try:
        for n in ns:
            n.start()
        res.connect_s, res.playing = wait_all_playing(
            gen, prefix, cameras, args.connect_timeout, lambda: all(n.alive() for n in ns)
        )
        wait_for(
            lambda: sum(1 for h in index.holders().values() if h) == cameras,
            120,
            "every camera leased",
        )
        print(
            f"[{label}] {res.playing}/{cameras} playing after {res.connect_s:.1f} s; warm-up "
            f"{args.warmup:.0f} s",
            flush=True,
        )
        time.sleep(args.warmup)
        counter = StatementCounter(pg, db)
        gen.mark()
        counter.reset()
        wall0 = datetime.now(UTC)
        t0, load0 = time.monotonic(), procfs.loadavg()[0]
        (cpu0, own0), srv0, pg0 = _node_cpu(ns), gen.cpu_seconds(), pg.cpu_seconds()
        mach0 = procfs.machine_cpu()
        pss, sup_pss = [], []
        next_pss = t0 + min(args.pss_every, args.window / 2)
        while (now := time.monotonic()) < t0 + args.window:
            if now >= next_pss:
                pids = [p.pid for n in ns for p in n.tree()]
                pss.append(procfs.pss_bytes(pids) / MB)
                sup_pss.append(procfs.pss_bytes(n.proc.pid for n in ns if n.proc) / MB)
                res.processes = len(pids)
                next_pss += args.pss_every
            time.sleep(max(0.0, min(1.0, t0 + args.window - now)))
        (cpu1, own1), srv1, pg1 = _node_cpu(ns), gen.cpu_seconds(), pg.cpu_seconds()
        mach1 = procfs.machine_cpu()
        t1 = time.monotonic()
        wall1 = datetime.now(UTC)
        snap = counter.snapshot()
        counter.close()
        res.window_s = t1 - t0
        res.loadavg = (load0, procfs.loadavg()[0])
        res.cpu_pct_total = (cpu1 - cpu0) / res.window_s * 100
        res.cpu_pct_per_stream = res.cpu_pct_total / cameras
        res.supervisors_cpu_pct = (own1 - own0) / res.window_s * 100
        res.server_cpu_pct = (srv1 - srv0) / res.window_s * 100
        res.pg_cpu_pct = (pg1 - pg0) / res.window_s * 100
        res.machine_busy_pct = (mach1.busy_s - mach0.busy_s) / (mach1.total_s - mach0.total_s) * 100
        res.pss_mb_per_stream = statistics.mean(pss) / cameras if pss else math.nan
        res.supervisors_pss_mb = statistics.mean(sup_pss) if sup_pss else math.nan
        res.seals = int(
            index.rows(
                "SELECT count(*) FROM segments WHERE sealed_at >= :a AND sealed_at < :b",
                a=wall0,
                b=wall1,
            )[0][0]
        )
        res.holders = dict(Counter(str(h) for h in index.holders().values()))
        res.statements, res.commits, res.wal_bytes = snap.calls, snap.commits, snap.wal_bytes
        res.kinds = by_kind(snap)
        res.rows = sum(k["rows"] for k in res.kinds.values())
        res.exec_ms = sum(k["ms"] for k in res.kinds.values())
        late = gen.stats()
        res.playing_at_end = sum(
            1
            for s in late["sessions"]
            if s["path"].startswith(prefix + "/") and s["closed_at"] is None and s["frames_sent"]
        )
        print(
            f"[{label}] CPU {res.cpu_pct_per_stream:.3f} % of a core per stream, PSS "
            f"{res.pss_mb_per_stream:.2f} MB, {res.seals} seals, "
            f"{res.statements / res.window_s:.1f} statements/s; freezing, stopping",
            flush=True,
        )
        gen.freeze(prefix + "/")
        time.sleep(3)
    finally:
        for n in ns:
            if n.alive() and n.proc:
                n.proc.send_signal(15)
        time.sleep(1)
        gen.freeze(prefix + "/")
        gen.close(prefix + "/")
        for n in ns:
            n.stop()
        res.segments_total = int(index.rows("SELECT count(*) FROM segments")[0][0])
        for table, attr in (
            ("segments", "segment_row_bytes"),
            ("audit_events", "audit_entry_bytes"),
        ):
            size, n = index.rows(
                f"SELECT pg_total_relation_size('{table}'), (SELECT count(*) FROM {table})"  # noqa: S608 - two constant names
            )[0]
            setattr(res, attr, int(size) / max(1, int(n)))
        res.overlapping = len(index.overlapping())
        index.close()
        RESULTS.mkdir(parents=True, exist_ok=True)
        for n in ns:  # kept beside the JSON (the work directory is removed)
            if n.log.exists():
                shutil.copy(n.log, RESULTS / f"cluster-load-{STARTED}-{n.name}.log")
    return res


def nodes_report(
    pairs: list[tuple[NodesPhase, NodesPhase]], args: argparse.Namespace
) -> tuple[str, list[float]]:
    lines = [
        f"(b) {args.nodes} nodes x {args.cameras // args.nodes} cameras vs 1 node x "
        f"{args.cameras}, one after the other, same load generator; segments "
        f"{args.segment_seconds} s, window {args.window:.0f} s; ratio = many / one"
    ]
    ratios = []
    for r, (many, one) in enumerate(pairs, start=1):
        ratio = many.cpu_pct_per_stream / one.cpu_pct_per_stream
        ratios.append(ratio)
        w = [40, 22, 22, 8]
        lines.append(f"round {r}")
        lines.append(
            "  ".join(
                h.ljust(x) for h, x in zip(["", many.label, one.label, "ratio"], w, strict=True)
            )
        )

        def row(
            label: str, get: Any, digits: int = 3, ratio_: bool = False, pair: Any = (many, one)
        ) -> None:
            a, b = get(pair[0]), get(pair[1])
            cells = [label, _f(a, digits), _f(b, digits)]
            cells.append(_f(a / b, 2) if ratio_ and isinstance(a, float) and b else "")
            lines.append("  ".join(c.ljust(x) for c, x in zip(cells, (40, 22, 22, 8), strict=True)))

        row("streams playing (start/end)", lambda p: f"{p.playing}/{p.playing_at_end}")
        row("CPU per stream (% of a core)", lambda p: p.cpu_pct_per_stream, ratio_=True)
        row("CPU total (% of a core)", lambda p: p.cpu_pct_total, 1, True)
        row("  node processes alone (% core)", lambda p: p.supervisors_cpu_pct, 1, True)
        row("PSS per stream (MB)", lambda p: p.pss_mb_per_stream, 2, True)
        row("  node processes alone (MB)", lambda p: p.supervisors_pss_mb, 0, True)
        row("processes", lambda p: p.processes)
        row("load generator CPU (% core)", lambda p: p.server_cpu_pct, 1)
        row("PostgreSQL CPU (% core)", lambda p: p.pg_cpu_pct, 1, True)
        row("machine busy (%)", lambda p: p.machine_busy_pct, 1)
        row("load average start/end", lambda p: f"{p.loadavg[0]:.2f}/{p.loadavg[1]:.2f}")
        row("seals in the window", lambda p: p.seals)
        row("statements/s per 1,000 cams", lambda p: _per_k(p, p.statements), 1, True)
        row("commits/s per 1,000 cams", lambda p: _per_k(p, p.commits), 1, True)
        row("rows/s per 1,000 cams", lambda p: _per_k(p, p.rows), 0, True)
        row("WAL kB/s per 1,000 cams", lambda p: _per_k(p, p.wal_bytes) / 1000, 1, True)
        row("segments indexed / overlapping", lambda p: f"{p.segments_total} / {p.overlapping}")
        row("bytes per segment row / audit entry", _row_bytes)
        row("lease grants in the window (0)", lambda p: _calls(p, "claim: grant"))
        row("renew statement, max (ms)", lambda p: _max_ms(p, "renew"), 0)
        row("audit lock wait mean / max (ms)", _lock_wait)
        row("cameras per node", lambda p: ",".join(map(str, sorted(p.holders.values()))))
    if ratios:
        lines.append(
            "CPU per stream ratio per round: "
            + ", ".join(f"{x:.2f}" for x in ratios)
            + f" -> median {statistics.median(ratios):.2f}x"
        )
    return "\n".join(lines), ratios


def whole_recorder_report(phases: list[NodesPhase]) -> str:
    """Every statement the nodes ran, per second per 1,000 cameras, by kind."""
    kinds: dict[str, list[float]] = {}
    for p in phases:
        for k, d in p.kinds.items():
            kinds.setdefault(k, []).append(_per_k(p, d["calls"]))
    lines = [
        "whole recorder, measured with real nodes (all phases, mean; calls/s per 1,000 cameras"
        " = measured x 1,000 / N):"
    ]
    for k, v in sorted(kinds.items(), key=lambda kv: -statistics.mean(kv[1])):
        lines.append(f"  {k:<28} {statistics.mean(v):8.1f}   ({', '.join(f'{x:.1f}' for x in v)})")
    seals = [_per_k(p, p.seals) for p in phases]
    lines.append(f"  seals/s per 1,000 cameras: {', '.join(f'{x:.2f}' for x in seals)}")
    for p in phases:
        lock = p.kinds.get("audit append lock")
        if lock and lock["calls"]:
            lines.append(
                f"  {p.label}: audit append lock (one chain, every seal takes it), wait per "
                f"call mean {lock['ms'] / lock['calls']:.1f} ms, max {lock['max_ms']:.0f} ms"
                f" ({lock['calls']:.0f} calls, {p.seals} seals, cameras sealing together)"
            )
    return "\n".join(lines)


def _row_bytes(p: NodesPhase) -> str:
    return f"{p.segment_row_bytes:.0f} / {p.audit_entry_bytes:.0f}"


def _calls(p: NodesPhase, kind: str) -> int:
    return int(p.kinds.get(kind, {}).get("calls", 0))


def _max_ms(p: NodesPhase, kind: str) -> float:
    return float(p.kinds.get(kind, {}).get("max_ms", 0.0))


def _lock_wait(p: NodesPhase) -> str:
    d = p.kinds.get("audit append lock")
    if not d or not d["calls"]:
        return "n/a"
    return f"{d['ms'] / d['calls']:.0f} / {d['max_ms']:.0f}"


def _per_k(p: NodesPhase, v: float) -> float:
    return v / p.window_s * 1000 / p.cameras if p.window_s else math.nan


def _f(v: Any, digits: int) -> str:
    if isinstance(v, float):
        return "n/a" if math.isnan(v) else f"{v:.{digits}f}"
    return str(v)


def part_b(args: argparse.Namespace, work: Path) -> tuple[str, list[NodesPhase]]:
    if args.cameras % args.nodes:
        raise SystemExit(f"--cameras {args.cameras} must split evenly over --nodes {args.nodes}")
    nice = args.server_nice if os.geteuid() == 0 or args.server_nice >= 0 else 0
    gen = LoadGenerator(make_clip(CACHE), work, nice)
    os.setpriority(os.PRIO_PROCESS, 0, nice)
    pg = StatsPostgres(work)
    pg.init()
    pairs: list[tuple[NodesPhase, NodesPhase]] = []
    done: list[NodesPhase] = []
    try:
        for r in range(1, args.rounds + 1):
            order = ["many", "one"] if r % 2 else ["one", "many"]
            got: dict[str, NodesPhase] = {}
            for which in order:
                n = args.nodes if which == "many" else 1
                got[which] = nodes_phase(
                    pg, gen, f"{which}-r{r}", n, args.cameras, args, work / f"r{r}"
                )
                done.append(got[which])
            pairs.append((got["many"], got["one"]))
    finally:
        gen.stop()
        pg.close()
    text_, _ = nodes_report(pairs, args) if pairs else ("(b) no complete round", [])
    return text_ + "\n" + whole_recorder_report(done), done


# ---- main -----------------------------------------------------------------------------------
def main() -> None:
    if len(sys.argv) == 6 and sys.argv[1] == "--keeper":  # one node of part (a)
        keeper_main(sys.argv[2], sys.argv[3], int(sys.argv[4]), Path(sys.argv[5]))
        return
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--parts", default="a,b", help="a: lease load; b: nodes on this machine")
    p.add_argument(
        "--lease-cameras",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[1000, 5000],
        help="camera counts, ascending (each adds cameras to the previous)",
    )
    p.add_argument("--lease-capacity", type=int, default=400)
    p.add_argument("--lease-window", type=float, default=60.0)
    p.add_argument("--nodes", type=int, default=3)
    p.add_argument("--cameras", type=int, default=300, help="(b) cameras in each phase")
    p.add_argument("--capacity", type=int, default=400, help="(b) each node's (at least N/nodes)")
    p.add_argument("--segment-seconds", type=int, default=60)
    p.add_argument("--window", type=float, default=120.0)
    p.add_argument("--warmup", type=float, default=15.0)
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--shard-cameras", type=int, default=25)
    p.add_argument("--pss-every", type=float, default=20.0)
    p.add_argument("--connect-timeout", type=float, default=180.0)
    p.add_argument("--server-nice", type=int, default=-10)
    args = p.parse_args()
    parts = set(args.parts.split(","))
    work = Path(tempfile.mkdtemp(prefix="custos-cluster-load-"))
    started = time.strftime("%Y-%m-%dT%H:%M:%S")
    header = (
        f"cluster load bench {started}: parts {sorted(parts)}, {os.cpu_count()} cores, "
        f"load {os.getloadavg()[0]:.2f}"
    )
    print(header, flush=True)
    out: dict[str, Any] = {"args": {k: str(v) for k, v in vars(args).items()}, "header": header}
    texts = [header]
    try:
        if "a" in parts:
            t, phases = part_a(args, work)
            texts.append(t)
            out["leases"] = [asdict(x) for x in phases]
            print("\n" + t, flush=True)
        if "b" in parts:
            t, nphases = part_b(args, work)
            texts.append(t)
            out["nodes"] = [asdict(x) for x in nphases]
            print("\n" + t, flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"cluster-load-{STARTED}.json"
    out["report"] = "\n\n".join(texts)
    path.write_text(json.dumps(out, indent=2, default=str))
    print(f"\nJSON: {path}")


if __name__ == "__main__":
    main()
