"""GB/T 28181 ingest benchmark: N channels (2 Mbit/s PS over RTP/UDP) recorded by Custos against
N RTSP cameras recorded by Custos, one phase after the other, on the same engine, in one run; the
ratio GB / RTSP of CPU per stream. Not part of the test suite.

    .venv/bin/python -m bench.gb_ingest --cameras 100 --seconds 60
    .venv/bin/python -m bench.gb_ingest --cameras 10 --seconds 30 --engine ffmpeg

Method (``bench/ingest.py``'s, whose functions are used as they are)
--------------------------------------------------------------------
1. The clip is ``ingest.py``'s (1080p25 H.264, 2 Mbit/s, a keyframe every 50 frames, AUDs, 20 s),
   and for GB the same clip remuxed to an MPEG program stream (``ffmpeg -c copy -f mpeg``), both
   cached in ``bench/.cache/``.
2. Phase RTSP: ``ingest.py``'s Custos phase — ``rtsp_replay.py`` at nice -10 as the load
   generator, N demo cameras ``rtsp://…/custos/cam<k>``, ``custos recorder`` as a subprocess.
3. Phase GB: ``gb_replay.py`` at nice -10 is both the devices and the SIP side: it serves the
   media control socket ``<data-dir>/run/gb-media.sock`` (invite → it starts sending the PS over
   RTP to the offered port with the SSRC it answers; bye → it stops), so no ``custos serve`` runs.
   N cameras are registered through the registry service with ``gb_source`` (main stream
   ``gb28181://<device>/<channel>``, UDP), and ``custos recorder`` runs with
   ``CUSTOS_GB_ENABLED=true``: each channel goes through the GB engine (INVITE over the socket,
   the one relay thread, ``tcp://127.0.0.1`` with the ``mpeg`` demuxer) into the same engine as
   the RTSP phase (``--engine``: ``pyav`` shards, the default, or one ``ffmpeg`` per camera).
4. Each phase: wait until all N streams are sent frames, ``--warmup`` s, measure ``--seconds``,
   freeze the load generator, drain, SIGTERM (``ingest.run_phase``). Measured as ``ingest.py``
   does: CPU per stream (% of one core; the recorder's process tree, /proc), PSS per stream,
   frames lost inside segments (holes in each indexed segment's timestamps; some files also read
   by ffprobe), frames sent and not in files, segments indexed, seal delays; and here also the
   busiest threads of the Python recorder over the window (``/proc/PID/task``: the GB relay is
   one thread of that process), the load generator's CPU and lateness, the load average.
   Printed: both phases side by side, the ratio GB / RTSP (goal <= 1.2 at N = 100, 0 frames lost
   inside segments). A JSON copy goes to ``bench/results/``, the recorders' logs beside it.
5. ``--rounds R`` repeats the two phases, the order alternating (RTSP, GB, GB, RTSP, ...), and
   prints each round's ratio and their median: on a shared machine one round's phases, minutes
   apart, see different neighbours.

The relay thread alone, without a recording engine: ``bench/gb_relay_cost.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # ingest.py imports its siblings by name

import gb_ps_clip
import ingest
import ingest_procfs as procfs

from custos.bootstrap import bootstrap
from custos.domain.calendar import shanghai_date
from custos.domain.gb_media import GbSource
from custos.domain.users import SYSTEM
from custos.entrypoints.demo.cameras import (
    DEMO_CREDIT_CODE,
    DEMO_DIVISION,
    IN_SERVICE_PATH,
    demo_address_code,
    register_demo_cameras,
)
from custos.recorder.lifeline import dies_with_parent
from custos.services.registry import CameraInput, LifecycleStep, RegistryService

REPLAY = ingest.BENCH / "gb_replay.py"
TARGET_CPU_RATIO = 1.20
GB_PREFIX = "/gb"
_RELAY_LOST = re.compile(r"GB/T 28181 media: \d+ packets, (\d+) lost")


# ---- the recorder's threads -------------------------------------------------------------------
class ThreadWatch:
    """CPU of each thread of one process between :meth:`start` and :meth:`stop`."""

    def __init__(self, pid: Callable[[], int | None]) -> None:
        self._pid = pid
        self._t0 = 0.0
        self._ticks: dict[int, int] = {}
        self.busiest: list[dict[str, Any]] = []
        self.threads = 0

    def _read(self) -> dict[int, tuple[str, int]]:
        pid = self._pid()
        out: dict[int, tuple[str, int]] = {}
        if pid is None:
            return out
        for stat in Path(f"/proc/{pid}/task").glob("*/stat"):
            try:
                raw = stat.read_text()
            except OSError:  # the thread ended
                continue
            rest = raw[raw.rindex(")") + 2 :].split()  # rest[11], rest[12]: utime, stime
            comm = raw[raw.index("(") + 1 : raw.rindex(")")]
            out[int(stat.parent.name)] = (comm, int(rest[11]) + int(rest[12]))
        return out

    def start(self) -> None:
        self._t0 = time.monotonic()
        self._ticks = {tid: t for tid, (_, t) in self._read().items()}

    def stop(self) -> None:
        if not self._ticks:
            return
        wall = time.monotonic() - self._t0
        now = self._read()
        used = [
            (tid, comm, (t - self._ticks.get(tid, 0)) / procfs.CLK_TCK / wall * 100)
            for tid, (comm, t) in now.items()
        ]
        used.sort(key=lambda x: -x[2])
        self.threads = len(now)
        self.busiest = [{"tid": t, "comm": c, "cpu_core_pct": round(p, 2)} for t, c, p in used[:4]]
        self._ticks = {}


class WatchedGenerator(ingest.LoadGenerator):
    """The load generator; ``run_phase`` calls ``mark`` as its window opens and ``freeze`` as it
    closes: the recorder's threads are read then."""

    watch: ThreadWatch | None = None

    def mark(self) -> None:
        super().mark()
        if self.watch is not None:
            self.watch.start()

    def freeze(self, prefix: str) -> int:
        if self.watch is not None:
            self.watch.stop()
        return super().freeze(prefix)


class GbDevices(WatchedGenerator):
    """``gb_replay.py`` as a child process: the devices and the media control socket."""

    def __init__(self, ps: Path, sock: Path, work: Path, nice: int) -> None:
        self._work = work
        self.proc = subprocess.Popen(
            [
                *(sys.executable, str(REPLAY), "--ps", str(ps), "--socket", str(sock)),
                *("--prefix", GB_PREFIX, "--control", "--nice", str(nice)),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            preexec_fn=dies_with_parent(signal.SIGKILL),
        )
        line = self._readline()
        if not line.startswith("ready "):
            raise SystemExit(f"the GB load generator did not start: {line!r}")
        self.port = 0
        self._n = 0

    def url(self, prefix: str, k: int) -> str:
        return gb_source(k).url()


def gb_source(k: int) -> GbSource:
    """Camera k's channel: device type 118 (NVR), channel type 131 (camera), serial k."""
    return GbSource(f"{DEMO_DIVISION}0000118{k:07d}", f"{DEMO_DIVISION}0000131{k:07d}")


# ---- the GB recorder ----------------------------------------------------------------------------
def register_gb_cameras(registry: RegistryService, urls: list[str], today: Any) -> list[int]:
    """The demo unit and site, and one in-service camera per channel (placed as a channel would
    be: ``gb_source``, no typed URL)."""
    register_demo_cameras(registry, [], today)
    unit = next(u for u in registry.list_units(SYSTEM) if u.credit_code == DEMO_CREDIT_CODE)
    site = registry.list_sites(SYSTEM, unit.id)[0]
    assert site.id is not None
    ids = []
    for n, url in enumerate(urls, start=1):
        cam = registry.create_camera(
            SYSTEM,
            CameraInput(
                site_id=site.id,
                address_code=demo_address_code(n),
                name=f"GB camera {n}",
                location_categories=["shopping_mall"],
                device_type="GB/T 28181",
                history=[LifecycleStep(s, today) for s in IN_SERVICE_PATH],
                gb_source=GbSource.parse(url),
            ),
        )
        assert cam.id is not None
        ids.append(cam.id)
    return ids


class GbRecorder(ingest.CustosRecorder):
    name, prefix = "gb", GB_PREFIX

    def __init__(self, work: Path, segment_seconds: int, engine: str, shard_cameras: int) -> None:
        super().__init__(work, segment_seconds, engine, shard_cameras)
        self.env |= {
            "CUSTOS_GB_ENABLED": "true",
            "CUSTOS_GB_MEDIA_HOST": "127.0.0.1",
            "CUSTOS_GB_MEDIA_PORT_MIN": "36000",
            "CUSTOS_GB_MEDIA_PORT_MAX": "36999",
        }

    @property
    def control_socket(self) -> Path:
        return self.data / "run" / "gb-media.sock"

    def start(self, urls: list[str]) -> None:
        subprocess.run([sys.executable, "-m", "custos", "db", "upgrade"], env=self.env, check=True)
        t = time.monotonic()
        container = bootstrap(self._settings())
        try:
            ids = register_gb_cameras(
                container.registry, urls, shanghai_date(container.clock.now())
            )
        finally:
            container.close()
        self.camera_of = {cid: n for n, cid in enumerate(ids, start=1)}
        print(f"  registered {len(ids)} GB channels in {time.monotonic() - t:.1f} s", flush=True)
        argv = [sys.executable, "-m", "custos", "recorder"]
        argv += ["--segment-seconds", str(self.segment_seconds)]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                argv,
                env=self.env,
                stdout=log,
                stderr=log,
                preexec_fn=dies_with_parent(signal.SIGTERM),
            )


# ---- the phases ---------------------------------------------------------------------------------
def run_rtsp(work: Path, clip: Path, nice: int, args: argparse.Namespace) -> ingest.PhaseResult:
    here = work / "rtsp"
    here.mkdir(parents=True, exist_ok=True)
    gen = WatchedGenerator(clip, here, nice)
    rec = ingest.CustosRecorder(here, args.segment_seconds, args.engine, args.shard_cameras)
    rec.name = "rtsp"
    gen.watch = ThreadWatch(rec.supervisor_pid)
    try:
        res = ingest.run_phase(rec, gen, args.cameras, args)
    finally:
        gen.stop()
    res.details["busiest_threads"] = gen.watch.busiest
    res.details["threads"] = gen.watch.threads
    _keep_log(rec, args)
    return res


def run_gb(work: Path, ps: Path, nice: int, args: argparse.Namespace) -> ingest.PhaseResult:
    here = work / "gb"
    here.mkdir(parents=True, exist_ok=True)
    rec = GbRecorder(here, args.segment_seconds, args.engine, args.shard_cameras)
    gen = GbDevices(ps, rec.control_socket, here, nice)
    gen.watch = ThreadWatch(rec.supervisor_pid)
    try:
        res = ingest.run_phase(rec, gen, args.cameras, args)
        sessions = gen.stats()["sessions"]
    finally:
        gen.stop()
    res.details["busiest_threads"] = gen.watch.busiest
    res.details["threads"] = gen.watch.threads
    log = rec.log.read_text(errors="replace").splitlines()
    res.details["rtp_packets_sent"] = sum(s["packets_sent"] for s in sessions)
    res.details["rtp_send_errors"] = sum(s["send_errors"] for s in sessions)
    res.details["rtp_send_blocked"] = sum(s["send_blocked"] for s in sessions)
    res.details["relay_lost_packets"] = sum(
        int(m.group(1)) for x in log if (m := _RELAY_LOST.search(x))
    )
    res.details["relay_summaries"] = [x.split("; ", 1)[-1] for x in log if "ended; GB/T" in x][:3]
    res.details["invites_answered"] = sum(1 for x in log if "INVITE answered" in x)
    _keep_log(rec, args)
    return res


def _keep_log(rec: ingest.CustosRecorder, args: argparse.Namespace) -> None:
    if rec.log.exists():
        ingest.RESULTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(rec.log, ingest.RESULTS / f"gb-ingest-{args.cameras}-{rec.name}-recorder.log")
    if not args.keep:
        ingest._remove(rec.root)


# ---- the report ---------------------------------------------------------------------------------
def report(results: dict[str, ingest.PhaseResult], header: str) -> str:
    r, g = results.get("rtsp"), results.get("gb")
    names = [n for n in ("rtsp", "gb") if n in results]
    rows: list[str] = [header]
    widths = (40, 18, 18, 10)
    rows.append(
        "  ".join(x.ljust(w) for x, w in zip(["", *names, "gb/rtsp"], widths, strict=False))
    )

    def row(label: str, get: Callable[[ingest.PhaseResult], Any], ratio: bool = False) -> None:
        vals = [ingest._fmt(get(results[n])) for n in names]
        q = ""
        if ratio and r and g and get(r):
            q = f"{get(g) / get(r):.2f}"
        rows.append("  ".join(x.ljust(w) for x, w in zip([label, *vals, q], widths, strict=False)))

    row(
        "streams playing / after (s)",
        lambda x: f"{x.playing_at_start}/{x.cameras} / {x.connect_s:.1f}",
    )
    row("streams playing at the window's end", lambda x: f"{x.playing_at_end}/{x.cameras}")
    row("window (s)", lambda x: x.window_s)
    row("CPU per stream (% of a core)", lambda x: x.cpu_core_pct_per_stream, ratio=True)
    row("CPU total (% of a core)", lambda x: x.cpu_core_pct_total, ratio=True)
    row("  of which the Python recorder", lambda x: x.supervisor_cpu_core_pct, ratio=True)
    row("  busiest thread of it (% core)", lambda x: _busiest(x))
    row("PSS per stream (MB)", lambda x: x.pss_mb_per_stream, ratio=True)
    row("  of which the Python recorder (MB)", lambda x: x.supervisor_pss_mb)
    row("processes in tree", lambda x: x.processes)
    row("frames sent by the load generator", lambda x: x.frames_sent)
    row("frames in files", lambda x: x.frames_in_files)
    row("frames lost inside segments (0)", lambda x: x.frames_lost_in_segments)
    row("  cameras with a loss", lambda x: x.cameras_losing_in_segments)
    row("frames sent but not in files", lambda x: x.frames_not_in_files)
    row("sessions (reconnects = - N)", lambda x: x.sessions)
    row("segments indexed (complete)", lambda x: f"{x.segments} ({x.complete_segments})")
    row("files on disk / indexed", lambda x: f"{x.details['files_on_disk']} / {x.details['rows']}")
    row("seal delay p50/p99/max (s)", lambda x: ingest._seal_delays(x))
    row("log warnings / errors / stalls", lambda x: _log_counts(x))
    row("load generator CPU (% of a core)", lambda x: x.server_cpu_core_pct)
    row(
        "load gen. max lateness (s) / bursts",
        lambda x: f"{x.server_late_max_s:.3f} / {x.server_late_bursts}",
    )
    row("machine busy (% of all cores)", lambda x: x.machine_busy_pct)
    row(
        "load average start -> end", lambda x: f"{x.loadavg_start[0]:.2f} -> {x.loadavg_end[0]:.2f}"
    )
    if r and g and r.cpu_core_pct_per_stream:
        ratio = g.cpu_core_pct_per_stream / r.cpu_core_pct_per_stream
        met = "met" if ratio <= TARGET_CPU_RATIO else "NOT met"
        lost = "met" if g.frames_lost_in_segments == 0 else "NOT met"
        rows.append(
            f"CPU per stream GB / RTSP = {ratio:.3f}x (goal <= {TARGET_CPU_RATIO:.1f}: {met}); "
            f"0 frames lost inside GB segments: {lost}"
        )
    for n in names:
        d = {k: v for k, v in results[n].details.items() if k != "log_first_problems"}
        rows.append(f"{n} details: {json.dumps(d)}")
        problems = results[n].details.get("log_first_problems") or []
        rows += [f"  {n} log: {p[:200]}" for p in problems[:3]]
    return "\n".join(rows)


def rounds_summary(rounds: list[dict[str, ingest.PhaseResult]]) -> str:
    """Each round's CPU ratio GB / RTSP (phases minutes apart) and their median."""
    lines, ratios = [], []
    for n, phases in enumerate(rounds, start=1):
        r, g = phases.get("rtsp"), phases.get("gb")
        if not (r and g and r.cpu_core_pct_per_stream):
            continue
        ratio = g.cpu_core_pct_per_stream / r.cpu_core_pct_per_stream
        ratios.append(ratio)
        relay = g.details.get("busiest_threads") or [{"cpu_core_pct": 0.0}]
        lines.append(
            f"round {n}: CPU per stream {g.cpu_core_pct_per_stream:.3f} / "
            f"{r.cpu_core_pct_per_stream:.3f} % = {ratio:.3f}x (GB's busiest recorder thread "
            f"{relay[0]['cpu_core_pct']:.1f} % of a core); frames lost inside segments "
            f"{g.frames_lost_in_segments} / {r.frames_lost_in_segments}; load average "
            f"{r.loadavg_start[0]:.1f}-{g.loadavg_end[0]:.1f}"
        )
    if ratios:
        median = statistics.median(ratios)
        met = "met" if median <= TARGET_CPU_RATIO else "NOT met"
        lines.append(
            f"median CPU ratio GB / RTSP over {len(ratios)} rounds: {median:.3f}x "
            f"(goal <= {TARGET_CPU_RATIO:.1f}: {met})"
        )
    return "\n".join(lines)


def _busiest(x: ingest.PhaseResult) -> str:
    threads = x.details.get("busiest_threads") or []
    return f"{threads[0]['cpu_core_pct']:.1f}" if threads else "n/a"


def _log_counts(x: ingest.PhaseResult) -> str:
    d = x.details
    return f"{d.get('log_warnings')} / {d.get('log_errors')} / {d.get('log_stalled')}"


# ---- main ---------------------------------------------------------------------------------------
def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--cameras", type=int, default=100)
    p.add_argument("--seconds", type=float, default=60.0, help="measured window per phase")
    p.add_argument("--warmup", type=float, default=15.0, help="after all streams play")
    p.add_argument("--segment-seconds", type=int, default=10)
    p.add_argument("--order", default="rtsp,gb", help="phases, one after the other")
    p.add_argument(
        "--rounds", type=int, default=1, help="repeat, the order alternating; median ratio"
    )
    p.add_argument("--engine", default="pyav", choices=("pyav", "ffmpeg"))
    p.add_argument("--shard-cameras", type=int, default=25, help="cameras per shard (pyav)")
    p.add_argument("--server-nice", type=int, default=-10, help="load generators (root)")
    p.add_argument("--late-s", type=float, default=5.0, help="sealed_at - end_at counted late")
    p.add_argument("--crosscheck-every", type=int, default=25, help="ffprobe every k-th file")
    p.add_argument("--pss-every", type=float, default=20.0)
    p.add_argument("--connect-timeout", type=float, default=180.0)
    p.add_argument("--work-dir", type=Path, default=None, help="default: a new temp directory")
    p.add_argument("--keep", action="store_true", help="keep the recordings")
    args = p.parse_args(argv)
    if not 1 <= args.cameras <= 1000 or not 5 <= args.seconds <= 3600 or not 1 <= args.rounds <= 20:
        p.error("--cameras 1..1000, --seconds 5..3600, --rounds 1..20")
    if set(args.order.split(",")) - {"rtsp", "gb"}:
        p.error("--order: rtsp and gb")
    return args


def main(argv: list[str]) -> None:
    args = parse(argv)
    for tool in ("ffmpeg", "ffprobe"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is needed")
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="custos-gb-ingest-"))
    work.mkdir(parents=True, exist_ok=True)
    clip = ingest.make_clip(ingest.CACHE)
    ps = gb_ps_clip.make_ps(clip, ingest.FPS)
    nice = args.server_nice if os.geteuid() == 0 or args.server_nice >= 0 else 0
    os.setpriority(os.PRIO_PROCESS, 0, nice)  # reading /proc on a saturated machine
    load = procfs.loadavg()
    header = (
        f"GB ingest bench {time.strftime('%Y-%m-%dT%H:%M:%S')}: N={args.cameras}, window "
        f"{args.seconds:.0f} s, segments {args.segment_seconds} s, clip {clip.name} (+ .ps), "
        f"{os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at the "
        f"start, engine {args.engine} ({args.shard_cameras} cameras per shard), phases "
        f"{args.order} (one after the other), load generators nice {nice}, work dir {work}"
    )
    print(header, flush=True)
    results: dict[str, ingest.PhaseResult] = {}
    rounds: list[dict[str, ingest.PhaseResult]] = []
    order = args.order.split(",")
    for r in range(args.rounds):
        here = work / f"round{r + 1}"
        if r:
            print(f"---- round {r + 1} of {args.rounds}", flush=True)
        rounds.append({})
        for name in order if r % 2 == 0 else order[::-1]:  # alternating: drift cancels out
            if name == "rtsp":
                results[name] = run_rtsp(here, clip, nice, args)
            else:
                results[name] = run_gb(here, ps, nice, args)
            rounds[-1][name] = results[name]
        if r + 1 < args.rounds:
            print(report(results, f"round {r + 1}"), flush=True)
    text = report(results, header)
    print()
    print(text)
    if args.rounds > 1:
        print()
        print(rounds_summary(rounds))
    ingest.RESULTS.mkdir(parents=True, exist_ok=True)
    out = ingest.RESULTS / f"gb-ingest-{args.cameras}-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.write_text(
        json.dumps(
            {"args": {k: str(v) for k, v in vars(args).items()}, "header": header}
            | {k: asdict(v) for k, v in results.items()}
            | {"rounds": [{k: asdict(v) for k, v in r.items()} for r in rounds]},
            indent=2,
        )
    )
    print(f"\nJSON: {out}")
    if not args.keep:
        ingest._remove(work)


if __name__ == "__main__":
    main(sys.argv[1:])
