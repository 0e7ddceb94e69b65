"""The GB/T 28181 media relay alone: N channels fed by ``gb_replay.py`` (the bench clip as PS over
RTP/UDP, real-time), each read by a TCP client that discards; the relay thread's CPU over the
window (``time.thread_time`` inside it), optionally under cProfile. Not part of the test suite.

    .venv/bin/python -m bench.gb_relay_cost --channels 100 --seconds 20
    .venv/bin/python -m bench.gb_relay_cost --channels 100 --seconds 20 --profile

Printed: the relay thread's CPU in % of one core, per channel and per packet (µs), the packets
received (from the channels' reorder statistics); with ``--profile`` the top functions by own
time. No recording engine runs: this is the relay's cost and nothing else.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import os
import pstats
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # ingest.py imports its siblings by name

import gb_ps_clip
import ingest

from custos.adapters.sip.media_control import MediaControlClient
from custos.domain.gb_media import MediaOffer
from custos.recorder.engines.gb_relay import MediaRelay, RelayChannel
from custos.recorder.lifeline import dies_with_parent


def _drain(conns: list[socket.socket], stop: threading.Event) -> None:
    """Read and discard every channel's stream, as the engine's demuxer would read it."""
    sel = selectors.DefaultSelector()
    for c in conns:
        c.setblocking(False)
        sel.register(c, selectors.EVENT_READ)
    while not stop.is_set():
        for key, _ in sel.select(0.1):
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            with contextlib.suppress(BlockingIOError):
                sock.recv(1 << 20)


def _cpu_s(pid: int) -> float:
    rest = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")


def main(argv: list[str]) -> None:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--channels", type=int, default=100)
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--warmup", type=float, default=3.0)
    p.add_argument("--profile", action="store_true")
    args = p.parse_args(argv)
    if not 1 <= args.channels <= 1000 or not 1 <= args.seconds <= 600:
        p.error("--channels 1..1000, --seconds 1..600")
    work = Path(tempfile.mkdtemp(prefix="custos-relay-"))
    sock_path = work / "run" / "gb-media.sock"
    ps = gb_ps_clip.make_ps(ingest.make_clip(ingest.CACHE), ingest.FPS)
    gen = subprocess.Popen(
        [
            *(sys.executable, str(ingest.BENCH / "gb_replay.py"), "--ps", str(ps)),
            *("--socket", str(sock_path), "--control", "--nice", "-10"),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=dies_with_parent(signal.SIGKILL),
    )
    assert gen.stdout is not None
    if not gen.stdout.readline().startswith("ready"):
        raise SystemExit("the load generator did not start")
    relay = MediaRelay()
    signalling = MediaControlClient(sock_path)
    channels, readers = [], []
    for k in range(1, args.channels + 1):
        media = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        media.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        media.bind(("127.0.0.1", 0))
        loopback = socket.create_server(("127.0.0.1", 0))
        src = f"1101050000131{k:07d}"
        offer = MediaOffer(src, src, "127.0.0.1", media.getsockname()[1], "udp")
        answer = signalling.invite(offer, 5.0)
        channel = RelayChannel(f"ch{k}", "udp", media, loopback, int(answer.ssrc), print)
        relay.add(channel)
        channels.append(channel)
        readers.append(socket.create_connection(("127.0.0.1", channel.loopback_port)))
    stop = threading.Event()
    threading.Thread(target=_drain, args=(readers, stop), daemon=True).start()
    time.sleep(args.warmup)

    # Measure inside the relay's thread: wrap its loop step.
    profiler = cProfile.Profile() if args.profile else None
    spent = {"cpu": 0.0}
    once = relay._once

    def measured_once() -> None:
        t = time.thread_time()
        if profiler is not None:
            profiler.runcall(once)
        else:
            once()
        spent["cpu"] += time.thread_time() - t

    received0 = sum(c.reorder.stats.received for c in channels)
    relay._once = measured_once  # type: ignore[method-assign]
    t0 = time.monotonic()
    time.sleep(args.seconds)
    relay._once = once  # type: ignore[method-assign]
    wall = time.monotonic() - t0
    received = sum(c.reorder.stats.received for c in channels) - received0
    lost = sum(c.reorder.stats.lost for c in channels)
    stop.set()
    cpu_pct = spent["cpu"] / wall * 100
    print(
        f"relay, {args.channels} channels, {wall:.1f} s: thread CPU {cpu_pct:.1f} % of a core "
        f"({cpu_pct / args.channels:.3f} % per channel), {received / wall:.0f} packets/s, "
        f"{spent['cpu'] / max(1, received) * 1e6:.1f} µs CPU per packet, {lost} lost"
        + (" (under cProfile: slower)" if profiler else "")
    )
    if profiler is not None:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(18)
        print(out.getvalue())
    stats = work / "stats.json"
    gen.stdin.write(f"stats {stats}\n")  # type: ignore[union-attr]
    gen.stdin.flush()  # type: ignore[union-attr]
    gen.stdout.readline()
    snap = json.loads(stats.read_text())
    sent = sum(s["packets_sent"] for s in snap["sessions"])
    print(
        f"load generator: {sent} packets sent in all, lateness max {snap['late_max_s']:.3f} s, "
        f"{snap['late_bursts']} bursts, CPU {_cpu_s(gen.pid):.1f} s since its start"
    )
    for c in readers:
        c.close()
    relay.close()
    assert gen.stdin is not None
    gen.stdin.close()
    gen.wait(10)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
