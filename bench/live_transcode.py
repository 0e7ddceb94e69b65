"""What one viewer's H.265 -> H.264 transcode costs (docs/design/live.md, section 2): the
ffmpeg child's CPU seconds per second of video, and the delay it adds to each frame.

Measured 2026-12-07 on the shared 2-core machine at load 15-16: 640x360 median 93 ms added
(p90 144), 0.08 CPU s per s; 1280x720 median 93 ms (p90 103), 0.19 CPU s per s.

A real H.265 sample (testsrc2, 25 fps, a keyframe a second, made by ffmpeg's libx265) is handed
to a :class:`LiveTap` at the camera's rate, one viewer subscribes, and its frame-level fMP4 goes
through :func:`custos.services.live_transcode.transcoded`. The delay of frame *n* is the time
from its H.265 fragment reaching the transcoder to its H.264 fragment coming out.

    .venv/bin/python bench/live_transcode.py [--size 640x360 --size 1280x720] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import av

from custos.adapters.media.live_tap import LiveTap, codec_string
from custos.services.live_relay import BoxRelay, Dropped, Fragments, Init, Status
from custos.services.live_transcode import transcoded

Piece = Init | Status | Dropped | Fragments
FPS = 25


def make_sample(path: Path, size: str, seconds: int) -> None:
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi",
         "-i", f"testsrc2=size={size}:rate={FPS}", "-t", str(seconds), "-c:v", "libx265",
         "-preset", "ultrafast", "-x265-params", f"keyint={FPS}:bframes=0:log-level=error",
         "-pix_fmt", "yuv420p", str(path)],
        check=True,
    )  # fmt: skip


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


async def run(sample: Path) -> tuple[list[float], float, float, int, int]:
    container = av.open(str(sample))
    video = container.streams.video[0]
    tap = LiveTap(video, codec_string(video))
    sub = tap.subscribe(8 << 20)
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[bytes | None] = asyncio.Queue()
    sent: list[float] = []  # when each H.265 fragment reached the transcoder

    def record() -> None:
        for packet in container.demux(video):
            if packet.size and packet.pts is not None and packet.dts is not None:
                tap.packet(packet, packet.pts, packet.dts)
                time.sleep(1 / FPS)
        time.sleep(0.5)
        tap.close()

    def read() -> None:
        while (data := sub.get(0.5)) is not None:
            if data:
                loop.call_soon_threadsafe(queue.put_nowait, data)
        loop.call_soon_threadsafe(queue.put_nowait, None)

    async def source() -> AsyncIterator[Piece]:
        relay = BoxRelay()
        while (data := await queue.get()) is not None:
            for piece in relay.pieces(data):
                if isinstance(piece, Fragments):
                    now = time.monotonic()
                    sent.extend([now] * piece.data.count(b"moof"))
                yield piece

    threading.Thread(target=record, daemon=True).start()
    threading.Thread(target=read, daemon=True).start()
    cpu0, wall0 = children_cpu(), time.monotonic()
    out: list[float] = []
    codec = None
    async for piece in transcoded(source()):
        if isinstance(piece, Init):
            codec = piece.codec
        elif isinstance(piece, Fragments):
            out.extend([time.monotonic()] * piece.data.count(b"moof"))
    await asyncio.sleep(0.3)  # the child reaped
    wall = time.monotonic() - wall0
    cpu = children_cpu() - cpu0
    if codec is None or not codec.startswith("avc1"):
        raise SystemExit(f"the transcode gave no H.264 init (codec {codec})")
    n = min(len(sent), len(out))
    # the last frames leave only when the input ends: not a live frame's delay
    delays = [out[i] - sent[i] for i in range(n - 3)]
    return delays, cpu, wall, len(sent), len(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", action="append", default=None)
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as d:
        for size in args.size or ["640x360", "1280x720"]:
            sample = Path(d) / f"{size}.mp4"
            make_sample(sample, size, args.seconds)
            delays, cpu, wall, n_in, n_out = asyncio.run(run(sample))
            video_s = n_in / FPS
            q = statistics.quantiles(delays, n=10)
            print(
                f"{size}: {n_in} frames in, {n_out} out; delay added median "
                f"{statistics.median(delays) * 1000:.0f} ms, p90 {q[-1] * 1000:.0f} ms; "
                f"CPU {cpu / video_s:.3f} s per second of video ({cpu:.2f} s over {wall:.1f} s)"
            )


if __name__ == "__main__":
    main()
