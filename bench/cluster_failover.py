"""Failover benchmark: 3 recorder nodes, K cameras, one node killed with SIGKILL again and again;
how long each of its cameras goes unrecorded. Not part of the test suite.

    .venv/bin/python bench/cluster_failover.py                         # 60 cameras, 20 kills
    .venv/bin/python bench/cluster_failover.py --cameras 12 --kills 3 --graceful 1   # quick

Method (the failure test ``test_a_killed_nodes_cameras_are_recorded_again...`` at scale):

1. A private PostgreSQL (``tests/integration/cluster/support.py``), migrated; K cameras
   registered in service, served by ``bench/rtsp_replay.py`` (``ingest.py``'s clip: 1080p25,
   2 Mbit/s, a keyframe every 2 s; one live broadcast, each client starting at a keyframe).
2. Three ``custos recorder --node`` processes (node-a, -b, -c; pyav shards; ``--segment-seconds``
   10 by default, as the failure tests) with equal capacity. Wait until each holds its share and
   every camera has an indexed segment.
3. The baseline, in the same run: ``--graceful`` times, one node gets SIGTERM (it seals what is
   in flight and hands its leases over); then the kills: ``--kills`` times, one node (node-a,
   -b, -c in turn) gets SIGKILL. For each stop, for each camera the node held:
   - *lease*: stop → the successor's grant (``camera_lease_terms.granted_at``, PostgreSQL's
     clock, the same host clock as the bench's);
   - *recorded again*: stop → ``start_at`` of the first indexed segment of another node (what
     the failure test asserts ≤ 15 s);
   - *lost*: stop − the end of the node's last indexed segment that ended by stop + 5 s, read
     after the node is restarted (it adopts what it had in flight, or quarantines a torn file);
     the footage recorded before the stop that is not kept;
   - *hole*: the successor's first ``start_at`` − that end: the whole gap in the index.
   Then the node is started again; the bench waits until the cameras are spread again (no lease
   ``releasing``, the restarted node holds its share) and every camera has a segment that ends
   after that, before the next stop.
4. At the end: indexed segments of one camera from two runs that overlap (must be 0), refused
   segments, ``node_lost`` gap rows per kill. p50/p99/max over all (camera, stop) pairs; the
   kill's figures as ratios to the graceful stop's. A JSON copy goes to ``bench/results/``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cluster_bench import (
    RESULTS,
    BenchNode,
    pct,
    register,
    spread,
    wait_for,
)
from ingest import CACHE, LoadGenerator, make_clip, wait_all_playing
from tests.integration.cluster.support import Index, PrivatePostgres

from custos.adapters.db.migrate import upgrade

FAILOVER_BOUND_S = 15.0  # docs/design/cluster.md: TTL 10 s + a claim poll 2 s + a start
PREFIX = "/fo"


@dataclass
class Stop:
    kind: str  # "kill" (SIGKILL) or "term" (SIGTERM, the baseline)
    victim: str
    at: str
    cameras: int
    lease_s: list[float] = field(default_factory=list)
    recorded_again_s: list[float] = field(default_factory=list)
    lost_s: list[float] = field(default_factory=list)
    hole_s: list[float] = field(default_factory=list)
    no_kept_segment: int = 0  # cameras without a segment of the victim before the stop
    node_lost_gaps: int = 0
    back_in_s: float = 0.0  # restart → spread again and every camera recording


def _balanced(index: Index, ids: list[int], names: set[str], victim: str, floor_: int) -> bool:
    rows = index.rows("SELECT camera_id, holder, releasing FROM camera_leases")
    held = {int(c): h for c, h, _ in rows}
    if any(r for _, _, r in rows) or not all(held.get(c) in names for c in ids):
        return False
    return list(held.values()).count(victim) >= floor_


def _recording_since(index: Index, ids: list[int], since: datetime) -> bool:
    rows = index.rows("SELECT DISTINCT camera_id FROM segments WHERE end_at >= :t", t=since)
    return {int(r[0]) for r in rows} >= set(ids)


def _wait_spread(index: Index, ids: list[int], ns: list[BenchNode], victim: str) -> None:
    names = {n.name for n in ns}
    wait_for(
        lambda: _balanced(index, ids, names, victim, len(ids) // len(ns)),
        120,
        f"cameras spread over {sorted(names)} with {victim} holding its share",
    )
    since = datetime.now(UTC)
    wait_for(
        lambda: _recording_since(index, ids, since),
        120,
        "every camera indexed a segment after the spread",
        0.5,
    )


def one_stop(
    index: Index, ids: list[int], ns: list[BenchNode], victim: BenchNode, kind: str
) -> Stop:
    theirs = sorted(c for c, h in index.holders().items() if h == victim.name)
    at = datetime.now(UTC)
    if kind == "kill":
        victim.kill()
    else:
        victim.stop()
    stop = Stop(kind, victim.name, at.isoformat(), len(theirs))
    others = {n.name for n in ns} - {victim.name}
    wait_for(
        lambda: all(index.holders().get(c) in others for c in theirs),
        60,
        f"{victim.name}'s cameras leased by the others",
    )
    wait_for(
        lambda: (
            {
                int(r[0])
                for r in index.rows(
                    "SELECT DISTINCT camera_id FROM segments WHERE node <> :v AND start_at >= :k",
                    v=victim.name,
                    k=at,
                )
            }
            >= set(theirs)
        ),
        120,
        f"{victim.name}'s cameras indexed by the others",
        0.5,
    )
    first = dict(
        index.rows(
            "SELECT camera_id, min(start_at) FROM segments WHERE node <> :v AND start_at >= :k"
            " GROUP BY camera_id",
            v=victim.name,
            k=at,
        )
    )
    granted = dict(
        index.rows(
            "SELECT camera_id, min(granted_at) FROM camera_lease_terms WHERE holder <> :v"
            " AND granted_at >= :k GROUP BY camera_id",
            v=victim.name,
            k=at,
        )
    )
    stop.node_lost_gaps = int(
        index.rows(
            "SELECT count(*) FROM recording_gaps WHERE reason = 'node_lost'"
            " AND camera_id = ANY(:t) AND start_at > :k - interval '1 minute'"
            " AND detail LIKE :v",
            t=theirs,
            k=at,
            v=f"%{victim.name}%",
        )[0][0]
    )
    restarted = time.monotonic()
    victim.start()  # it reconciles (adopts what was in flight) before it claims anything
    _wait_spread(index, ids, ns, victim.name)
    stop.back_in_s = time.monotonic() - restarted
    kept = dict(
        index.rows(
            "SELECT camera_id, max(end_at) FROM segments WHERE node = :v AND end_at <= :k"
            " + interval '5 seconds' GROUP BY camera_id",
            v=victim.name,
            k=at,
        )
    )
    for c in theirs:
        stop.lease_s.append((granted[c] - at).total_seconds())
        stop.recorded_again_s.append((first[c] - at).total_seconds())
        if c in kept:
            stop.lost_s.append((at - kept[c]).total_seconds())
            stop.hole_s.append((first[c] - kept[c]).total_seconds())
        else:
            stop.no_kept_segment += 1
    return stop


def _all(stops: list[Stop], kind: str, attr: str) -> list[float]:
    return [v for s in stops if s.kind == kind for v in getattr(s, attr)]


def report(stops: list[Stop], header: str, overlaps: int, refused: int) -> str:
    lines = [header, ""]
    kills = [s for s in stops if s.kind == "kill"]
    terms = [s for s in stops if s.kind == "term"]
    n_k = sum(s.cameras for s in kills)
    n_t = sum(s.cameras for s in terms)
    lines.append(
        f"{len(kills)} kills ({n_k} camera failovers), {len(terms)} graceful stops "
        f"({n_t} hand-overs), the baseline"
    )
    w = [34, 26, 26, 14]
    head = ["seconds, p50 / p99 / max", "kill -9", "SIGTERM (baseline)", "p50 ratio"]
    lines.append("  ".join(h.ljust(x) for h, x in zip(head, w, strict=True)))
    for label, attr in (
        ("stop -> lease granted", "lease_s"),
        ("stop -> recorded again (1st seg.)", "recorded_again_s"),
        ("footage lost before the stop", "lost_s"),
        ("hole in the index", "hole_s"),
    ):
        k, t = _all(stops, "kill", attr), _all(stops, "term", attr)
        ratio = pct(k, 50) / pct(t, 50) if t and pct(t, 50) > 0 else math.nan
        cells = [
            label,
            spread(k) if k else "n/a",
            spread(t) if t else "n/a",
            "n/a" if math.isnan(ratio) else f"{ratio:.2f}",
        ]
        lines.append("  ".join(c.ljust(x) for c, x in zip(cells, w, strict=True)))
    again = _all(stops, "kill", "recorded_again_s")
    within = sum(1 for v in again if v <= FAILOVER_BOUND_S)
    lines.append(
        f"kill -9: recorded again within {FAILOVER_BOUND_S:.0f} s: {within}/{len(again)}; "
        f"node_lost gap rows: {sum(s.node_lost_gaps for s in kills)}/{n_k}; cameras with no "
        f"kept segment of the victim: {sum(s.no_kept_segment for s in kills)}"
    )
    per_kill = [
        f"{s.victim}: {s.cameras} cams, again max {max(s.recorded_again_s):.1f} s, "
        f"lost max {max(s.lost_s, default=math.nan):.1f} s, back in {s.back_in_s:.0f} s"
        for s in kills
    ]
    lines.append("per kill: " + "; ".join(per_kill))
    lines.append(
        f"overlapping indexed segments (must be 0): {overlaps}; refused segments: {refused}"
    )
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--cameras", type=int, default=60)
    p.add_argument("--kills", type=int, default=20)
    p.add_argument("--graceful", type=int, default=3, help="SIGTERM stops first (the baseline)")
    p.add_argument("--segment-seconds", type=int, default=10)
    p.add_argument("--capacity", type=int, default=400, help="each node's, all equal")
    p.add_argument("--server-nice", type=int, default=-10)
    p.add_argument("--work-dir", type=Path, default=None)
    p.add_argument("--keep", action="store_true")
    args = p.parse_args()
    if args.cameras < 3 or args.kills < 1 or args.graceful < 0:
        raise SystemExit("--cameras >= 3, --kills >= 1, --graceful >= 0")
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="custos-failover-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.strftime("%Y-%m-%dT%H:%M:%S")
    header = (
        f"cluster failover bench {started}: 3 nodes, {args.cameras} cameras, "
        f"{args.graceful} SIGTERM + {args.kills} SIGKILL, segments {args.segment_seconds} s, "
        f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}"
    )
    print(header, flush=True)
    nice = args.server_nice if os.geteuid() == 0 or args.server_nice >= 0 else 0
    gen = LoadGenerator(make_clip(CACHE), work, nice)
    pg = PrivatePostgres(work)
    pg.init()
    upgrade(pg.url)
    index = Index(pg.url)
    ns: list[BenchNode] = []
    stops: list[Stop] = []
    overlaps = refused = -1
    try:
        urls = [gen.url(PREFIX, k) for k in range(1, args.cameras + 1)]
        ids = register(pg.url, urls)
        ns = [
            BenchNode(f"node-{x}", work / "nodes", pg.url, args.segment_seconds, args.capacity)
            for x in "abc"
        ]
        for n in ns:
            n.start()
        waited, playing = wait_all_playing(
            gen, PREFIX, args.cameras, 180, lambda: all(n.alive() for n in ns)
        )
        print(f"{playing}/{args.cameras} playing after {waited:.1f} s", flush=True)
        _wait_spread(index, ids, ns, "node-a")
        plan = ["term"] * args.graceful + ["kill"] * args.kills
        for i, kind in enumerate(plan):
            victim = ns[i % len(ns)]
            s = one_stop(index, ids, ns, victim, kind)
            stops.append(s)
            print(
                f"[{i + 1}/{len(plan)}] {kind} {s.victim}: {s.cameras} cameras, lease "
                f"{spread(s.lease_s)}, recorded again {spread(s.recorded_again_s)}, lost "
                f"{spread(s.lost_s) if s.lost_s else 'n/a'}, hole "
                f"{spread(s.hole_s) if s.hole_s else 'n/a'} s (p50/p99/max); back in "
                f"{s.back_in_s:.0f} s; load {os.getloadavg()[0]:.2f}",
                flush=True,
            )
        overlaps = len(index.overlapping())
        refused = int(index.rows("SELECT count(*) FROM refused_segments")[0][0])
    finally:
        for n in ns:
            n.stop()
        gen.stop()
        text_ = report(stops, header, overlaps, refused)
        print("\n" + text_)
        RESULTS.mkdir(parents=True, exist_ok=True)
        out = RESULTS / f"cluster-failover-{args.cameras}-{time.strftime('%Y%m%dT%H%M%S')}.json"
        out.write_text(
            json.dumps(
                {
                    "args": {k: str(v) for k, v in vars(args).items()},
                    "header": header,
                    "stops": [asdict(s) for s in stops],
                    "overlapping": overlaps,
                    "refused": refused,
                    "report": text_,
                },
                indent=2,
            )
        )
        print(f"JSON: {out}")
        for n in ns:  # the nodes' logs beside it
            if n.log.exists():
                shutil.copy(n.log, out.with_suffix(f".{n.name}.log"))
        index.close()
        pg.close()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
