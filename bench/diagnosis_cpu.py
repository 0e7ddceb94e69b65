"""CPU of video quality diagnosis: 100 cameras sampled once per 30 s, against the recorder's own
work on the same footage, measured in the same run. Not part of the test suite.

    .venv/bin/python bench/diagnosis_cpu.py [--cameras 100] [--rounds 3]

Method
------
1. A 1080p25 H.264 clip (``testsrc2``, 2 Mbit/s, a keyframe every 50 frames: the clip
   ``bench/ingest.py`` records) is cut into 10-s fragmented-MP4 segments like the recorder's.
2. A real Custos (SQLite, a fresh data directory) with N in-service cameras (the demo
   registration), each reported ``recording``. Per round, each camera gets a newly sealed
   segment and the clock moves 30 s; ``DiagnosisService.tick()`` then samples all N: the
   database reads and writes, one keyframe decoded with PyAV, the metrics, the reference
   compared, the latest sample written. CPU = this process's user+system time over the tick
   (``time.process_time``, all threads). Round 1 (acceptance: references taken) is reported
   apart; the rest are the steady state.
3. The recorder's work per camera for the same 30 s of footage, in the same run: the PyAV
   stream copy the recorder's engine does (demux the H.264 packets of three 10-s segments and
   mux them into fragmented MP4), timed the same way. Receiving RTSP is not included, so the
   recorder's true cost is higher (``docs/design/recording.md``: 0.36-0.40 % of a core per
   1080p camera measured with ``bench/ingest.py``) and the ratio printed is an upper bound.

Prints: CPU seconds per sample, % of one core per camera at one sample per 30 s, and the ratio
to the stream copy of the same 30 s.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import av  # noqa: E402

from custos.adapters.db.migrate import upgrade  # noqa: E402
from custos.adapters.storage.segment_files import SegmentStore  # noqa: E402
from custos.bootstrap import bootstrap  # noqa: E402
from custos.config import Settings  # noqa: E402
from custos.domain.calendar import shanghai_date  # noqa: E402
from custos.domain.clock import ManualClock  # noqa: E402
from custos.domain.recording import CameraHealth, RecorderState, Segment  # noqa: E402
from custos.entrypoints.demo.cameras import register_demo_cameras  # noqa: E402

PERIOD_S = 30.0


def make_segments(work: Path) -> list[Path]:
    out = work / "seg%03d.mp4"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi",
         "-i", "testsrc2=size=1920x1080:rate=25", "-t", "30", "-c:v", "libx264",
         "-preset", "veryfast", "-pix_fmt", "yuv420p", "-g", "50", "-keyint_min", "50",
         "-sc_threshold", "0", "-bf", "0", "-b:v", "2M", "-maxrate", "2M", "-bufsize", "4M",
         "-f", "segment", "-segment_time", "10", "-segment_format", "mp4",
         "-segment_format_options", "movflags=+frag_keyframe+empty_moov+default_base_moof",
         "-reset_timestamps", "1", str(out)],
        check=True,
    )  # fmt: skip
    return sorted(work.glob("seg*.mp4"))


def stream_copy(segments: list[Path], dst: Path) -> None:
    """The recorder engine's work on 30 s of one camera: packets copied into fMP4 files, one
    per 10-s segment."""
    for n, seg in enumerate(segments):
        target = dst.with_name(f"{dst.stem}-{n}.mp4")
        with av.open(str(seg)) as src, av.open(
            str(target), "w", format="mp4",
            options={"movflags": "+frag_keyframe+empty_moov+default_base_moof"},
        ) as out:  # fmt: skip
            istream = src.streams.video[0]
            ostream = out.add_stream_from_template(istream)
            for packet in src.demux(istream):
                if packet.dts is None:
                    continue
                packet.stream = ostream
                out.mux(packet)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cameras", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="custos-diagnosis-cpu-"))
    try:
        segments = make_segments(work)
        settings = Settings(data_dir=work / "data")
        upgrade(settings.resolved_database_url())
        clock = ManualClock(datetime(2026, 11, 20, 2, 0, tzinfo=UTC))
        c = bootstrap(settings, clock=clock)
        urls = [f"rtsp://127.0.0.1:8554/cam{i}" for i in range(args.cameras)]
        cams = register_demo_cameras(c.registry, urls, shanghai_date(clock.now()))
        store = SegmentStore(settings.resolved_media_dir())
        per_sample: list[float] = []
        first = 0.0
        for rnd in range(args.rounds):
            clock.advance(timedelta(seconds=PERIOD_S))
            now = clock.now()
            health = []
            for cid in cams:
                path = store.run_dir(cid, "bench") / f"{rnd:06d}.mp4"
                shutil.copyfile(segments[rnd % len(segments)], path)
                sealed = store.seal(path)
                c.recording.seal(
                    Segment(None, cid, "bench", rnd, store.relative(path),
                            now - timedelta(seconds=10), now, 10.0, sealed.bytes, sealed.sha256,
                            "h264", 1920, 1080, now)
                )  # fmt: skip
                health.append(CameraHealth(cid, RecorderState.RECORDING, None, "", now, now,
                                           25.0, 2000.0, now))  # fmt: skip
            c.recording.publish_health(health)
            t0 = time.process_time()
            report = c.diagnosis.tick()
            spent = time.process_time() - t0
            assert len(report.sampled) == len(cams), report
            if rnd == 0:
                first = spent / len(cams)
            else:
                per_sample.append(spent / len(cams))
        copy_s = []
        for i in range(5):
            t0 = time.process_time()
            stream_copy(segments, work / f"copy{i}.mp4")
            copy_s.append(time.process_time() - t0)
        c.close()
        sample = statistics.median(per_sample)
        copy = statistics.median(copy_s)
        print(f"cameras: {len(cams)}; 1080p25 H.264 2 Mbit/s; one sample per {PERIOD_S:.0f} s")
        print(f"acceptance round (references taken): {first * 1000:.1f} ms CPU per camera")
        print(f"steady state: {sample * 1000:.1f} ms CPU per sample (median of {len(per_sample)} "
              f"rounds of {len(cams)})")  # fmt: skip
        print(f"  = {sample / PERIOD_S * 100:.3f} % of one core per camera (goal <= 0.5 %)")
        print(f"recorder's stream copy of the same 30 s: {copy * 1000:.1f} ms CPU "
              f"= {copy / PERIOD_S * 100:.3f} % of one core per camera (without RTSP)")  # fmt: skip
        print(f"ratio diagnosis / recorder stream copy: {sample / copy:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
