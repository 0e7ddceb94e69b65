"""What a kill -9 of ``custos recorder`` costs each camera (issue 16). Not part of the test suite.

    .venv/bin/python bench/recorder_crash.py                       # pyav, 3 cameras, 10 kills
    .venv/bin/python bench/recorder_crash.py --engine ffmpeg       # the engine whose children die
    .venv/bin/python bench/recorder_crash.py --kills 3 --cameras 2 # quick

Method: GStreamer's RTSP server (the recorder tests' camera, a 10-s clip at 25 fps, looped)
serves K cameras; one ``custos recorder`` (SQLite, 10-s segments) records them. N times: wait
until every camera records and has sealed a segment since the last start, wait a random 1–9 s
(the kill lands anywhere in a segment), kill -9 the recorder, start a new one at once. At the end
a graceful stop, then, per camera and kill, from the index: the segments before and after the
kill instant; *lost* is 0 when they are consecutive segments of one run (the same connection
went on: the shard's segmenter writes every packet to one file or the next), otherwise the hole
``next.start_at − prev.end_at`` in seconds (and × 25 in frames). Also the reconnections (runs)
and any path indexed twice. Before issue 16's change (shards died with the recorder): median
6 s, 4–10 s over 15 kills.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.integration.recorder.conftest import CameraServer, RecorderProcess, register

from custos.adapters.db.migrate import upgrade
from custos.adapters.media.simcam.clip import make_clip
from custos.bootstrap import bootstrap
from custos.config import Settings
from custos.domain.recording import Segment

FPS = 25
RESULTS = Path(__file__).parent / "results"


def wait_for(check: object, timeout_s: float) -> None:
    assert callable(check)
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"not reached within {timeout_s} s")
        time.sleep(0.2)


def lost_at(segments: list[Segment], killed_at: datetime) -> float:
    """Seconds of footage lost at the kill: 0 if one run went on across it."""
    before = [s for s in segments if s.start_at <= killed_at]
    after = [s for s in segments if s.start_at > killed_at]
    if not before or not after:
        return float("nan")
    prev, nxt = max(before, key=lambda s: s.start_at), min(after, key=lambda s: s.start_at)
    if prev.run_id == nxt.run_id and nxt.sequence == prev.sequence + 1:
        return 0.0
    return max(0.0, (nxt.start_at - prev.end_at).total_seconds())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", default="pyav", choices=["pyav", "ffmpeg"])
    parser.add_argument("--cameras", type=int, default=3)
    parser.add_argument("--kills", type=int, default=10)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="recorder-crash-"))
    clip = make_clip(root / "clip.h264", seconds=10)
    server = CameraServer(clip, [f"cam{i}" for i in range(1, args.cameras + 1)])
    server.start()
    settings = Settings(data_dir=root / "data", recorder_metrics_port=0)
    upgrade(settings.resolved_database_url())
    site = bootstrap(settings)
    ids = register(site, server.urls())
    recorder = RecorderProcess(settings.data_dir, args.engine)
    rng = random.Random(16)
    kills: list[datetime] = []
    try:
        recorder.start()
        for n in range(args.kills):
            started = datetime.now(UTC)

            def sealed_since(since: datetime = started) -> bool:
                return all(
                    any(s.end_at > since for s in site.recording.timeline(i, None, None).segments)
                    for i in ids
                )

            wait_for(sealed_since, 60)
            time.sleep(rng.uniform(1, 9))
            kills.append(datetime.now(UTC))
            recorder.stop(signal.SIGKILL)
            recorder.start()
            print(f"kill {n + 1}/{args.kills} at {kills[-1]:%H:%M:%S}", flush=True)
        last = datetime.now(UTC)
        wait_for(lambda: all(
            any(s.start_at > last + timedelta(seconds=1)
                for s in site.recording.timeline(i, None, None).segments) for i in ids), 60)  # fmt: skip
        recorder.stop()
    finally:
        recorder.stop(signal.SIGKILL)
        server.kill()
    rows = site.recording.indexed()
    paths = [s.path for s in rows]
    lost = []
    runs = {}
    for i in ids:
        segments = sorted(site.recording.timeline(i, None, None).segments, key=lambda s: s.start_at)
        runs[i] = len({s.run_id for s in segments})
        lost += [lost_at(segments, k) for k in kills]
    known = [x for x in lost if x == x]
    result = {
        "engine": args.engine,
        "cameras": args.cameras,
        "kills": args.kills,
        "lost_s": {
            "median": statistics.median(known),
            "min": min(known),
            "max": max(known),
            "zero": sum(1 for x in known if x == 0),
            "measured": len(known),
        },
        "lost_frames_median": round(statistics.median(known) * FPS),
        "runs_per_camera": runs,
        "indexed_twice": len(paths) - len(set(paths)),
    }
    print(json.dumps(result, indent=2))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"recorder_crash_{args.engine}_{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(result, indent=2))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
