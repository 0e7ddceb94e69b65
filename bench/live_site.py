"""The site ``bench/live_delay.py`` measures: clock cameras (``simcam/clock_camera.py``), a fresh
data directory with them registered as the demo unit's cameras, ``custos serve`` (web + recorder)
run from the installed Custos or from another source tree (``--src``, e.g. an older commit's, to
measure a baseline), and the server's CPU from /proc (``ingest_procfs.py``).

Run as a program it is the setup step, in a child whose ``PYTHONPATH`` is the site's source tree
(its migrations, its registry): ``live_site.py DATA_DIR [--sub] URL…`` prints ``user password``.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import ingest_procfs as procfs

ROOT = Path(__file__).resolve().parents[1]
CAMERA = ROOT / "src" / "custos" / "adapters" / "media" / "simcam" / "clock_camera.py"
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's, with ``gi``


@dataclass
class Site:
    base: str
    user: str
    password: str
    server_pid: int | None  # custos serve: its tree is "the server"
    camera_pid: int | None  # the clock cameras (not the server's CPU)
    cameras: int


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def setup(data: Path, urls: list[str], sub: bool) -> None:
    """Run in a child with the site's source tree: migrate, register the clock cameras as the
    demo unit's, print the demo operator's sign-in (``user password``)."""
    from custos.bootstrap import bootstrap, migrate
    from custos.config import Settings
    from custos.domain.calendar import shanghai_date
    from custos.domain.users import SYSTEM
    from custos.entrypoints.demo.cameras import DEMO_CREDIT_CODE, register_demo_cameras
    from custos.entrypoints.demo.users import demo_operator

    settings = Settings(data_dir=data)
    migrate(settings)
    c = bootstrap(settings)
    today = shanghai_date(c.clock.now())
    if sub:
        register_demo_cameras(c.registry, urls, today, [f"{u}-sub" for u in urls])  # type: ignore[call-arg, unused-ignore]
    else:
        register_demo_cameras(c.registry, urls, today)
    unit = next(u for u in c.registry.list_units(SYSTEM) if u.credit_code == DEMO_CREDIT_CODE)
    sign_in = demo_operator(c.auth, unit.id or 0)
    c.close()
    assert sign_in is not None
    print(sign_in.username, sign_in.password, flush=True)


@contextmanager
def own_site(gop_s: float, cameras: int, codec: str, a: argparse.Namespace) -> Iterator[Site]:
    """Clock cameras + a fresh data directory with them registered + ``custos serve``, run from
    ``a.src`` (a source tree, e.g. an older commit's) or the installed Custos."""
    data = Path(tempfile.mkdtemp(prefix="custos-live-delay-"))
    rtsp, port = free_port(), free_port()
    argv = [SYSTEM_PYTHON, str(CAMERA), "--port", str(rtsp), "--mounts", str(cameras)]
    argv += ["--gop-s", str(gop_s), "--codec", codec, "--size", a.size]
    cam = subprocess.Popen(argv + (["--sub"] if a.sub else []), stdout=subprocess.PIPE)
    env = {**os.environ, "CUSTOS_RECORDER_METRICS_PORT": "0", "CUSTOS_LOG_LEVEL": "WARNING"}
    if codec == "h265":  # every tile of every browser transcoded (the default allows 2)
        env["CUSTOS_LIVE_TRANSCODES"] = str(min(32, cameras * a.browsers))
    if a.src:
        env["PYTHONPATH"] = str(Path(a.src).resolve() / "src")
    server: subprocess.Popen[bytes] | None = None
    try:
        assert cam.stdout is not None
        if cam.stdout.readline().strip() != b"ready":
            raise SystemExit("the clock cameras did not start")
        urls = [f"rtsp://127.0.0.1:{rtsp}/clock{n}" for n in range(1, cameras + 1)]
        made = subprocess.run(
            [sys.executable, __file__, str(data), *(["--sub"] if a.sub else []), *urls],
            env=env, capture_output=True, check=True,
        )  # fmt: skip
        user, password = made.stdout.decode().split()[-2:]
        log = (data / "serve.log").open("wb")
        server = subprocess.Popen(
            [sys.executable, "-m", "custos", "serve", "--data-dir", str(data), "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        wait_healthy(base, server, data / "serve.log")
        yield Site(base, user, password, server.pid, cam.pid, cameras)
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
        cam.terminate()
        cam.wait(10)


def wait_healthy(base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"custos serve exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"custos serve did not start: {log.read_text()[-2000:]}")


def wait_recording(site: Site, timeout_s: float = 90.0) -> str:
    """Wait until the recorder says ``recording`` for every camera the operator sees; a line
    saying how long that took (or which were not, at the timeout)."""
    t0 = time.monotonic()
    with httpx.Client(base_url=f"{site.base}/api/v1", timeout=10) as http:
        token = http.post(
            "/auth/login", json={"username": site.user, "password": site.password}
        ).json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"
        ids = [c["id"] for c in http.get("/cameras").json()]
        states: dict[int, str] = {}
        while time.monotonic() - t0 < timeout_s:
            states = {i: str(http.get(f"/cameras/{i}/health").json().get("state")) for i in ids}
            if all(s == "recording" for s in states.values()):
                return f"all {len(ids)} cameras recording after {time.monotonic() - t0:.1f} s"
            time.sleep(1)
    late = {i: s for i, s in states.items() if s != "recording"}
    return f"not recording after {timeout_s:.0f} s: {late}"


def cpu_window(site: Site, seconds: float) -> tuple[float, float, float]:
    """Cores used over ``seconds`` by the web server (serve itself), the recorder (serve's
    descendants, the reaped ones included) and the clock cameras."""
    assert site.server_pid is not None
    root = site.server_pid

    def read() -> tuple[float, float, float]:
        stats = procfs.all_stats()
        server = procfs.tree(root, stats)
        web = next((p.own_ticks for p in server if p.pid == root), 0) / procfs.CLK_TCK
        cams = [stats[site.camera_pid]] if site.camera_pid in stats else []
        return web, procfs.cpu_seconds(server) - web, procfs.cpu_seconds(cams)

    a, t0 = read(), time.monotonic()
    time.sleep(seconds)
    b, dt = read(), time.monotonic() - t0
    web, rec, cams = ((y - x) / dt for x, y in zip(a, b, strict=True))
    return web, rec, cams


if __name__ == "__main__":
    args = [x for x in sys.argv[2:] if x != "--sub"]
    setup(Path(sys.argv[1]), args, "--sub" in sys.argv[2:])
