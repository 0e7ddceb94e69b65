"""Stream-copy export speed (issue 13 §4: goal ≥ 500× real time). Not part of the test suite.

    .venv/bin/python -m bench.export_speed                          # 60 min, 1 and 16 cameras
    .venv/bin/python -m bench.export_speed --minutes 5 --cameras 1,4
    .venv/bin/python -m bench.export_speed --segment-seconds 10     # more, shorter segments

A Custos on SQLite in a temporary folder (removed at the end, also on error); the demo unit
and site with ``max(--cameras)`` cameras, and a unit manager who exports. Footage: one segment
of ffmpeg's testsrc (1280×720, 25 fps, H.264 at a constant bit rate with filler, a keyframe
every 2 s, fragmented MP4 with the recorder's movflags) is encoded once and hard-linked as
every segment of every camera, back to back over ``--minutes``, each indexed as a sealed
segment through ``RecordingService.seal`` with the clip's real size and SHA-256. The sources
therefore sit warm in the page cache, for the export and the baselines alike: a cold read is
bounded by the disk, not by the export.

For each camera count the range starts 3.3 s into the first segment (between keyframes, so the
cut is exercised) and ends 4.7 s before the last segment's end. Timed, in this order, each
output removed and the file system synced before the next:

1. **copy**: the bare copy cost, ``shutil.copyfileobj`` of the same segments to one file per
   camera, then fsync (a package is fsynced too);
2. **concat**: ``ffmpeg -f concat -c copy`` of the same segments to one MP4 per camera (no cut,
   no faststart, no fsync);
3. **export**: ``FootageService.export``, the staff export the API's ``POST /exports`` calls
   (the copy grant builds its package through the same ``EvidenceBuilder``): register entries,
   cut by ffmpeg, hashes, manifest, signature, custody sheet, log entry and checkpoint, proof,
   ZIP, fsync, commit. Its phases are timed by wrapping the builder's file port and sheet
   renderer (bench-only instrumentation; the product code is unchanged).

Printed for each: wall seconds, CPU seconds (this process and its waited-for children, user +
system), bytes written, footage seconds per wall second (footage seconds = cameras × range),
and the export's time against each baseline; for the export also the bytes read by this
process and the ffmpeg it waited for (``rchar``: page cache or disk; ffmpeg reads the sources,
then its own output again for faststart) and of those the bytes read from the disk
(``ru_inblock``). One warm-up export (20 s, one camera) runs first, untimed: the first custody
sheet of a process also loads its fonts.

With the defaults (16 × 1 hour at 2 Mbit/s: 14 GB, three times) it ran six minutes on the
shared two-core machine, and needs about 30 GB free in the temporary folder at its peak.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from custos.adapters.db.migrate import upgrade
from custos.adapters.storage.segment_files import SegmentStore
from custos.bootstrap import Container, bootstrap
from custos.config import Settings
from custos.domain.access import Role
from custos.domain.calendar import shanghai_date
from custos.domain.clock import ManualClock
from custos.domain.recording import Segment
from custos.domain.users import SYSTEM, Principal
from custos.entrypoints.demo.cameras import DEMO_CREDIT_CODE, register_demo_cameras

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
RUN_ID = "20261119T000000Z-bench"
FPS, GOP = 25, 50
CUT_IN_S, CUT_OUT_S = 3.3, 4.7  # into the first segment; before the last segment's end
PURPOSE = "bench: export speed (issue 13 §4)"


@dataclass
class Timed:
    wall_s: float = 0.0
    cpu_s: float = 0.0
    read_b: int = 0  # read by this process and its waited-for children, page cache or disk
    disk_read_b: int = 0  # of which read from the disk


@dataclass
class Phases:
    """Wall seconds spent in each wrapped call during one export, a call made inside another
    counted only once, as the inner one. Calls made in another thread than the export's (the
    builder reads a cut while ffmpeg cuts the next camera) are named "(beside)"."""

    seconds: dict[str, float] = field(default_factory=dict)
    _open: threading.local = field(default_factory=threading.local)  # per thread

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            inner: list[float] = self._open.__dict__.setdefault("inner", [])  # nested calls' time
            if threading.current_thread() is not threading.main_thread():
                key = f"{name} (beside)"
            else:
                key = name
            t = time.perf_counter()
            inner.append(0.0)
            try:
                return fn(*args, **kwargs)
            finally:
                spent = time.perf_counter() - t
                nested = inner.pop()
                self.seconds[key] = self.seconds.get(key, 0.0) + spent - nested
                if inner:
                    inner[-1] += spent

        return timed

    def in_line(self) -> float:
        return sum(v for k, v in self.seconds.items() if not k.endswith("(beside)"))


def cpu_now() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def reads_now() -> tuple[int, int]:
    """rchar of /proc/self/io (0 where there is none; it takes in the children waited for) and
    the blocks read from the disk (ru_inblock, 512 B), this process's and its children's."""
    rchar = 0
    try:
        for row in Path("/proc/self/io").read_text().splitlines():
            if row.startswith("rchar:"):
                rchar = int(row.split()[1])
    except OSError:
        pass
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return rchar, (own.ru_inblock + kids.ru_inblock) * 512


@contextmanager
def measured() -> Iterator[Timed]:
    out = Timed()
    w, c, (r, d) = time.perf_counter(), cpu_now(), reads_now()
    yield out
    out.wall_s, out.cpu_s = time.perf_counter() - w, cpu_now() - c
    r2, d2 = reads_now()
    out.read_b, out.disk_read_b = r2 - r, d2 - d


def make_segment(dst: Path, seconds: int, kbps: int, size: str) -> None:
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi",
         "-i", f"testsrc=size={size}:rate={FPS}:duration={seconds}",
         "-c:v", "libx264", "-preset", "ultrafast", "-g", str(GOP), "-pix_fmt", "yuv420p",
         "-b:v", f"{kbps}k", "-minrate", f"{kbps}k", "-maxrate", f"{kbps}k",
         "-bufsize", f"{kbps}k", "-x264-params", "nal-hrd=cbr:filler=1",
         "-movflags", "+frag_keyframe+empty_moov+default_base_moof", "-f", "mp4", str(dst)],
        check=True,
    )  # fmt: skip


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def setup(data: Path, cameras: int) -> tuple[Container, Principal, list[int]]:
    settings = Settings(data_dir=data)  # type: ignore[call-arg]
    upgrade(settings.resolved_database_url())
    c = bootstrap(settings, ManualClock(NOW))
    urls = [f"rtsp://192.0.2.1:{554 + i}/bench{i}" for i in range(cameras)]
    ids = register_demo_cameras(c.registry, urls, shanghai_date(NOW - timedelta(days=40)))
    unit = next(u for u in c.registry.list_units(SYSTEM) if u.credit_code == DEMO_CREDIT_CODE)
    user = c.auth.create_user(SYSTEM, "bench", Role.UNIT_MANAGER, "bench-password-123", unit.id)
    return c, Principal(user.id, user.username, user.role, user.unit_id), ids


def index_footage(
    c: Container, camera_ids: list[int], clip: Path, start: datetime, count: int, seg_s: int
) -> dict[int, list[Path]]:
    """Every camera gets ``count`` segments back to back from ``start``, each a hard link to
    ``clip``, sealed with the clip's real size and hash."""
    store = SegmentStore(c.settings.resolved_media_dir())
    size, sha = clip.stat().st_size, sha256_of(clip)
    files: dict[int, list[Path]] = {}
    for cid in camera_ids:
        run_dir = store.run_dir(cid, RUN_ID)
        files[cid] = []
        for seq in range(count):
            path = run_dir / f"{seq:06d}.mp4"
            os.link(clip, path)
            at = start + timedelta(seconds=seq * seg_s)
            c.recording.seal(
                Segment(None, cid, RUN_ID, seq, store.relative(path), at,
                        at + timedelta(seconds=seg_s), float(seg_s), size, sha, "h264", None,
                        None, NOW)
            )  # fmt: skip
            files[cid].append(path)
    return files


def instrument(c: Container) -> Phases:
    """Time the export's file port and custody sheet (private attributes: bench only)."""
    phases = Phases()
    evidence = c.footage._evidence
    files = evidence._files
    for name in ("cut_camera", "digest", "write_zip"):
        setattr(files, name, phases.wrap(name, getattr(files, name)))
    if evidence._custody is not None:
        evidence._custody = phases.wrap("custody_sheet", evidence._custody)
    return phases


def bare_copy(sources: dict[int, list[Path]], out: Path) -> int:
    total = 0
    for cid, paths in sources.items():
        dst = out / f"{cid}.mp4"
        with dst.open("wb") as w:
            for p in paths:
                with p.open("rb") as r:
                    shutil.copyfileobj(r, w, 1 << 20)
            w.flush()
            os.fsync(w.fileno())
        total += dst.stat().st_size
    return total


def bare_concat(sources: dict[int, list[Path]], out: Path) -> int:
    total = 0
    for cid, paths in sources.items():
        listing = out / f"{cid}.ffconcat"
        listing.write_text(
            "ffconcat version 1.0\n" + "".join(f"file '{p.resolve()}'\n" for p in paths)
        )
        dst = out / f"{cid}.mp4"
        subprocess.run(
            ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "concat", "-safe", "0",
             "-i", str(listing), "-map", "0:v", "-c", "copy", "-f", "mp4", str(dst)],
            check=True,
        )  # fmt: skip
        total += dst.stat().st_size
    return total


def emptied(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.sync()
    return folder


def rate(footage_s: float, t: Timed) -> str:
    return f"{footage_s / t.wall_s:,.0f}× real time"


def line(label: str, t: Timed, size: int, footage_s: float) -> str:
    return (
        f"  {label:<7} {t.wall_s:7.2f} s wall  {t.cpu_s:7.2f} s CPU  {size / 1e6:9,.0f} MB  "
        f"{size / 1e6 / t.wall_s:6,.0f} MB/s  {rate(footage_s, t)}"
    )


def run(args: argparse.Namespace, tmp: Path) -> None:
    seg_s = args.segment_seconds
    count = args.minutes * 60 // seg_s
    counts = args.cameras
    t0 = time.perf_counter()
    clip = tmp / "segment.mp4"
    make_segment(clip, seg_s, args.kbps, args.size)
    clip.chmod(0o444)
    c, manager, ids = setup(tmp / "data", max(counts))
    try:
        start = NOW - timedelta(hours=2)
        files = index_footage(c, ids, clip, start, count, seg_s)
        print(
            f"footage: {len(ids)} cameras × {count} segments of {seg_s} s "
            f"({args.minutes} min), {args.size} {FPS} fps, GOP {GOP}, {args.kbps} kbit/s, "
            f"{clip.stat().st_size / 1e6:.1f} MB a segment; set up in "
            f"{time.perf_counter() - t0:.0f} s"
        )
        c.footage.export(manager, ids[:1], start, start + timedelta(seconds=20), PURPOSE)
        phases = instrument(c)
        first = start + timedelta(seconds=CUT_IN_S)
        last = start + timedelta(seconds=count * seg_s - CUT_OUT_S)
        range_s = (last - first).total_seconds()
        scratch = tmp / "baseline"
        exports = Path(c.settings.data_dir) / "exports"
        for n in counts:
            cams = ids[:n]
            footage_s = n * range_s
            sources = {cid: files[cid] for cid in cams}
            print(f"\n{n} camera(s) × {range_s:.1f} s = {footage_s:,.0f} s of footage")
            with measured() as copy_t:
                copied = bare_copy(sources, emptied(scratch))
            print(line("copy", copy_t, copied, footage_s))
            with measured() as concat_t:
                concat = bare_concat(sources, emptied(scratch))
            print(line("concat", concat_t, concat, footage_s))
            emptied(scratch)
            phases.seconds.clear()
            c.clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
            with measured() as export_t:
                package = c.footage.export(manager, cams, first, last, PURPOSE)
            print(line("export", export_t, package.bytes, footage_s))
            print(
                f"  export reads: {export_t.read_b / 1e6:,.0f} MB (ffmpeg's included), "
                f"{export_t.disk_read_b / 1e6:,.0f} MB of them from the disk"
            )
            assert package.segment_count == n * count, package.segment_count
            (exports / package.path).unlink()
            os.sync()
            done = phases.in_line()
            parts = ", ".join(f"{k} {v:.2f} s" for k, v in phases.seconds.items())
            print(f"  export phases: {parts}, the rest {export_t.wall_s - done:.2f} s")
            print(
                f"  export/copy {export_t.wall_s / copy_t.wall_s:.2f}× the time, "
                f"export/concat {export_t.wall_s / concat_t.wall_s:.2f}× "
                f"(goal ≥ 500× real time: {'met' if footage_s / export_t.wall_s >= 500 else 'NOT met'})"
            )
    finally:
        c.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=int, default=60, help="footage per camera (1..240)")
    ap.add_argument("--cameras", default="1,16", help="camera counts to export, e.g. 1,16")
    ap.add_argument("--segment-seconds", type=int, default=60, help="the recorder's default")
    ap.add_argument("--kbps", type=int, default=2000)
    ap.add_argument("--size", default="1280x720")
    args = ap.parse_args()
    try:
        args.cameras = sorted({int(x) for x in args.cameras.split(",")})
    except ValueError:
        ap.error("--cameras: comma-separated counts, e.g. 1,16")
    if not all(1 <= n <= 64 for n in args.cameras):
        ap.error("--cameras: 1..64 each")
    if not 1 <= args.minutes <= 240 or not 10 <= args.segment_seconds <= 300:
        ap.error("--minutes 1..240, --segment-seconds 10..300")
    if args.minutes * 60 < 2 * args.segment_seconds or not 100 <= args.kbps <= 20_000:
        ap.error("at least two segments of footage; --kbps 100..20000")
    if shutil.which("ffmpeg") is None:
        sys.exit("ffmpeg is needed (scripts/setup installs it)")
    for noisy in ("weasyprint", "fontTools", "alembic"):  # INFO on every step
        logging.getLogger(noisy).setLevel(logging.WARNING)
    tmp = Path(tempfile.mkdtemp(prefix="custos-export-bench-"))
    try:
        run(args, tmp)
    finally:
        for p in tmp.rglob("*"):  # sealed files and folders are read-only
            if not p.is_symlink():
                p.chmod(0o700 if p.is_dir() else 0o600)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
