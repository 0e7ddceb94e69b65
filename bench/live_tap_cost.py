"""What the live tap (docs/design/live.md, section 1) costs the recording shard, and the delay it
adds. Not part of the test suite.

    .venv/bin/python bench/live_tap_cost.py                          # 16 cameras, 640x360
    .venv/bin/python bench/live_tap_cost.py --cameras 8 --size 1280x720 --kbps 2000

1. CPU: one shard (the pyav engine's ``ShardPool``) records ``--cameras`` RTSP cameras
   (GStreamer's RTSP server replaying a clip, as the recorder's tests do), each with a live
   socket. Windows of ``--window`` seconds, interleaved: no viewer, then one viewer per camera
   (this process reads every socket and throws the bytes away), ``--rounds`` times. The shard's
   CPU (``/proc/<pid>/stat``) per window; the ratio of the means is printed.
2. Delay: in this process, one camera demuxed by PyAV into a ``LiveTap`` with one subscriber:
   for each packet, the time the subscriber got its fragment minus the time the demuxer handed
   the packet over (one frame period is the muxer's own: packet N's fragment is written when
   packet N+1 comes). Also the time ``LiveTap.packet`` takes, watched and not.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import av
from ingest_procfs import CLK_TCK, read_stat

from custos.adapters.media.live_tap import LiveTap
from custos.adapters.media.live_tap_server import live_socket_path
from custos.adapters.media.pyav_segmenter import TimestampMender, frame_ticks
from custos.adapters.media.simcam.clip import make_clip, server_command
from custos.domain.clock import SystemClock
from custos.recorder.engines.pyav import ShardPool
from custos.recorder.port import SessionRequest
from custos.recorder.run_state import RunState


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _shard_cpu_s(pid: int) -> float:
    stat = read_stat(pid)
    return stat.own_ticks / CLK_TCK if stat is not None else 0.0


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


class Viewers:
    """One reader thread per socket, throwing the bytes away, until stopped."""

    def __init__(self, paths: list[Path]) -> None:
        self._conns = []
        for path in paths:
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                conn.connect(f"/proc/self/fd/{fd}/{path.name}")
            finally:
                os.close(fd)
            self._conns.append(conn)
        self.bytes = 0
        self._threads = [threading.Thread(target=self._read, args=(c,)) for c in self._conns]
        for t in self._threads:
            t.start()

    def _read(self, conn: socket.socket) -> None:
        while True:
            try:
                data = conn.recv(1 << 20)
            except OSError:
                return
            if not data:
                return
            self.bytes += len(data)

    def close(self) -> None:
        for conn in self._conns:
            conn.shutdown(socket.SHUT_RDWR)
        for t in self._threads:
            t.join()
        for conn in self._conns:
            conn.close()


def cpu(urls: list[str], work: Path, window_s: float, rounds: int) -> None:
    pool = ShardPool(cameras_per_shard=len(urls), open_timeout_s=10, shard_dir=work / "shards")
    sockets = [live_socket_path(work / "live", i) for i in range(len(urls))]
    try:
        sessions = [
            pool.start(
                SessionRequest(i, url, work / "media" / str(i), 60, 5.0, live_socket=sockets[i]),
                RunState(SystemClock()),
                lambda: None,
            )
            for i, url in enumerate(urls)
        ]
        deadline = time.monotonic() + 30
        while not all(p.exists() for p in sockets):
            if time.monotonic() > deadline:
                sys.exit("the cameras' live sockets did not appear")
            time.sleep(0.1)
        [pid] = [int(p.stem) for p in (work / "shards").glob("*.sock")]
        time.sleep(3)  # every camera connected and past its first keyframe
        results: dict[str, list[float]] = {"0 viewers": [], "1 viewer each": []}
        for _ in range(rounds):
            for label in results:
                viewers = Viewers(sockets) if label != "0 viewers" else None
                if viewers is not None:
                    time.sleep(1)  # the first GOP's burst is not the steady state
                before, started = _shard_cpu_s(pid), time.monotonic()
                time.sleep(window_s)
                used = (_shard_cpu_s(pid) - before) / (time.monotonic() - started)
                results[label].append(used)
                if viewers is not None:
                    viewers.close()
                    mbit = viewers.bytes * 8 / 1e6 / (window_s + 1)
                    print(f"  {label}: {used * 100:5.1f} % of a core ({mbit:.1f} Mbit/s read)")
                else:
                    print(f"  {label}: {used * 100:5.1f} % of a core")
        idle, watched = (statistics.mean(v) for v in results.values())
        per_cam = (watched - idle) / len(urls)
        print(
            f"shard CPU, {len(urls)} cameras: {idle * 100:.1f} % of a core recording, "
            f"{watched * 100:.1f} % with one viewer each: x{watched / idle:.2f} "
            f"(+{per_cam * 100:.2f} % of a core per viewer; recording alone "
            f"{idle / len(urls) * 100:.2f} % per camera)"
        )
        for s in sessions:
            s.terminate()
    finally:
        pool.close()


def delay(url: str, seconds: float) -> None:
    container = av.open(url, options={"rtsp_transport": "tcp"})
    video = container.streams.video[0]
    mender = TimestampMender(frame_ticks(video.guessed_rate, video.time_base))
    tap = LiveTap(video)
    got: list[float] = []
    sub = tap.subscribe()

    def read() -> None:
        while (data := sub.get(1.0)) is not None:
            now = time.perf_counter()
            got.extend([now] * data.count(b"moof"))

    reader = threading.Thread(target=read)
    reader.start()
    handed: list[float] = []
    took_watched: list[float] = []
    end = time.monotonic() + seconds
    for packet in container.demux(video):
        times = mender.mend(packet.pts, packet.dts) if packet.size else None
        if times is None:  # the recording session holds such a packet back, or skips it
            continue
        if handed or packet.is_keyframe:  # the tap's fragments start at a keyframe
            handed.append(time.perf_counter())
        start = time.perf_counter()
        tap.packet(packet, *times)
        took_watched.append(time.perf_counter() - start)
        if time.monotonic() > end:
            break
    sub.close()
    took_idle = []
    for packet in container.demux(video):  # nobody watches: references kept, no muxing
        times = mender.mend(packet.pts, packet.dts) if packet.size else None
        if times is None:
            continue
        start = time.perf_counter()
        tap.packet(packet, *times)
        took_idle.append(time.perf_counter() - start)
        if len(took_idle) >= len(took_watched):
            break
    failed = tap.failed
    tap.close()
    reader.join()
    if failed is not None:
        sys.exit(f"the tap failed: {failed}")
    container.close()
    # fragment i is packet i's (counted from the first keyframe); the last packet's fragment is
    # never written (no next packet), and the first GOP is skipped (the start's own times)
    pairs = list(zip(handed, got, strict=False))[50:]
    delays = [(out - came) * 1000 for came, out in pairs]
    print(
        f"tap delay (packet handed over -> its fragment at the subscriber), {len(delays)} frames: "
        f"p50 {_pct(delays, 0.5):.1f} ms, p95 {_pct(delays, 0.95):.1f} ms, "
        f"p99 {_pct(delays, 0.99):.1f} ms (one frame period is the muxer's own)"
    )
    for label, took in (("watched", took_watched), ("nobody watching", took_idle)):
        us = [t * 1e6 for t in took]
        print(f"LiveTap.packet, {label}: p50 {_pct(us, 0.5):.0f} us, p99 {_pct(us, 0.99):.0f} us")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cameras", type=int, default=16)
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--kbps", type=int, default=500)
    parser.add_argument("--window", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--delay-seconds", type=float, default=10.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="live-tap-cost-") as tmp:
        work = Path(tmp)
        clip = make_clip(work / "clip.h264", seconds=10, size=args.size, kbps=args.kbps)
        port = _free_port()
        mounts = [f"cam{i}" for i in range(args.cameras)]
        server = subprocess.Popen(server_command(clip, port, mounts), stdout=subprocess.PIPE)
        try:
            assert server.stdout is not None
            if server.stdout.readline().strip() != b"ready":
                sys.exit("the RTSP server did not start")
            urls = [f"rtsp://127.0.0.1:{port}/{m}" for m in mounts]
            print(f"{args.cameras} cameras {args.size} {args.kbps} kbit/s 25 fps, GOP 2 s")
            cpu(urls, work, args.window, args.rounds)
            delay(urls[0], args.delay_seconds)
        finally:
            server.kill()
            server.wait()


if __name__ == "__main__":
    main()
