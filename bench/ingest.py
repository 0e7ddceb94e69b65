"""Ingest benchmark: N cameras recorded by Custos and by bare ffmpeg, on the same machine, in the
same run, from the same load generator. Not part of the test suite.

    .venv/bin/python bench/ingest.py --cameras 100 --seconds 60
    .venv/bin/python bench/ingest.py --cameras 400            # 120 s window per recorder

Method
------
1. A test clip is made once and cached in ``bench/.cache/``: 1080p25 H.264 (testsrc2), 2 Mbit/s,
   a keyframe every 50 frames, no B-frames, an access-unit delimiter before every frame, 20 s.
2. The load generator is ``bench/rtsp_replay.py``: our own asyncio RTSP server (TCP interleaved
   only) that replays the clip as ONE live broadcast; every ``.../cam<k>`` path serves it, each new
   client starting at the next keyframe. It counts the frames sent to each session. It runs at
   nice -10 (``--server-nice``; this script too) so that it is not the bottleneck; its lateness
   is reported.
3. The recorders run ONE AFTER THE OTHER (default order: Custos, then bare ffmpeg) against the same
   load generator, so that on a small machine neither steals CPU from the other:
   - Custos: a fresh data directory, ``custos db upgrade``, N cameras registered in service (the
     demo registration) with URLs ``rtsp://.../custos/cam<k>``, then ``custos recorder
     --segment-seconds S`` as a subprocess, sealing and indexing, on the engine ``--engine``
     (``pyav``, the default: recording shards of ``--shard-cameras`` cameras; ``ffmpeg``: one
     ffmpeg per camera).
   - bare: N processes ``ffmpeg -rtsp_transport tcp -i rtsp://.../bare/cam<k> -c copy -f segment
     -segment_time S -segment_format mp4 -segment_format_options movflags=+frag_keyframe+empty_moov
     +default_base_moof -reset_timestamps 1 OUT/%06d.mp4`` (plus ``-nostdin -loglevel warning
     -nostats``), started by this script.
   Each phase: start, wait until the server sends frames to all N sessions, wait ``--warmup``
   seconds, then measure over a window of ``--seconds``; then the server stops sending to that
   phase's sessions ("freeze"; their counts are final), ffmpeg drains its socket for 3 s, the
   recorder gets SIGTERM and 1 s later the server closes those connections (ffmpeg's first SIGTERM
   does not interrupt a read from a silent socket; the end of the stream does): each ffmpeg
   writes all it holds and closes its last segment, which Custos seals.
4. Measured:
   - CPU per stream: utime+stime (+ reaped children) of the recorder's process tree from
     /proc/PID/stat, difference over the window, divided by the window's wall time and by N, in %
     of one core. Custos' tree is ``custos recorder`` and its shards (or ffmpeg children);
     bare's the N ffmpeg.
   - PSS per stream: /proc/PID/smaps_rollup ``Pss`` summed over the tree, sampled every
     ``--pss-every`` seconds during the window (mean of the samples), divided by N.
   - Frames lost inside segments: the packet timestamps of every segment file, read from its
     fMP4 boxes (``ingest_mp4.py``; every ``--crosscheck-every``-th file also with ``ffprobe
     -show_entries packet=pts``, which must agree: it is printed); a step between consecutive
     timestamps of k frame periods means k-1 frames missing. This needs
     no alignment with the server: it counts holes inside each file, whatever the file's length,
     so the partial first and last segments count too. (ffmpeg's RTSP demuxer gives the first
     frame of every connection no timestamp, the muxer puts the second 1 tick after it; a step
     shorter than a frame period counts as 0 missing.)
   - Custos' segments are those of its index (a file without a row is not recorded footage
     until a restart adopts it); files on disk vs rows are printed. Bare's are the files.
   - Frames not in files: the frames the server sent to the camera's sessions (from the first
     keyframe to the freeze, reconnections summed) minus the packets in all its files: holes
     between segments, across reconnections, or a tail not written at the stop. Frames the server
     could not send (socket backlog over 4 MiB) are counted apart as "server-dropped".
   - Segments sealed late (Custos): index rows with sealed_at - end_at > ``--late-s``; the delay
     distribution is printed. Bare ffmpeg seals nothing (n/a).
   - The load generator's CPU over each window, the machine's busy CPU, the load average.
   The ratios Custos / bare for CPU and PSS are printed beside the targets: 0 frames lost,
   CPU ratio <= 1.10, PSS <= 5 MB per stream. A JSON copy goes to ``bench/results/``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

import ingest_mp4
import ingest_procfs as procfs

from custos.bootstrap import bootstrap
from custos.config import Settings
from custos.domain.calendar import shanghai_date
from custos.entrypoints.demo.cameras import register_demo_cameras
from custos.recorder.lifeline import dies_with_parent

_OFFLINE = re.compile(r"camera \d+: offline (\w+)")
BENCH = Path(__file__).resolve().parent
CACHE = BENCH / ".cache"
RESULTS = BENCH / "results"
SERVER = BENCH / "rtsp_replay.py"
FPS = 25
FRAGMENTED_MP4 = "movflags=+frag_keyframe+empty_moov+default_base_moof"
TARGET_CPU_RATIO = 1.10
TARGET_PSS_MB = 5.0
MB = 1_000_000


# ---- the clip and the load generator --------------------------------------------------------
def make_clip(cache: Path, seconds: int = 20, kbps: int = 2000, gop: int = 50) -> Path:
    """1080p25 H.264 at ``kbps``, a keyframe every ``gop`` frames, no B-frames, AUDs; cached."""
    target = cache / f"clip-1080p{FPS}-{kbps}k-gop{gop}-{seconds}s.h264"
    if target.exists() and target.stat().st_size > 0:
        return target
    cache.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".part")
    print(f"making the clip {target.name} (once)", flush=True)
    subprocess.run(
        [
            "ffmpeg", "-nostdin", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate={FPS}", "-t", str(seconds),
            "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
            "-b:v", f"{kbps}k", "-maxrate", f"{kbps}k", "-bufsize", f"{2 * kbps}k",
            "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0", "-bf", "0",
            "-bsf:v", "h264_metadata=aud=insert", "-f", "h264", str(tmp),
        ],
        check=True,
    )  # fmt: skip
    tmp.replace(target)
    return target


class LoadGenerator:
    """``rtsp_replay.py`` as a child process, driven through its standard input."""

    def __init__(self, clip: Path, work: Path, nice: int) -> None:
        self._work = work
        self.proc = subprocess.Popen(
            [sys.executable, str(SERVER), "--clip", str(clip), "--control", "--nice", str(nice)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            preexec_fn=dies_with_parent(signal.SIGKILL),
        )
        line = self._readline()
        if not line.startswith("ready "):
            raise SystemExit(f"the load generator did not start: {line!r}")
        self.port = int(line.split()[1])
        self._n = 0

    def _readline(self) -> str:
        assert self.proc.stdout is not None
        return self.proc.stdout.readline().strip()

    def _command(self, line: str) -> str:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        reply = self._readline()
        if not reply.startswith("ok"):
            raise RuntimeError(f"load generator: {line!r} -> {reply!r}")
        return reply

    def url(self, prefix: str, k: int) -> str:
        return f"rtsp://127.0.0.1:{self.port}{prefix}/cam{k}"

    def stats(self) -> dict[str, Any]:
        self._n += 1
        path = self._work / f"server-stats-{self._n}.json"
        self._command(f"stats {path}")
        data: dict[str, Any] = json.loads(path.read_text())
        path.unlink()
        return data

    def freeze(self, prefix: str) -> int:
        return int(self._command(f"freeze {prefix}").split()[1])

    def close(self, prefix: str) -> int:
        return int(self._command(f"close {prefix}").split()[1])

    def mark(self) -> None:
        self._command("mark")

    def cpu_seconds(self) -> float:
        st = procfs.read_stat(self.proc.pid)
        return procfs.cpu_seconds([st] if st else [])

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def sessions_by_path(stats: dict[str, Any], prefix: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for s in stats["sessions"]:
        if s["path"].startswith(prefix + "/"):
            out.setdefault(s["path"], []).append(s)
    return out


def verify_server(gen: LoadGenerator, work: Path) -> str:
    """ffmpeg as a client for 5 s: the file must decode and hold about 125 frames."""
    out = work / "verify.mp4"
    url = gen.url("/verify", 0)
    subprocess.run(
        [
            *("ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-rtsp_transport", "tcp"),
            *("-i", url, "-c", "copy", "-t", "5", str(out)),
        ],
        check=True,
        timeout=60,
    )
    probe = probe_file(out)
    decode = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(out), "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=False,
    )
    sent = sum(s["frames_sent"] for s in sessions_by_path(gen.stats(), "/verify")["/verify/cam0"])
    errors = decode.stderr.strip().splitlines()
    out.unlink()
    return (
        f"server check (ffmpeg -t 5 as client): {probe.packets} frames in the file, "
        f"{probe.missing} missing by timestamp, server sent {sent} (the client stops after 5 s "
        f"of media and tears down later), decode errors: {len(errors)}"
    )


# ---- segment files --------------------------------------------------------------------------
@dataclass(frozen=True)
class FileProbe:
    packets: int
    missing: int  # frames missing, from steps between timestamps
    duration_s: float


def summarize(timestamps: list[int], timescale: int) -> FileProbe:
    """Packets, frames missing (a step of k frame periods between timestamps: k-1 missing) and
    the span in seconds."""
    if not timestamps or timescale <= 0:
        return FileProbe(0, 0, 0.0)
    period = timescale / FPS  # one frame in time-base units
    ts = sorted(timestamps)
    missing = sum(max(0, round((b - a) / period) - 1) for a, b in itertools.pairwise(ts))
    return FileProbe(len(ts), missing, (ts[-1] - ts[0]) / timescale + 1 / FPS)


def probe_file(path: Path) -> FileProbe:
    """With ffprobe: the packets' timestamps."""
    done = subprocess.run(
        [*("ffprobe", "-v", "error", "-select_streams", "v:0"),
         *("-show_entries", "stream=time_base:packet=pts", "-of", "json", str(path))],
        capture_output=True,
        check=False,
        timeout=120,
    )  # fmt: skip
    if done.returncode != 0:
        return FileProbe(0, 0, 0.0)
    info = json.loads(done.stdout or b"{}")
    streams = info.get("streams") or []
    if not streams:
        return FileProbe(0, 0, 0.0)
    num, den = (int(x) for x in streams[0]["time_base"].split("/"))
    pts = [int(p["pts"]) for p in info.get("packets", []) if "pts" in p]
    if num != 1:
        pts = [p * num for p in pts]
    return summarize(pts, den)


def read_file(path: Path) -> FileProbe:
    """From the file's fMP4 boxes (fast; see ``ingest_mp4.py``)."""
    try:
        samples = ingest_mp4.read_samples(path)
    except (OSError, ValueError, IndexError, struct.error):
        return FileProbe(0, 0, 0.0)
    return summarize(samples.dts, samples.timescale)


def probe_all(paths: list[Path], crosscheck_every: int) -> tuple[dict[Path, FileProbe], str]:
    """Every file read from its boxes; every ``crosscheck_every``-th also with ffprobe, which
    must agree on packets and missing frames."""
    probes = {p: read_file(p) for p in paths}
    checked = paths[:: max(1, crosscheck_every)] if crosscheck_every else []
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        ff = dict(zip(checked, pool.map(probe_file, checked), strict=True))
    bad = [
        p for p, f in ff.items() if (f.packets, f.missing) != (probes[p].packets, probes[p].missing)
    ]
    note = f"{len(checked)} files cross-checked with ffprobe, {len(bad)} disagree"
    if bad:
        note += f" (e.g. {bad[0]}: ffprobe {ff[bad[0]]}, boxes {probes[bad[0]]})"
    return probes, note


# ---- the two recorders ----------------------------------------------------------------------
class Recorder:
    """One system under test: started, measured through its process tree, stopped, analysed."""

    name = ""
    prefix = ""
    root = Path()  # where its recordings go

    def start(self, urls: list[str]) -> None:
        raise NotImplementedError

    def tree(self) -> list[procfs.ProcStat]:
        raise NotImplementedError

    def supervisor_pid(self) -> int | None:
        """A process of the tree that is not ffmpeg (Custos' Python recorder), if any."""
        return None

    def signal_stop(self) -> None:
        """SIGTERM: finish the segment in flight."""
        raise NotImplementedError

    def wait_stopped(self) -> None:
        raise NotImplementedError

    def files(self) -> dict[int, list[Path]]:
        """Segment files per camera number (1..N)."""
        raise NotImplementedError

    def details(self, late_s: float) -> dict[str, Any]:
        return {}


class CustosRecorder(Recorder):
    name, prefix = "custos", "/custos"

    def __init__(self, work: Path, segment_seconds: int, engine: str, shard_cameras: int) -> None:
        self.data = self.root = work / "custos-data"
        self.segment_seconds = segment_seconds
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = work / "custos-recorder.log"
        self.camera_of: dict[int, int] = {}  # camera id -> camera number
        self.env = os.environ | {
            "CUSTOS_DATA_DIR": str(self.data),
            "CUSTOS_RECORDER_METRICS_PORT": "0",
            "CUSTOS_RECORDER_ENGINE": engine,
            "CUSTOS_RECORDER_SHARD_CAMERAS": str(shard_cameras),
        }
        self.env.pop("CUSTOS_DATABASE_URL", None)
        self.env.pop("CUSTOS_MEDIA_DIR", None)

    def _settings(self) -> Settings:
        return Settings(data_dir=self.data, recorder_metrics_port=0)

    def start(self, urls: list[str]) -> None:
        subprocess.run([sys.executable, "-m", "custos", "db", "upgrade"], env=self.env, check=True)
        t = time.monotonic()
        container = bootstrap(self._settings())
        try:
            today = shanghai_date(container.clock.now())
            ids = register_demo_cameras(container.registry, urls, today)
        finally:
            container.close()
        self.camera_of = {cid: n for n, cid in enumerate(ids, start=1)}
        print(f"  registered {len(ids)} cameras in {time.monotonic() - t:.1f} s", flush=True)
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

    def tree(self) -> list[procfs.ProcStat]:
        return procfs.tree(self.proc.pid) if self.proc else []

    def supervisor_pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def signal_stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def wait_stopped(self) -> None:
        if self.proc is not None:
            try:
                self.proc.wait(120)
            except subprocess.TimeoutExpired:
                print("  custos recorder did not stop within 120 s: killed", flush=True)
                self.proc.kill()
                self.proc.wait()

    def _segments(self) -> list[Any]:
        container = bootstrap(self._settings())
        try:
            return container.recording.indexed()
        finally:
            container.close()

    def files(self) -> dict[int, list[Path]]:
        media = self._settings().resolved_media_dir()
        out: dict[int, list[Path]] = {}
        for s in self._segments():
            out.setdefault(self.camera_of.get(s.camera_id, 0), []).append(media / s.path)
        return out

    def details(self, late_s: float) -> dict[str, Any]:
        segs = self._segments()
        delays = sorted((s.sealed_at - s.end_at).total_seconds() for s in segs if not s.adopted)
        media = self._settings().resolved_media_dir()
        on_disk = len(list(media.glob("*/*/*.mp4")))
        log = self.log.read_text(errors="replace").splitlines()
        return {
            "rows": len(segs),
            "files_on_disk": on_disk,
            "adopted": sum(1 for s in segs if s.adopted),
            "late_seals": sum(1 for d in delays if d > late_s),
            "seal_delay_p50_s": _pct(delays, 50),
            "seal_delay_p99_s": _pct(delays, 99),
            "seal_delay_max_s": delays[-1] if delays else None,
            "log_warnings": sum(1 for x in log if " WARNING " in x),
            "log_errors": sum(1 for x in log if " ERROR " in x),
            "log_stalled": sum(1 for x in log if "no frame for" in x),
            "log_first_problems": [x for x in log if " WARNING " in x or " ERROR " in x][:5],
            "offline_reasons": dict(Counter(m.group(1) for x in log if (m := _OFFLINE.search(x)))),
        }


class BareFfmpeg(Recorder):
    name, prefix = "bare", "/bare"

    def __init__(self, work: Path, segment_seconds: int) -> None:
        self.out = self.root = work / "bare"
        self.segment_seconds = segment_seconds
        self.procs: list[subprocess.Popen[bytes]] = []
        self._logs: list[IO[bytes]] = []

    def start(self, urls: list[str]) -> None:
        for n, url in enumerate(urls, start=1):
            d = self.out / f"cam{n}"
            d.mkdir(parents=True, exist_ok=True)
            log = (self.out / f"cam{n}.log").open("wb")
            self._logs.append(log)
            self.procs.append(
                subprocess.Popen(
                    [
                        "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "warning", "-nostats",
                        "-rtsp_transport", "tcp", "-i", url, "-c", "copy",
                        "-f", "segment", "-segment_time", str(self.segment_seconds),
                        "-segment_format", "mp4", "-segment_format_options", FRAGMENTED_MP4,
                        "-reset_timestamps", "1", str(d / "%06d.mp4"),
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=log,
                    preexec_fn=dies_with_parent(signal.SIGKILL),
                )
            )  # fmt: skip

    def tree(self) -> list[procfs.ProcStat]:
        stats = procfs.all_stats()
        return [stats[p.pid] for p in self.procs if p.pid in stats]

    def signal_stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)

    def wait_stopped(self) -> None:
        deadline = time.monotonic() + 60
        for p in self.procs:
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for log in self._logs:
            log.close()

    def files(self) -> dict[int, list[Path]]:
        return {
            n: sorted((self.out / f"cam{n}").glob("*.mp4")) for n in range(1, len(self.procs) + 1)
        }

    def details(self, late_s: float) -> dict[str, Any]:
        exited = sum(1 for p in self.procs if p.returncode not in (0, 255, -15))
        return {"late_seals": None, "ffmpeg_failed_exit": exited}


def _pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    return values[min(len(values) - 1, int(len(values) * p / 100))]


# ---- one phase ------------------------------------------------------------------------------
@dataclass
class PhaseResult:
    name: str
    cameras: int
    connect_s: float = 0.0
    playing_at_start: int = 0
    playing_at_end: int = 0
    stop_s: float = 0.0
    window_s: float = 0.0
    cpu_core_pct_total: float = 0.0
    cpu_core_pct_per_stream: float = 0.0
    pss_mb_total: float = 0.0
    pss_mb_per_stream: float = 0.0
    pss_samples_mb: list[float] = field(default_factory=list)
    processes: int = 0
    server_cpu_core_pct: float = 0.0
    machine_busy_pct: float = 0.0
    machine_iowait_pct: float = 0.0
    loadavg_start: tuple[float, float, float] = (0.0, 0.0, 0.0)
    loadavg_end: tuple[float, float, float] = (0.0, 0.0, 0.0)
    cameras_with_files: int = 0
    segments: int = 0
    complete_segments: int = 0
    frames_sent: int = 0
    frames_in_files: int = 0
    frames_lost_in_segments: int = 0
    cameras_losing_in_segments: int = 0
    frames_not_in_files: int = 0
    server_dropped: int = 0
    sessions: int = 0
    server_late_max_s: float = 0.0
    server_late_bursts: int = 0
    supervisor_cpu_core_pct: float | None = None  # Custos' Python recorder process alone
    supervisor_pss_mb: float | None = None
    details: dict[str, Any] = field(default_factory=dict)


def _own_seconds(pid: int | None) -> float | None:
    st = procfs.read_stat(pid) if pid is not None else None
    return st.own_ticks / procfs.CLK_TCK if st else None


def _playing(by_path: dict[str, list[dict[str, Any]]]) -> int:
    """Streams with a session that is open and has been sent frames."""
    return sum(
        1
        for ss in by_path.values()
        if any(s["frames_sent"] > 0 and s["closed_at"] is None for s in ss)
    )


def wait_all_playing(
    gen: LoadGenerator, prefix: str, n: int, timeout_s: float, alive: Callable[[], bool]
) -> tuple[float, int]:
    """Wait until the server sends frames to all ``n`` streams; (seconds, streams playing).
    After ``timeout_s`` the measurement goes on with those playing (the report says so)."""
    start = time.monotonic()
    while True:
        playing = _playing(sessions_by_path(gen.stats(), prefix))
        waited = time.monotonic() - start
        if playing >= n or waited > timeout_s:
            return waited, playing
        if not alive():
            raise SystemExit(f"the recorder died; {playing}/{n} streams were playing")
        time.sleep(1.0)


def run_phase(rec: Recorder, gen: LoadGenerator, n: int, args: argparse.Namespace) -> PhaseResult:
    res = PhaseResult(rec.name, n)
    print(f"[{rec.name}] starting {n} streams", flush=True)
    rec.start([gen.url(rec.prefix, k) for k in range(1, n + 1)])
    try:
        res.connect_s, res.playing_at_start = wait_all_playing(
            gen, rec.prefix, n, args.connect_timeout, lambda: bool(rec.tree())
        )
        print(
            f"[{rec.name}] {res.playing_at_start}/{n} playing after {res.connect_s:.1f} s; "
            f"warm-up {args.warmup:.0f} s",
            flush=True,
        )
        time.sleep(args.warmup)
        gen.mark()
        t0, load0 = time.monotonic(), procfs.loadavg()
        cpu0, srv0, mach0 = procfs.cpu_seconds(rec.tree()), gen.cpu_seconds(), procfs.machine_cpu()
        sup0 = _own_seconds(rec.supervisor_pid())
        sup_pss: list[float] = []
        print(f"[{rec.name}] measuring {args.seconds} s (load {load0[0]:.2f})", flush=True)
        next_pss = t0 + min(args.pss_every, args.seconds / 2)
        while (now := time.monotonic()) < t0 + args.seconds:
            if now >= next_pss:
                procs = rec.tree()
                res.pss_samples_mb.append(procfs.pss_bytes(p.pid for p in procs) / MB)
                sup = rec.supervisor_pid()
                if sup is not None:
                    sup_pss.append(procfs.pss_bytes([sup]) / MB)
                res.processes = len(procs)
                next_pss += args.pss_every
            time.sleep(max(0.0, min(1.0, t0 + args.seconds - now)))
        cpu1, srv1, mach1 = procfs.cpu_seconds(rec.tree()), gen.cpu_seconds(), procfs.machine_cpu()
        sup1 = _own_seconds(rec.supervisor_pid())
        t1 = time.monotonic()
        res.loadavg_start, res.loadavg_end = load0, procfs.loadavg()
        res.window_s = t1 - t0
        res.cpu_core_pct_total = (cpu1 - cpu0) / res.window_s * 100
        res.cpu_core_pct_per_stream = res.cpu_core_pct_total / n
        res.server_cpu_core_pct = (srv1 - srv0) / res.window_s * 100
        res.machine_busy_pct = (mach1.busy_s - mach0.busy_s) / (mach1.total_s - mach0.total_s) * 100
        res.machine_iowait_pct = (
            (mach1.iowait_s - mach0.iowait_s) / (mach1.total_s - mach0.total_s) * 100
        )
        if res.pss_samples_mb:
            res.pss_mb_total = statistics.mean(res.pss_samples_mb)
            res.pss_mb_per_stream = res.pss_mb_total / n
        late = gen.stats()
        res.playing_at_end = _playing(sessions_by_path(late, rec.prefix))
        res.server_late_max_s, res.server_late_bursts = late["late_max_s"], late["late_bursts"]
        if sup0 is not None and sup1 is not None:
            res.supervisor_cpu_core_pct = (sup1 - sup0) / res.window_s * 100
            res.supervisor_pss_mb = statistics.mean(sup_pss) if sup_pss else None
        frozen = gen.freeze(rec.prefix + "/")
        print(f"[{rec.name}] froze {frozen} sessions; draining 3 s, then stopping", flush=True)
        time.sleep(3)
    finally:
        # SIGTERM, then end the streams: ffmpeg (blocked on a silent socket, which its first
        # SIGTERM does not interrupt) sees the end of the stream, writes what it holds, exits.
        t = time.monotonic()
        rec.signal_stop()
        time.sleep(1)
        gen.freeze(rec.prefix + "/")
        gen.close(rec.prefix + "/")
        rec.wait_stopped()
        res.stop_s = time.monotonic() - t
    final = sessions_by_path(gen.stats(), rec.prefix)
    analyse(rec, res, final, args)
    return res


def analyse(
    rec: Recorder,
    res: PhaseResult,
    final: dict[str, list[dict[str, Any]]],
    args: argparse.Namespace,
) -> None:
    files = rec.files()
    print(f"[{rec.name}] probing {sum(len(v) for v in files.values())} files", flush=True)
    probes, note = probe_all([p for ps in files.values() for p in ps], args.crosscheck_every)
    print(f"[{rec.name}] {note}", flush=True)
    for k in range(1, res.cameras + 1):
        sessions = final.get(f"{rec.prefix}/cam{k}", [])
        sent = sum(s["frames_sent"] for s in sessions)
        res.sessions += len(sessions)
        res.frames_sent += sent
        res.server_dropped += sum(s["frames_dropped"] for s in sessions)
        cam = [probes[p] for p in files.get(k, [])]
        in_files = sum(c.packets for c in cam)
        lost = sum(c.missing for c in cam)
        res.cameras_with_files += 1 if cam else 0
        res.segments += len(cam)
        res.complete_segments += sum(1 for c in cam if c.duration_s >= args.segment_seconds - 0.5)
        res.frames_in_files += in_files
        res.frames_lost_in_segments += lost
        res.cameras_losing_in_segments += 1 if lost else 0
        res.frames_not_in_files += max(0, sent - in_files)
    res.details = rec.details(args.late_s) | {"probe": note}


# ---- the report -----------------------------------------------------------------------------
def _fmt(v: Any, digits: int = 2) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def rounds_summary(done: list[tuple[int, str, PhaseResult]]) -> str:
    """Each round's CPU ratio (Custos / bare, measured minutes apart) and their median."""
    by_round: dict[int, dict[str, PhaseResult]] = {}
    for r, name, res in done:
        by_round.setdefault(r, {})[name] = res
    lines, ratios = [], []
    for r, phases in sorted(by_round.items()):
        c, b = phases.get("custos"), phases.get("bare")
        if not (c and b and b.cpu_core_pct_per_stream):
            continue
        ratio = c.cpu_core_pct_per_stream / b.cpu_core_pct_per_stream
        ratios.append(ratio)
        lines.append(
            f"round {r}: CPU per stream {c.cpu_core_pct_per_stream:.3f} / "
            f"{b.cpu_core_pct_per_stream:.3f} % = {ratio:.2f}x; PSS {c.pss_mb_per_stream:.2f} / "
            f"{b.pss_mb_per_stream:.2f} MB; frames lost {c.frames_lost_in_segments} / "
            f"{b.frames_lost_in_segments}, not in files {c.frames_not_in_files} / "
            f"{b.frames_not_in_files}"
        )
    if ratios:
        median = statistics.median(ratios)
        met = "met" if median <= TARGET_CPU_RATIO else "NOT met"
        lines.append(
            f"median CPU ratio over {len(ratios)} rounds: {median:.2f}x "
            f"(target <= {TARGET_CPU_RATIO:.2f}: {met})"
        )
    return "\n".join(lines)


def report(results: dict[str, PhaseResult], args: argparse.Namespace, header: str) -> str:
    c, b = results.get("custos"), results.get("bare")
    cpu_ratio = (
        c.cpu_core_pct_per_stream / b.cpu_core_pct_per_stream
        if c and b and b.cpu_core_pct_per_stream
        else None
    )
    pss_ratio = (
        c.pss_mb_per_stream / b.pss_mb_per_stream if c and b and b.pss_mb_per_stream else None
    )
    names = [r for r in ("custos", "bare") if r in results]
    rows: list[tuple[str, list[str], str, str]] = []

    def row(
        label: str, get: Callable[[PhaseResult], Any], ratio: str = "", target: str = ""
    ) -> None:
        rows.append((label, [_fmt(get(results[n])) for n in names], ratio, target))

    row("streams with files", lambda r: f"{r.cameras_with_files}/{r.cameras}")
    row(
        "streams playing / after (s)",
        lambda r: f"{r.playing_at_start}/{r.cameras} / {r.connect_s:.1f}",
    )
    row("window (s)", lambda r: r.window_s)
    row("streams playing at the window's end", lambda r: f"{r.playing_at_end}/{r.cameras}")
    row("stopped in (s)", lambda r: r.stop_s)
    row(
        "CPU per stream (% of a core)",
        lambda r: r.cpu_core_pct_per_stream,
        _fmt(cpu_ratio),
        f"ratio <= {TARGET_CPU_RATIO:.2f}",
    )
    row("CPU total (% of a core)", lambda r: r.cpu_core_pct_total)
    row(
        "PSS per stream (MB)",
        lambda r: r.pss_mb_per_stream,
        _fmt(pss_ratio),
        f"<= {TARGET_PSS_MB:.0f} MB",
    )
    row("PSS total (MB)", lambda r: r.pss_mb_total)
    row("  of which the Python recorder (MB)", lambda r: r.supervisor_pss_mb)
    row("  CPU of the Python recorder (% core)", lambda r: r.supervisor_cpu_core_pct)
    row("processes in tree", lambda r: r.processes)
    row("frames sent by the server", lambda r: r.frames_sent)
    row("frames in files", lambda r: r.frames_in_files)
    row("frames lost inside segments", lambda r: r.frames_lost_in_segments, "", "0")
    row("  cameras with a loss", lambda r: r.cameras_losing_in_segments)
    row("frames sent but not in files", lambda r: r.frames_not_in_files, "", "0")
    row("frames server-dropped (backlog)", lambda r: r.server_dropped, "", "0")
    row("RTSP sessions (reconnects = - N)", lambda r: r.sessions)
    row("segments (complete)", lambda r: f"{r.segments} ({r.complete_segments})")
    row(
        "segment files on disk / indexed",
        lambda r: (
            f"{r.details['files_on_disk']} / {r.details['rows']}" if "rows" in r.details else "n/a"
        ),
        "",
        "equal",
    )
    row(
        f"sealed late (> {args.late_s:.0f} s)",
        lambda r: r.details.get("late_seals"),
        "",
        "0",
    )
    row("seal delay p50/p99/max (s)", lambda r: _seal_delays(r))
    row("load generator CPU (% of a core)", lambda r: r.server_cpu_core_pct)
    row(
        "load gen. max lateness (s) / bursts",
        lambda r: f"{r.server_late_max_s:.3f} / {r.server_late_bursts}",
    )
    row(
        "machine busy / iowait (% of all cores)",
        lambda r: f"{r.machine_busy_pct:.1f} / {r.machine_iowait_pct:.1f}",
    )
    row(
        "load average start -> end", lambda r: f"{r.loadavg_start[0]:.2f} -> {r.loadavg_end[0]:.2f}"
    )
    widths = [38, *([16] * len(names)), 8, 18]
    head = ["", *names, "ratio", "target"]
    lines = [header, "  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))]
    for label, vals, ratio, target in rows:
        cells = [label, *vals, ratio, target]
        lines.append("  ".join(x.ljust(w) for x, w in zip(cells, widths, strict=True)))
    verdicts = []
    if c:
        verdicts.append(_verdict("0 frames lost (custos)", c.frames_lost_in_segments == 0))
        verdicts.append(
            _verdict(f"PSS <= {TARGET_PSS_MB:.0f} MB/stream", c.pss_mb_per_stream <= TARGET_PSS_MB)
        )
    if cpu_ratio is not None:
        verdicts.append(
            _verdict(f"CPU ratio <= {TARGET_CPU_RATIO:.2f}", cpu_ratio <= TARGET_CPU_RATIO)
        )
    lines.append("targets: " + "; ".join(verdicts))
    if c:
        lines.append("custos details: " + json.dumps(c.details))
    if b:
        lines.append("bare details: " + json.dumps(b.details))
    return "\n".join(lines)


def _seal_delays(r: PhaseResult) -> str:
    e = r.details
    if "seal_delay_p50_s" not in e:
        return "n/a"
    return "/".join(
        _fmt(e[k], 1) for k in ("seal_delay_p50_s", "seal_delay_p99_s", "seal_delay_max_s")
    )


def _verdict(label: str, ok: bool) -> str:
    return f"{label}: {'met' if ok else 'NOT met'}"


# ---- main -----------------------------------------------------------------------------------
def _remove(path: Path) -> None:
    def _writable(func: Callable[[str], object], p: str, _exc: object) -> None:
        os.chmod(p, 0o700)
        func(p)

    shutil.rmtree(path, onerror=_writable)


def main(argv: list[str]) -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--cameras", type=int, default=100)
    p.add_argument("--seconds", type=float, default=120.0, help="measured window per recorder")
    p.add_argument("--warmup", type=float, default=15.0, help="after all streams play")
    p.add_argument("--segment-seconds", type=int, default=10)
    p.add_argument("--order", default="custos,bare", help="recorders, run one after the other")
    p.add_argument("--engine", default="pyav", choices=("pyav", "ffmpeg"), help="Custos' engine")
    p.add_argument("--shard-cameras", type=int, default=25, help="cameras per shard (pyav)")
    p.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="repeat the phases this many times, alternating; the CPU ratio of each round and "
        "their median are printed (this machine's CPU speed drifts by 10-20 %% over minutes)",
    )
    p.add_argument(
        "--server-nice", type=int, default=-10, help="load generator priority (negative: root)"
    )
    p.add_argument("--late-s", type=float, default=5.0, help="sealed_at - end_at counted late")
    p.add_argument(
        "--crosscheck-every", type=int, default=25, help="ffprobe every k-th file too (0: none)"
    )
    p.add_argument("--pss-every", type=float, default=20.0)
    p.add_argument("--connect-timeout", type=float, default=180.0)
    p.add_argument("--work-dir", type=Path, default=None, help="default: a new temp directory")
    p.add_argument("--keep", action="store_true", help="keep the recordings")
    p.add_argument("--skip-verify", action="store_true", help="skip the ffmpeg client check")
    args = p.parse_args(argv)
    for tool in ("ffmpeg", "ffprobe"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is needed")
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="custos-ingest-"))
    work.mkdir(parents=True, exist_ok=True)
    clip = make_clip(CACHE)
    nice = args.server_nice if os.geteuid() == 0 or args.server_nice >= 0 else 0
    gen = LoadGenerator(clip, work, nice)
    # This process too (it mostly sleeps): on a saturated machine, reading /proc for hundreds
    # of processes at nice 0 takes minutes and stretches the window.
    os.setpriority(os.PRIO_PROCESS, 0, nice)
    started = time.strftime("%Y-%m-%dT%H:%M:%S")
    header = (
        f"ingest bench {started}: N={args.cameras}, window {args.seconds:.0f} s, segments "
        f"{args.segment_seconds} s, clip {clip.name}, {os.cpu_count()} cores, engine "
        f"{args.engine} ({args.shard_cameras} cameras per shard), order "
        f"{args.order} (one after the other), load generator nice {nice}, work dir {work}"
    )
    print(header, flush=True)
    results: dict[str, PhaseResult] = {}
    rounds_done: list[tuple[int, str, PhaseResult]] = []
    try:
        if not args.skip_verify:
            print(verify_server(gen, work), flush=True)
        for r in range(args.rounds):
            here = work if r == 0 else work / f"round{r + 1}"
            here.mkdir(parents=True, exist_ok=True)
            if r:
                print(f"---- round {r + 1} of {args.rounds}", flush=True)
            for name in args.order.split(","):
                rec: Recorder = (
                    CustosRecorder(here, args.segment_seconds, args.engine, args.shard_cameras)
                    if name == "custos"
                    else BareFfmpeg(here, args.segment_seconds)
                )
                if r:  # the server refuses a frozen prefix: each round has its own
                    rec.prefix = f"{rec.prefix}{r + 1}"
                results[name] = run_phase(rec, gen, args.cameras, args)
                rounds_done.append((r + 1, name, results[name]))
                if not args.keep:
                    _remove(rec.root)
            if r + 1 < args.rounds:
                print(report(results, args, f"round {r + 1}"), flush=True)
    finally:
        gen.stop()
    text = report(results, args, header)
    print()
    print(text)
    if args.rounds > 1:
        print()
        print(rounds_summary(rounds_done))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"ingest-{args.cameras}-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.write_text(
        json.dumps(
            {"args": {k: str(v) for k, v in vars(args).items()}, "header": header}
            | {k: asdict(v) for k, v in results.items()}
            | {"rounds": [{"round": r, "recorder": n} | asdict(v) for r, n, v in rounds_done]},
            indent=2,
        )
    )
    print(f"\nJSON: {out}")
    log = work / "custos-recorder.log"
    if log.exists():
        shutil.copy(log, out.with_suffix(".custos-recorder.log"))
        print(f"Custos recorder log: {out.with_suffix('.custos-recorder.log')}")
    if not args.keep:
        _remove(work)


if __name__ == "__main__":
    main(sys.argv[1:])
