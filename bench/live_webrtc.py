"""WebRTC (aiortc) against frame-level fMP4 over MSE, one camera, measured side by side (issue 17).

    .venv/bin/python bench/live_webrtc.py [--seconds 30] [--gops 1 2 4] [--viewers 1]

For each GOP (seconds) one simulated camera burns its capture wall-clock time (ms since the
epoch) into the top-left of every frame; it is served over RTSP (H.264, x264 zerolatency). The
bench's server (a child process, so its CPU is its own) then feeds the same camera to headless
Chromium (Debian's, never downloaded) in two ways, one after the other:

- **webrtc**: aiortc, ``MediaPlayer(rtsp, options={"rtsp_transport": "tcp"}, decode=False)``:
  the camera's H.264 packets re-packetised into RTP (no decoding, no re-encode; it relies on the
  camera sending SPS/PPS in-band before each IDR, as the clock camera does), signalled through
  ``POST /offer``; the page offers H.264 only (aiortc answers with the first codec of the offer
  it knows, VP8, and the browser then drops every frame); Chromium's jitter buffer untouched;
- **mse**: Custos's own path: ``PyAvPull`` -> ``LiveTap`` (the web server's pull of a stream the
  recorder does not record): frame-level fragmented MP4 into a WebSocket; the page appends it to
  a ``SourceBuffer`` and keeps near the live edge (see the page's ``LAG_*``).

The page decodes the time code of every presented frame (``requestVideoFrameCallback`` -> canvas)
and records ``delay = performance.timeOrigin + expectedDisplayTime - code_ms`` (one machine, one
clock). Printed per GOP and path: frames presented and the share whose code read well; p50/p95/
p99 delay; first frame (page loaded -> first frame presented, the RTSP open and the wait for a
keyframe included, the same for both paths; the slowest viewer); the MSE page's jumps to the
live edge, ``waiting`` events (stalls) and median media buffered ahead of the playhead; the
server's CPU (process CPU seconds / wall seconds while the path plays) and that per viewer.

The camera is ``simcam/clock_camera.py`` (Debian's ``/usr/bin/python3``, it needs ``gi``), kept
streaming by an ``ffmpeg -c copy`` client as by a recorder, so a viewer joins mid-GOP as on a real
site. Each path opens its own RTSP connection, shared by its viewers (``--viewers N`` pages at
once): one pull for MSE, one track through aiortc's ``MediaRelay`` for WebRTC.

aiortc installs next to the project's PyAV 18 without changing it (``.venv/bin/pip install
aiortc``, 1.16: aioice, pylibsrtp, pyopenssl, pyee, dnspython, google-crc32c); it is a bench-only
dependency, not one of Custos's.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # siblings by name
from live_delay import CHROMIUM_ARGS  # one set of Chromium flags for the benches

HERE = Path(__file__).resolve()
ROOT = HERE.parent.parent
CAMERA = ROOT / "src/custos/adapters/media/simcam/clock_camera.py"
PAGE = HERE.with_name("live_webrtc.html")
SYSTEM_PYTHON = "/usr/bin/python3"


# --- the server (a child process: its CPU is the figure) -----------------------------------------


def serve(rtsp: str, port: int) -> None:
    """The page, ``POST /offer`` (WebRTC), ``GET /mse`` (WebSocket), ``POST /reset``."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from aiohttp import web
    from aiortc import RTCPeerConnection, RTCSessionDescription
    from aiortc.contrib.media import MediaPlayer, MediaRelay

    from custos.adapters.media.live_pull_av import PyAvPull  # the web server's own pull
    from custos.adapters.media.live_tap import QUEUE_BYTES
    from custos.services.live_tail import codec_of

    pool = ThreadPoolExecutor(32)
    pcs: set[RTCPeerConnection] = set()
    shared: dict[str, Any] = {}  # "player", "relay", "pull"

    async def page(_request: web.Request) -> web.StreamResponse:
        return web.FileResponse(PAGE)

    async def offer(request: web.Request) -> web.StreamResponse:
        params = await request.json()
        if "player" not in shared:  # opening RTSP blocks: not on the event loop
            shared["player"] = await asyncio.get_running_loop().run_in_executor(
                pool, lambda: MediaPlayer(rtsp, options={"rtsp_transport": "tcp"}, decode=False)
            )
            shared["relay"] = MediaRelay()
        pc = RTCPeerConnection()
        pcs.add(pc)
        await pc.setRemoteDescription(RTCSessionDescription(params["sdp"], params["type"]))
        pc.addTrack(shared["relay"].subscribe(shared["player"].video))
        await pc.setLocalDescription(await pc.createAnswer())
        answer = pc.localDescription
        return web.json_response({"sdp": answer.sdp, "type": answer.type})

    async def mse(request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        loop = asyncio.get_running_loop()
        if "pull" not in shared:
            shared["pull"] = PyAvPull(rtsp, "bench camera")
        sub = await loop.run_in_executor(pool, shared["pull"].subscribe, QUEUE_BYTES, 15.0)
        first = True
        try:
            while not ws.closed:
                data = await loop.run_in_executor(pool, sub.get, 0.5)
                if data is None:
                    break
                if not data:
                    continue
                if first:
                    await ws.send_str(json.dumps({"codec": codec_of(data)}))
                    first = False
                await ws.send_bytes(data)
        finally:
            sub.close()
        return ws

    async def reset(_request: web.Request) -> web.StreamResponse:
        for pc in list(pcs):
            await pc.close()
        pcs.clear()
        if "player" in shared:
            shared.pop("player").video.stop()
            shared.pop("relay")
        if "pull" in shared:
            await asyncio.get_running_loop().run_in_executor(pool, shared.pop("pull").close)
        return web.json_response({})

    app = web.Application()
    app.router.add_get("/", page)
    app.router.add_post("/offer", offer)
    app.router.add_get("/mse", mse)
    app.router.add_post("/reset", reset)
    web.run_app(app, host="127.0.0.1", port=port, print=lambda *_: print("ready", flush=True))


# --- the driver ----------------------------------------------------------------------------------


def free_ports(n: int) -> list[int]:
    """``n`` distinct free ports (all held open while chosen)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


def wait_streaming(rtsp: str) -> None:
    """Until the camera sends a keyframe (a loaded machine starts it slowly)."""
    import av

    with av.open(rtsp, options={"rtsp_transport": "tcp"}, timeout=20) as container:
        for packet in container.demux(container.streams.video[0]):
            if packet.is_keyframe:
                return


def cpu_s(pid: int) -> float:
    """utime + stime of a process, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def started(cmd: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """A child that prints ``ready`` once it listens."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != "ready":
        proc.kill()
        raise SystemExit(f"{cmd[1]} did not start: {line!r}")
    return proc


def stop(proc: subprocess.Popen[Any], sig: int = signal.SIGINT) -> None:
    proc.send_signal(sig)
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]


def measure(
    browser: Any, base: str, server_pid: int, path: str, seconds: float, viewers: int
) -> dict[str, Any]:
    """``viewers`` pages play ``path`` for ``seconds``; their figures and the server's CPU."""
    before, wall0 = cpu_s(server_pid), time.monotonic()
    pages = []
    for _ in range(viewers):
        page = browser.new_page()
        page.goto(f"{base}/?path={path}")
        pages.append(page)
    time.sleep(seconds)
    results = [page.evaluate("window.bench") for page in pages]
    cpu, wall = cpu_s(server_pid) - before, time.monotonic() - wall0
    pages[0].request.post(f"{base}/reset")
    for page in pages:
        page.close()
    delays = [d for r in results for d in r["delays"]]
    errors = [r["error"] for r in results if r["error"]]
    firsts = [r["firstFrameMs"] for r in results if r["firstFrameMs"] is not None]
    return {
        "delays": delays,
        "first": max(firsts) if len(firsts) == viewers else None,
        "frames": sum(r["frames"] for r in results),
        "unread": sum(r["unread"] for r in results),
        "jumps": sum(r["jumps"] for r in results),
        "stalls": sum(r["stalls"] for r in results),
        "lags": [x for r in results for x in r["lags"]],
        "cpu": cpu / wall,
        "viewers": viewers,
        "errors": errors,
    }


def run(args: argparse.Namespace) -> None:
    from playwright.sync_api import sync_playwright

    rows = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for gop in args.gops:
            cam_port, web_port = free_ports(2)
            camera = started(
                [SYSTEM_PYTHON, str(CAMERA), "--port", str(cam_port), "--gop-s", str(gop)]
            )
            rtsp = f"rtsp://127.0.0.1:{cam_port}/clock1"
            recorder = subprocess.Popen(  # keeps the camera streaming, as a recorder would
                [
                    "ffmpeg",
                    "-v",
                    "quiet",
                    "-rtsp_transport",
                    "tcp",
                    "-i",
                    rtsp,
                    "-c",
                    "copy",
                    "-f",
                    "null",
                    "-",
                ],
                stdin=subprocess.DEVNULL,
            )
            env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
            server = started(
                [sys.executable, str(HERE), "serve", "--rtsp", rtsp, "--port", str(web_port)],
                env,
            )
            try:
                wait_streaming(rtsp)
                for path in args.paths:
                    r = measure(
                        browser,
                        f"http://127.0.0.1:{web_port}",
                        server.pid,
                        path,
                        args.seconds,
                        args.viewers,
                    )
                    rows.append((gop, path, r))
                    print(row_text(gop, path, r), flush=True)
            finally:
                stop(server)
                recorder.terminate()
                recorder.wait()
                stop(camera, signal.SIGTERM)
        browser.close()
    print()
    print(HEADER)
    for gop, path, r in rows:
        print(row_text(gop, path, r))


HEADER = (
    "GOP s  path    frames  read  p50 ms  p95 ms  p99 ms  first ms  jumps  stalls  ahead ms"
    "  CPU  CPU/viewer"
)


def row_text(gop: float, path: str, r: dict[str, Any]) -> str:
    d = r["delays"]
    if not d:
        return f"{gop:<6} {path:<7} no frame read ({r['frames']} frames; {r['errors']})"
    first = "-" if r["first"] is None else f"{r['first']:.0f}"
    ahead = f"{statistics.median(r['lags']):.0f}" if r["lags"] else "-"
    return (
        f"{gop:<6} {path:<7} {r['frames']:>6}  {len(d) / max(1, r['frames']):>4.0%}  "
        f"{pct(d, 0.5):>6.0f}  {pct(d, 0.95):>6.0f}  {pct(d, 0.99):>6.0f}  {first:>8}  "
        f"{r['jumps']:>5}  {r['stalls']:>6}  {ahead:>8}  {r['cpu']:>4.1%}"
        f"  {r['cpu'] / r['viewers']:>10.2%}" + (f"  errors: {r['errors']}" if r["errors"] else "")
    )


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        sp = argparse.ArgumentParser()
        sp.add_argument("--rtsp", required=True)
        sp.add_argument("--port", type=int, required=True)
        a = sp.parse_args(sys.argv[2:])
        serve(a.rtsp, a.port)
        return
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--seconds", type=float, default=30.0, help="each path, each GOP")
    ap.add_argument("--gops", type=float, nargs="+", default=[1.0, 2.0, 4.0])
    ap.add_argument("--paths", nargs="+", choices=("webrtc", "mse"), default=["webrtc", "mse"])
    ap.add_argument("--viewers", type=int, default=1, help="pages playing at once")
    run(ap.parse_args())


if __name__ == "__main__":
    main()
