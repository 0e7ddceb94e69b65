"""What the cluster benchmarks (``cluster_failover.py``, ``cluster_load.py``) share: a private
PostgreSQL that counts statements, recorder nodes as processes, camera registration, waiting and
percentiles. Built on the failure tests' parts (``tests/integration/cluster/support.py``) and the
ingest bench's load generator and /proc readings (``ingest.py``, ``ingest_procfs.py``).
"""

from __future__ import annotations

import logging
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
for p in (str(BENCH), str(ROOT)):  # ingest.py imports its siblings by name; tests.* from the root
    if p not in sys.path:
        sys.path.insert(0, p)

import ingest_procfs as procfs  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from tests.integration.cluster.support import (  # noqa: E402
    CLUSTER_SECRET,
    NodeProcess,
    PrivatePostgres,
)

from custos.adapters.db.migrate import upgrade  # noqa: E402
from custos.bootstrap import bootstrap  # noqa: E402
from custos.config import Settings  # noqa: E402
from custos.domain.calendar import shanghai_date  # noqa: E402
from custos.entrypoints.demo.cameras import register_demo_cameras  # noqa: E402
from custos.recorder.lifeline import dies_with_parent  # noqa: E402

RESULTS = BENCH / "results"
logging.getLogger("alembic").setLevel(logging.WARNING)  # one line per migration, 26 of them
NODE_ROLE = "custos_node"  # the nodes' statements are told apart from the bench's by this role


def wait_for(check: Callable[[], bool], timeout_s: float, what: str, step_s: float = 0.25) -> float:
    """Seconds until ``check()``; a clear exit naming ``what`` after ``timeout_s``."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout_s:
            raise SystemExit(f"not within {timeout_s:.0f} s: {what}")
        time.sleep(step_s)
    return time.monotonic() - start


def pct(values: Iterable[float], p: float) -> float:
    """The ``p``-th percentile, nearest rank (NaN for no values)."""
    v = sorted(values)
    if not v:
        return math.nan
    return v[min(len(v) - 1, max(0, math.ceil(len(v) * p / 100) - 1))]


def spread(values: Iterable[float]) -> str:
    v = list(values)
    return f"{pct(v, 50):.2f} / {pct(v, 99):.2f} / {max(v, default=math.nan):.2f}"


class StatsPostgres(PrivatePostgres):
    """The failure tests' private PostgreSQL with ``pg_stat_statements`` loaded (Debian's server
    package has it), ``track_utility`` on (BEGIN and COMMIT are counted too), room for a few
    hundred connections, and a login role for the nodes."""

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all"
            " -c pg_stat_statements.track_utility=on -c pg_stat_statements.max=10000"
            " -c max_connections=500"
        )
        self._run("pg_ctl", "-D", str(self.dir), "-l", str(self.log), "-o", options, "-w", "start")

    def init(self) -> None:
        super().init()
        e = create_engine(self.url, isolation_level="AUTOCOMMIT")
        with e.connect() as c:
            c.execute(text("CREATE EXTENSION IF NOT EXISTS pg_stat_statements"))
            c.execute(text(f"CREATE ROLE {NODE_ROLE} LOGIN SUPERUSER"))
        e.dispose()

    def db_url(self, db: str, user: str = "postgres") -> str:
        return f"postgresql+psycopg://{user}@127.0.0.1:{self.port}/{db}"

    def create_db(self, db: str) -> str:
        """A fresh database migrated to head; its URL (as postgres)."""
        e = create_engine(self.url, isolation_level="AUTOCOMMIT")
        with e.connect() as c:
            c.execute(text(f'CREATE DATABASE "{db}"'))
        e.dispose()
        url = self.db_url(db)
        upgrade(url)
        return url

    def server_pids(self) -> list[int]:
        pid_file = self.dir / "postmaster.pid"
        try:
            master = int(pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return []
        return [p.pid for p in procfs.tree(master)]

    def cpu_seconds(self) -> float:
        stats = procfs.all_stats()
        pids = set(self.server_pids())
        return procfs.cpu_seconds(s for p, s in stats.items() if p in pids)


@dataclass
class StatementSnapshot:
    """What the nodes' role ran between a reset and now (``pg_stat_statements``), the WAL the
    whole server wrote, and the committed transactions of one database."""

    statements: list[dict[str, Any]]
    wal_bytes: int
    commits: int

    @property
    def calls(self) -> int:
        return sum(s["calls"] for s in self.statements)

    def calls_where(self, keep: Callable[[str], bool]) -> int:
        return sum(s["calls"] for s in self.statements if keep(s["query"]))


class StatementCounter:
    def __init__(self, pg: StatsPostgres, db: str) -> None:
        self._engine = create_engine(pg.url, isolation_level="AUTOCOMMIT")
        self._db = db
        self._wal0 = self._commits0 = 0

    def _wal_commits(self) -> tuple[int, int]:
        with self._engine.connect() as c:
            wal = int(c.execute(text("SELECT wal_bytes FROM pg_stat_wal")).scalar_one())
            commits = c.execute(
                text("SELECT xact_commit FROM pg_stat_database WHERE datname = :d"),
                {"d": self._db},
            ).scalar_one()
        return wal, int(commits)

    def reset(self) -> None:
        with self._engine.connect() as c:
            c.execute(text("SELECT pg_stat_statements_reset()"))
        self._wal0, self._commits0 = self._wal_commits()

    def snapshot(self) -> StatementSnapshot:
        with self._engine.connect() as c:
            rows = c.execute(
                text(
                    "SELECT s.query, s.calls, s.rows, s.total_exec_time, s.max_exec_time"
                    " FROM pg_stat_statements s"
                    " JOIN pg_roles r ON r.oid = s.userid JOIN pg_database d ON d.oid = s.dbid"
                    " WHERE r.rolname = :role AND d.datname = :db ORDER BY s.calls DESC"
                ),
                {"role": NODE_ROLE, "db": self._db},
            ).mappings()
            statements = [dict(r) for r in rows]
        wal, commits = self._wal_commits()
        return StatementSnapshot(statements, wal - self._wal0, commits - self._commits0)

    def close(self) -> None:
        self._engine.dispose()


def statement_kind(query: str) -> str:
    """A short name for a statement of the recorder's (what the reports group by)."""
    q = " ".join(query.split()).lower()
    rules = [
        ("begin", "BEGIN"),
        ("commit", "COMMIT"),
        ("rollback", "ROLLBACK"),
        ("select $1", "pool ping (SELECT 1)"),
        ("update recorder_nodes set heartbeat_at", "heartbeat"),
        ("update camera_leases set expires_at", "renew"),
        ("insert into camera_leases", "ensure lease rows"),
        ("from recorder_nodes", "live nodes"),
        ("from camera_leases where camera_id = any", "claim: free leases"),
        ("update camera_leases set holder = $", "claim: grant"),
        ("insert into camera_lease_terms", "claim: term"),
        ("update camera_leases set releasing", "mark releasing"),
        ("update camera_leases set holder = null", "release"),
        ("from cameras", "registry read"),
        ("camera_lifecycle", "registry read"),
        ("camera_health", "health"),
        ("insert into segments", "seal: segment row"),
        ("recording_gaps", "gaps"),
        ("pg_advisory_xact_lock", "audit append lock"),
        ("audit", "audit log"),
        ("from sites", "sites"),
        ("camera_leases", "fence: lease token"),
        ("camera_lease_terms", "fence: term"),
        ("segments", "segments (other)"),
        ("alarms", "alarms"),
    ]
    for needle, kind in rules:
        if needle in q:
            return kind
    return q[:60]


def by_kind(snap: StatementSnapshot) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for s in snap.statements:
        k = statement_kind(str(s["query"]))
        d = out.setdefault(k, {"calls": 0.0, "rows": 0.0, "ms": 0.0, "max_ms": 0.0})
        d["calls"] += s["calls"]
        d["rows"] += s["rows"]
        d["ms"] += s["total_exec_time"]
        d["max_ms"] = max(d["max_ms"], s["max_exec_time"])
    return dict(sorted(out.items(), key=lambda kv: -kv[1]["calls"]))


class BenchNode(NodeProcess):
    """``custos recorder --node NAME`` as the failure tests start it, with a chosen capacity
    and engine, dying with this bench (a bench killed by Ctrl-C leaves no recorder behind)."""

    def __init__(
        self,
        name: str,
        root: Path,
        database_url: str,
        segment_s: int,
        capacity: int,
        engine: str = "pyav",
        shard_cameras: int = 25,
    ) -> None:
        super().__init__(name, root, database_url, segment_s)
        self.capacity = capacity
        self.engine = engine
        self.shard_cameras = shard_cameras

    def start(self) -> None:
        env = os.environ | {
            "CUSTOS_DATA_DIR": str(self.data_dir),
            "CUSTOS_DATABASE_URL": self.database_url,
            "CUSTOS_RECORDER_METRICS_PORT": "0",
            "CUSTOS_CLUSTER_SECRET": CLUSTER_SECRET,
            "CUSTOS_RECORDER_ENGINE": self.engine,
            "CUSTOS_RECORDER_SHARD_CAMERAS": str(self.shard_cameras),
        }
        env.pop("CUSTOS_MEDIA_DIR", None)
        argv = [sys.executable, "-m", "custos", "recorder", "--node", self.name]
        argv += ["--segment-seconds", str(self.segment_s), "--capacity", str(self.capacity)]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                argv, env=env, stdout=log, stderr=log, preexec_fn=dies_with_parent(signal.SIGKILL)
            )

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def tree(self) -> list[procfs.ProcStat]:
        return procfs.tree(self.proc.pid) if self.alive() and self.proc else []


def register(database_url: str, urls: list[str]) -> list[int]:
    """Cameras in service with these URLs (the demo registration); their ids."""
    data = Path(tempfile.mkdtemp(prefix="custos-bench-admin-"))
    c = bootstrap(Settings(data_dir=data, database_url=database_url))
    try:
        return register_demo_cameras(c.registry, urls, shanghai_date(c.clock.now()))
    finally:
        c.close()
