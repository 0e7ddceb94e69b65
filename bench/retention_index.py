"""Index lookups and purge throughput at 100 cameras × 30 days of 60-s segments (≈ 4.3 M rows).

Run (not part of the test suite):

    .venv/bin/python bench/retention_index.py --backend sqlite
    .venv/bin/python bench/retention_index.py --backend postgresql \\
        --pg-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres

What it does, in one process:

1. a fresh database (SQLite file in a temp dir, or a fresh PostgreSQL database), migrated;
   ``--cameras`` cameras registered; ``--days`` days of 60-s segment rows per camera bulk-inserted,
   ending one day *before* "now" (so exactly the oldest day is past the 30-day floor);
2. **lookup**: ``--lookups`` random (camera, instant) pairs looked up end to end through the HTTP
   API (``GET /api/v1/cameras/{id}/segments/at?t=…``, a real uvicorn server on loopback, one
   keep-alive client), against the baseline of the same lookups as bare SQL in the same process;
   p50/p99 of each and the ratio;
3. **purge**: ``RetentionService.purge()`` (garbage rows, audit entry with every hash, row
   deletion; no files exist, so the unlink step is a stat) against the baseline of a bare
   ``DELETE`` of the next day's rows; rows/s of each and the ratio.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy import create_engine, delete, insert, select, text

from custos.adapters.db.migrate import upgrade
from custos.adapters.db.recording_tables import segments
from custos.bootstrap import Container, bootstrap
from custos.config import Settings
from custos.domain.access import Role
from custos.domain.calendar import shanghai_date
from custos.domain.clock import ManualClock
from custos.domain.users import SYSTEM
from custos.entrypoints.api.app import create_app

SEGMENT_S = 60
NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def fresh_pg(url: str) -> str:
    name = f"custos_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.rsplit("/", 1)[0] + "/" + name


def register_cameras(container: Container, n: int) -> list[int]:
    from custos.entrypoints.demo.cameras import register_demo_cameras

    urls = [f"rtsp://192.0.2.{1 + i // 250}:{554 + i % 250}/bench{i}" for i in range(n)]
    on = shanghai_date(NOW - timedelta(days=40))
    return register_demo_cameras(container.registry, urls, on)


def fill(engine: object, camera_ids: list[int], days: int) -> int:
    end = NOW - timedelta(days=1)
    start = end - timedelta(days=days)
    per_camera = days * 86400 // SEGMENT_S
    total = 0
    batch: list[dict[str, object]] = []
    with engine.begin() as conn:  # type: ignore[attr-defined]
        for cid in camera_ids:
            for i in range(per_camera):
                s = start + timedelta(seconds=i * SEGMENT_S)
                batch.append(
                    {
                        "camera_id": cid, "run_id": "bench", "sequence": i,
                        "path": f"{cid}/bench/{i:06d}.mp4", "start_at": s,
                        "end_at": s + timedelta(seconds=SEGMENT_S), "duration_s": 60.0,
                        "bytes": 15_000_000, "sha256": f"{i:064x}", "codec": "h264",
                        "width": 1920, "height": 1080, "sealed_at": s + timedelta(seconds=61),
                        "adopted": False, "missing": False,
                    }
                )  # fmt: skip
                if len(batch) >= 20_000:
                    conn.execute(insert(segments), batch)
                    total += len(batch)
                    batch.clear()
        if batch:
            conn.execute(insert(segments), batch)
            total += len(batch)
    return total


def serve(app: object, port: int) -> uvicorn.Server:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))  # type: ignore[arg-type]
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--cameras", type=int, default=100)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--lookups", type=int, default=2000)
    ap.add_argument("--port", type=int, default=18765)
    args = ap.parse_args()

    data = Path(tempfile.mkdtemp(prefix="custos-bench-"))
    url = fresh_pg(args.pg_url) if args.backend == "postgresql" else None
    settings = Settings(data_dir=data, database_url=url)  # type: ignore[call-arg]
    upgrade(settings.resolved_database_url())
    clock = ManualClock(NOW)
    c = bootstrap(settings, clock)
    cams = register_cameras(c, args.cameras)
    t0 = time.perf_counter()
    rows = fill(c.engine, cams, args.days)
    fill_s = time.perf_counter() - t0
    if args.backend == "postgresql":
        with c.engine.begin() as conn:
            conn.execute(text("ANALYZE segments"))
    print(f"backend={args.backend} rows={rows:,} cameras={len(cams)} fill={fill_s:.0f}s "
          f"({rows / fill_s:,.0f} rows/s)")  # fmt: skip

    # ---- lookups ------------------------------------------------------------------------
    c.auth.create_user(SYSTEM, "bench", Role.ADMIN, "bench-password-123", None)
    # admins hold no playback permission by default: give the bench user a unit manager's
    c.auth.create_user(SYSTEM, "benchop", Role.OPERATOR, "bench-password-123", 1)
    server = serve(create_app(c), args.port)
    base = f"http://127.0.0.1:{args.port}/api/v1"
    rng = random.Random(7)
    span_start = NOW - timedelta(days=1 + args.days)
    span_s = args.days * 86400
    probes = [
        (rng.choice(cams), span_start + timedelta(seconds=rng.uniform(0, span_s)))
        for _ in range(args.lookups)
    ]
    with httpx.Client(base_url=base, timeout=30) as http:
        tok = http.post(
            "/auth/login", json={"username": "benchop", "password": "bench-password-123"}
        )
        headers = {"Authorization": f"Bearer {tok.json()['access_token']}"}
        api_ms: list[float] = []
        for cid, at in probes:
            t = time.perf_counter()
            r = http.get(
                f"/cameras/{cid}/segments/at", params={"t": at.isoformat()}, headers=headers
            )
            api_ms.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200, r.text
            assert r.json() is not None, f"no segment covers {at}"
    sql_ms: list[float] = []
    with c.engine.connect() as conn:
        for cid, at in probes:
            t = time.perf_counter()
            q = (
                select(segments)
                .where(segments.c.camera_id == cid, segments.c.start_at <= at)
                .order_by(segments.c.start_at.desc())
                .limit(1)
            )
            conn.execute(q).first()
            sql_ms.append((time.perf_counter() - t) * 1000)
    server.should_exit = True
    a50, a99 = statistics.median(api_ms), percentile(api_ms, 0.99)
    s50, s99 = statistics.median(sql_ms), percentile(sql_ms, 0.99)
    print(f"lookup via API: p50 {a50:.2f} ms  p99 {a99:.2f} ms  (target p99 <= 50 ms)")
    print(f"lookup bare SQL: p50 {s50:.3f} ms  p99 {s99:.3f} ms")
    print(f"ratio API/SQL: p50 {a50 / s50:.1f}x  p99 {a99 / s99:.1f}x")

    # ---- purge --------------------------------------------------------------------------
    t = time.perf_counter()
    report = c.retention.purge(limit_per_camera=10_000)
    purge_s = time.perf_counter() - t
    n = len(report.deleted)
    print(f"purge: {n:,} rows in {purge_s:.1f} s = {n / purge_s:,.0f} rows/s "
          f"(garbage rows, audit entry with every hash, row deletion)")  # fmt: skip
    floor_days = c.retention.policy_for(cams[0]).days
    cutoff = NOW - timedelta(days=floor_days - 1)  # the next day of footage, by bare SQL
    with c.engine.begin() as conn:
        t = time.perf_counter()
        res = conn.execute(delete(segments).where(segments.c.end_at <= cutoff))
        bare_s = time.perf_counter() - t
    bare = res.rowcount
    print(f"bare DELETE: {bare:,} rows in {bare_s:.2f} s = {bare / bare_s:,.0f} rows/s")
    print(f"ratio purge/bare (rows/s): {(n / purge_s) / (bare / bare_s):.2f}")
    c.close()


if __name__ == "__main__":
    main()
