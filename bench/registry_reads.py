"""The recorder node's registry reads and the offload's backlog reads, before and after the narrow
reads of docs/design/cluster.md ("Reading less at 10,000 cameras"), on one PostgreSQL.

A private database on the server at ``CUSTOS_TEST_POSTGRES_URL`` (dropped at the end):
``--cameras`` cameras with credentials in their stream URLs (each with its lifecycle steps, as
the registry writes them) and ``--segments`` segment rows spread over ``--nodes`` nodes, all
offloaded but ``--backlog`` of them. Each read is repeated ``--rounds`` times; the median is
reported: wall time and this process's CPU time per call, the time spent in its statements
(cursor execute to return: the server plus the transfer), the statements and the rows they
returned.

- keeper, before: ``[t.camera_id for t in targets()]`` (every camera, every URL opened);
  after: ``camera_ids_to_record()``.
- supervisor, before: ``targets()``; after: ``targets(camera_ids=…)`` of one node's share.
- offload lag and candidates, before: the anti-join of ``segments`` with ``segment_objects``;
  after: the partial index of the backlog (migration 0027).

Run: ``.venv/bin/python -m bench.registry_reads --cameras 2000``
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.engine import Engine, make_url

from custos.adapters.db import object_tables as ot
from custos.adapters.db import recording_tables as rt
from custos.adapters.db.cluster_status_repositories import _offload
from custos.adapters.db.migrate import upgrade
from custos.bootstrap import Container, bootstrap
from custos.config import Settings
from custos.domain.calendar import shanghai_date
from custos.domain.kinds import LifecycleState
from custos.domain.registry import Camera, LifecycleEvent, Signage
from custos.domain.stream_url import StreamUrl
from custos.entrypoints.demo.cameras import IN_SERVICE_PATH, register_demo_cameras

ADMIN_URL = os.environ.get(
    "CUSTOS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@dataclass
class Tally:
    statements: int = 0
    rows: int = 0
    seconds: float = 0.0
    _started: float = field(default=0.0, repr=False)

    def before(self, *_: Any) -> None:
        self._started = time.perf_counter()

    def after(self, _conn: Any, cursor: Any, *_: Any) -> None:
        self.seconds += time.perf_counter() - self._started
        self.statements += 1
        self.rows += max(cursor.rowcount, 0)


def measure(engine: Engine, read: Callable[[], object], rounds: int) -> dict[str, float]:
    read()  # warm: the pool's connection, the server's caches
    walls, cpus, stmt_s, stmts, rows = [], [], [], [], []
    for _ in range(rounds):
        t = Tally()
        event.listen(engine, "before_cursor_execute", t.before)
        event.listen(engine, "after_cursor_execute", t.after)
        w0, c0 = time.perf_counter(), time.process_time()
        try:
            read()
        finally:
            event.remove(engine, "before_cursor_execute", t.before)
            event.remove(engine, "after_cursor_execute", t.after)
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
        stmt_s.append(t.seconds)
        stmts.append(t.statements)
        rows.append(t.rows)
    med = statistics.median
    return {"wall_ms": med(walls) * 1e3, "cpu_ms": med(cpus) * 1e3,
            "stmt_ms": med(stmt_s) * 1e3, "statements": med(stmts), "rows": med(rows)}  # fmt: skip


def add_cameras(c: Container, n: int) -> list[int]:
    """``n`` in-service cameras with credentials, written through the repository in one
    transaction (the registry service would audit each: minutes, and not what is measured)."""
    (first,) = register_demo_cameras(c.registry, ["rtsp://u:p@10.0.0.1/0"], shanghai_date(c.clock.now()))  # fmt: skip
    with c.uow() as uow:
        proto = uow.cameras.get(first)
        assert proto is not None
        now = c.clock.now()
        steps = [LifecycleEvent(s, shanghai_date(now), now) for s in IN_SERVICE_PATH]
        ids = [first]
        for i in range(1, n):
            cam = Camera(
                None, proto.site_id, f"B{i:019d}", f"bench {i}", "dome", "m", "m", "p", "f",
                [], False, False, Signage(False, None, None),
                StreamUrl.parse(f"rtsp://admin:secret{i}@10.0.{i // 250}.{i % 250}/main", "url"),
                None, None, lifecycle=list(steps),
            )  # fmt: skip
            if i % 10 == 0:  # some out of service: the rule, not only the rows, is read
                cam.lifecycle.append(
                    LifecycleEvent(LifecycleState.REMOVED, shanghai_date(now), now)
                )
            ids.append(uow.cameras.add(cam).id or 0)
        uow.commit()
    return ids


def add_segments(engine: Engine, cameras: list[int], n: int, nodes: int, backlog: int) -> None:
    """``n`` segment rows over the cameras and nodes; all but the newest ``backlog`` have an
    object (``segment_objects``) and the flag of 0027."""
    with engine.begin() as conn:
        conn.execute(text("CREATE TEMP TABLE cams AS SELECT unnest(CAST(:ids AS int[])) AS id, "
                          "generate_series(0, :k - 1) AS k"), {"ids": cameras, "k": len(cameras)})  # fmt: skip
        conn.execute(
            text(
                "INSERT INTO segments (camera_id, run_id, sequence, path, start_at, end_at, "
                "duration_s, bytes, sha256, codec, sealed_at, adopted, missing, node, "
                "fencing_token, offloaded) "
                "SELECT c.id, 'run', g, 'b/' || g, now() - (:n - g) * interval '1 second', "
                "now() - (:n - g) * interval '1 second' + interval '60 s', 60, 1, 'h', "
                "'h264', now(), false, false, 'node-' || (g % :nodes), 1, g < :n - :backlog "
                "FROM generate_series(0, :n - 1) g JOIN cams c ON c.k = g % :k"
            ),
            {"n": n, "nodes": nodes, "backlog": backlog, "k": len(cameras)},
        )
        conn.execute(text("INSERT INTO segment_objects (segment_id, key, sha256, bytes, "
                          "uploaded_at) SELECT id, 'k/' || id, 'h', 1, now() FROM segments "
                          "WHERE offloaded"))  # fmt: skip
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE segments"))
        conn.execute(text("VACUUM ANALYZE segment_objects"))


def anti_join_lag(engine: Engine) -> list[Any]:
    s, o = rt.segments, ot.segment_objects
    q = (
        select(s.c.node, func.count(), func.min(s.c.end_at))
        .select_from(s.outerjoin(o, o.c.segment_id == s.c.id))
        .where(o.c.segment_id.is_(None), s.c.missing.is_(False))
        .group_by(s.c.node)
    )
    with engine.connect() as conn:
        return list(conn.execute(q))


def anti_join_candidates(engine: Engine, node: str) -> list[Any]:
    s, o = rt.segments, ot.segment_objects
    q = (
        select(s)
        .select_from(s.outerjoin(o, o.c.segment_id == s.c.id))
        .where(o.c.segment_id.is_(None), s.c.missing.is_(False), s.c.node == node)
        .order_by(s.c.id)
        .limit(100)
    )
    with engine.connect() as conn:
        return list(conn.execute(q))


def run(args: argparse.Namespace, url: str, work: Path) -> None:
    c = bootstrap(Settings(data_dir=work, database_url=url))
    try:
        t0 = time.monotonic()
        cameras = add_cameras(c, args.cameras)
        print(f"{len(cameras)} cameras in {time.monotonic() - t0:.1f} s", flush=True)
        held = set(c.recording.camera_ids_to_record()[: args.cameras // args.nodes])
        rec = c.recording
        reads: dict[str, Callable[[], object]] = {
            "keeper, before: targets() ids": lambda: [t.camera_id for t in rec.targets()],
            "keeper, after: camera_ids_to_record()": rec.camera_ids_to_record,
            "supervisor, before: targets()": rec.targets,
            f"supervisor, after: targets({len(held)} held)": lambda: rec.targets(held),
        }
        if args.segments:
            t0 = time.monotonic()
            add_segments(c.engine, cameras, args.segments, args.nodes, args.backlog)
            print(f"{args.segments} segments in {time.monotonic() - t0:.1f} s", flush=True)

            def lag() -> object:
                with c.engine.connect() as conn:
                    return _offload(conn)

            def candidates() -> object:
                with c.uow() as uow:
                    return uow.segment_objects.pending(100, node="node-1")

            assert sorted(map(tuple, anti_join_lag(c.engine))) == sorted(
                (r.node, r.pending, r.oldest_end_at)
                for r in lag()  # type: ignore[attr-defined]
            )
            reads |= {
                "offload lag, before: anti-join": lambda: anti_join_lag(c.engine),
                "offload lag, after: partial index": lag,
                "candidates, before: anti-join": lambda: anti_join_candidates(c.engine, "node-1"),
                "candidates, after: partial index": candidates,
            }
        print(
            f"\n{'read':<44} {'wall ms':>9} {'cpu ms':>8} {'stmt ms':>8} {'stmts':>6} {'rows':>7}"
        )
        for name, read in reads.items():
            rounds = args.rounds if "before: anti" not in name else max(3, args.rounds // 4)
            m = measure(c.engine, read, rounds)
            print(f"{name:<44} {m['wall_ms']:9.2f} {m['cpu_ms']:8.2f} {m['stmt_ms']:8.2f} "
                  f"{m['statements']:6.0f} {m['rows']:7.0f}", flush=True)  # fmt: skip
    finally:
        c.close()


def main() -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--cameras", type=int, default=2000)
    p.add_argument("--nodes", type=int, default=5, help="one node's share is cameras/nodes")
    p.add_argument("--segments", type=int, default=300_000)
    p.add_argument("--backlog", type=int, default=1000)
    p.add_argument("--rounds", type=int, default=20)
    args = p.parse_args()
    admin = create_engine(make_url(ADMIN_URL), isolation_level="AUTOCOMMIT")
    name = f"custos_bench_reads_{secrets.token_hex(4)}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        with TemporaryDirectory() as work:
            run(args, url, Path(work))
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
