"""How far behind real time the duty wall is (issue 17 §3), in headless Chromium, and what each
live viewer costs the server against recording the camera. Not part of the test suite.

    .venv/bin/python bench/live_delay.py                       # GOPs 1, 2, 4 s; 16 cameras each
    .venv/bin/python bench/live_delay.py --gops 2 --seconds 10 --layouts 16 --browsers 1
    .venv/bin/python bench/live_delay.py --codec h265 --cameras 4 --gops 2   # the transcoded path
    .venv/bin/python bench/live_delay.py --base http://127.0.0.1:8080 --user U --password P

For each GOP a site of its own: a temporary data directory, ``--cameras`` clock cameras
(``simcam/clock_camera.py``: each frame carries the time it was made, burnt in at the top-left)
registered as the demo unit's cameras, and ``custos serve`` (web + recorder). With ``--base`` the
running site is used as it is (its wall's first tiles should show clock cameras).

1. Delay: the wall in layouts 1, 4, 16 (``--layouts``); a tile that has not started within 2 s
   is clicked (today's wall waits for a click, the reworked one starts by itself). After a warm-up
   of two GOPs, ``--seconds`` of samples: for each presented frame, in the page
   (``live_delay_page.js``), presentation time (``performance.timeOrigin +
   expectedDisplayTime``) minus the frame's time code. Same machine, same clock.
2. Click -> first presented frame, with 16 tiles live: each tile in turn stopped and clicked
   again; a wall without a stop button is reloaded instead (open -> first frame).
3. Server CPU (``/proc``: ``custos serve`` and its children, i.e. the web server and the
   recorder) over ``--cpu-seconds``: with no viewer (recording only), then 16 tiles in one
   browser, then 16 tiles in each of ``--browsers`` browser contexts. Per viewer: the rise over
   recording divided by the viewers, as a ratio to recording's CPU per camera. The clock cameras'
   own CPU is printed apart (not the server's).

Prints p50/p95/p99 (nearest rank) and exits 0. Uses Debian's Chromium (never downloads one).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:  # run as a script or as bench.live_delay: siblings by name
    sys.path.insert(0, str(BENCH))

from live_site import Site, cpu_window, own_site, wait_recording  # noqa: E402
from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402
from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: E402

PAGE_SCRIPT = (BENCH / "live_delay_page.js").read_text()
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]
VIEWPORT = {"width": 1600, "height": 1000}


def pct(xs: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, round(q * len(s) + 0.5) - 1))]


def summary(xs: list[float], unit: str = "ms") -> str:
    if not xs:
        return "no samples"
    return (
        f"n={len(xs)} p50={pct(xs, 0.5):.0f} p95={pct(xs, 0.95):.0f} p99={pct(xs, 0.99):.0f} "
        f"max={max(xs):.0f} {unit}"
    )


# --- the wall --------------------------------------------------------------------------------


def open_wall(browser: Browser, site: Site) -> Page:
    ctx = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    ctx.add_init_script(PAGE_SCRIPT)
    page = ctx.new_page()
    page.goto(f"{site.base}/ui/login")
    page.fill("input[name=username]", site.user)
    page.fill("input[name=password]", site.password)
    page.click("#login-form button[type=submit]")
    page.wait_for_url("**/ui/")
    page.goto(f"{site.base}/ui/wall")
    page.wait_for_selector(".tile[data-tile='0'] video", state="attached")
    return page


def started(page: Page, i: int) -> bool:
    return bool(
        page.evaluate(
            "i => { const v = document.querySelector(`.tile[data-tile='${i}'] video`);"
            " return !!v && v.readyState >= 2 && !v.paused; }",
            i,
        )
    )


def show(page: Page, tiles: int) -> None:
    """Layout of ``tiles``; every tile playing (clicked if it did not start within 2 s)."""
    button = page.locator(f"button[data-layout='{tiles}']")
    if button.count():
        button.first.click()
    page.wait_for_selector(f".tile[data-tile='{tiles - 1}'] video", state="attached")
    time.sleep(2)
    for i in range(tiles):
        if not started(page, i):
            page.locator(f".tile[data-tile='{i}']").click()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not all(started(page, i) for i in range(tiles)):
        time.sleep(0.2)


def states(page: Page, tiles: int) -> str:
    """What the tiles that did not start say (their state, then their state line)."""
    out = []
    for i in range(tiles):
        if not started(page, i):
            said = page.evaluate(
                "i => { const t = document.querySelector(`.tile[data-tile='${i}']`);"
                " const l = t && t.querySelector('[data-live]');"
                " return t ? [t.dataset.state || '', l ? l.textContent : ''].join(' ') : ''; }",
                i,
            )
            out.append(f"tile {i}: {said.strip()[:80] or '(says nothing)'}")
    return "; ".join(out)


def paths(page: Page) -> str:
    """The paths the tiles say they use (the reworked wall: main/sub/transcoded, tap/node/file)."""
    found: list[str] = page.evaluate(
        "() => [...document.querySelectorAll('.tile [data-path]')]"
        ".map(e => e.dataset.path).filter(Boolean)"
    )
    return ", ".join(f"{p} x{found.count(p)}" for p in sorted(set(found))) or "not shown"


def sample(page: Page, seconds: float) -> tuple[dict[int, list[float]], str]:
    """Delay samples per tile over ``seconds``; a note of what else was seen: unreadable codes,
    frames presented a second, the page's clock against the system's, the machine's load."""
    page.evaluate("() => { __bench.samples = []; __bench.bad = 0; __bench.sampling = true; }")
    t0 = time.monotonic()
    time.sleep(seconds)
    got: dict[str, Any] = page.evaluate(
        "() => { __bench.sampling = false; return {s: __bench.samples, bad: __bench.bad,"
        " frames: __bench.presented(),"
        " skew: Date.now() - (performance.timeOrigin + performance.now())}; }"
    )
    dt = time.monotonic() - t0
    per: dict[int, list[float]] = {}
    for tile, delay, _code in got["s"]:
        per.setdefault(int(tile), []).append(float(delay))
    fps = got["frames"] / dt / max(1, len(per))
    note = (
        f"unreadable codes {got['bad']}, {fps:.1f} frames/s presented a tile, page clock "
        f"{got['skew']:+.0f} ms off the system's, load {os.getloadavg()[0]:.1f}"
    )
    return per, note


def click_to_first(page: Page, tiles: int, rounds: int) -> tuple[list[float], str]:
    """Each tile stopped then clicked, ``rounds`` times; without a stop button the wall is
    reloaded and the first frame of every tile is timed from the page's start."""
    page.evaluate("() => { __bench.firsts = []; }")
    stop = page.locator(".tile[data-tile='0'] [data-stop]")
    if not (stop.count() and stop.first.is_visible()):
        out: list[float] = []
        for _ in range(rounds):
            page.reload()
            page.wait_for_selector(f".tile[data-tile='{tiles - 1}'] video", state="attached")
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                firsts = page.evaluate("() => __bench.firsts.filter(f => f.from === 'load')")
                if len(firsts) >= tiles:
                    break
                time.sleep(0.2)
            out += [float(f["ms"]) for f in firsts]
        return out, "open wall -> first presented frame (tiles start by themselves)"
    skipped = failed = 0
    for _ in range(rounds):
        for i in range(tiles):
            tile = page.locator(f".tile[data-tile='{i}']")
            stop = tile.locator("[data-stop]")
            if not (started(page, i) and stop.is_visible()):
                skipped += 1  # not playing: nothing to restart
                continue
            stop.click()
            time.sleep(0.3)
            tile.click()
            try:
                page.wait_for_function(
                    "i => __bench.firsts.some(f => f.tile === i && f.from === 'click')", arg=i,
                    timeout=20000,
                )  # fmt: skip
            except PlaywrightTimeout:
                failed += 1
            page.evaluate(
                "() => __bench.firsts.forEach(f => { if (f.from === 'click') f.from = 'timed'; })"
            )
            time.sleep(0.2)
    firsts = page.evaluate("() => __bench.firsts.filter(f => f.from === 'timed')")
    what = "click -> first presented frame"
    if skipped or failed:
        what += f" ({skipped} tiles not playing skipped, {failed} without a frame in 20 s)"
    return [float(f["ms"]) for f in firsts], what


def codecs(page: Page) -> str:
    found: dict[str, bool] = page.evaluate(
        "() => Object.fromEntries(['avc1.42E01E', 'hvc1.1.6.L93.B0', 'hev1.1.6.L93.B0'].map("
        'c => [c, MediaSource.isTypeSupported(`video/mp4; codecs="${c}"`)]))'
    )
    return ", ".join(f"{k}={'yes' if v else 'no'}" for k, v in found.items())


# --- one site's run ----------------------------------------------------------------------------


@dataclass
class Result:
    label: str
    codec: str
    gop_s: float
    delays: dict[int, list[float]]  # layout -> samples
    firsts: list[float]
    per_viewer: dict[int, float]  # browsers -> server CPU per viewer / recording CPU per camera


def playing(pages: list[Page], tiles: int) -> int:
    return sum(started(p, i) for p in pages for i in range(tiles))


def run_site(
    browser: Browser, site: Site, codec: str, gop_s: float, a: argparse.Namespace
) -> Result:
    label = f"{codec} GOP {gop_s:g} s"
    print(f"== {label}: {site.cameras} cameras, {site.base}", flush=True)
    warm = max(3.0, 2 * gop_s)
    idle = None
    if site.server_pid is not None:
        print(f"  {wait_recording(site)}", flush=True)
        time.sleep(2 * gop_s + 2)  # two fragments written: the old wall's file tail has one
        idle = cpu_window(site, a.cpu_seconds)
        print(
            f"  recording only: web {idle[0]:.3f} + children {idle[1]:.3f} cores "
            f"= {(idle[0] + idle[1]) / site.cameras * 100:.2f} % of a core per camera; "
            f"clock cameras {idle[2] / site.cameras * 100:.2f} % per camera (not the server's)",
            flush=True,
        )
    page = open_wall(browser, site)
    print(f"  Chromium MSE: {codecs(page)}", flush=True)
    result = Result(label, codec, gop_s, {}, [], {})
    layouts = [n for n in a.layouts if n <= site.cameras]
    for n in layouts:
        show(page, n)
        time.sleep(warm)
        per, note = sample(page, a.seconds)
        xs = [d for v in per.values() for d in v]
        result.delays[n] = xs
        missing = states(page, n)
        print(
            f"  {n:2d} tiles: delay {summary(xs)}; tiles with frames {len(per)}/{n}; {note}; "
            f"paths {paths(page)}" + (f"; not playing: {missing}" if missing else ""),
            flush=True,
        )
    top = max(layouts)
    xs, what = click_to_first(page, top, a.rounds)
    result.firsts = xs
    print(f"  {what}, {top} tiles: {summary(xs)}", flush=True)
    if idle is None:
        page.context.close()
        return result
    pages = [page]
    for browsers in sorted({1, a.browsers}):
        while len(pages) < browsers:
            pages.append(open_wall(browser, site))
            show(pages[-1], top)
        time.sleep(warm)
        viewers = playing(pages, top)
        web, rec, _cams = cpu_window(site, a.cpu_seconds)
        recording = (idle[0] + idle[1]) / site.cameras
        per_viewer = (web + rec - idle[0] - idle[1]) / max(1, viewers)
        result.per_viewer[browsers] = per_viewer / recording
        print(
            f"  {browsers} browser(s), {viewers} viewers: web {web:.3f} + children {rec:.3f} cores; "
            f"per viewer {per_viewer * 100:.2f} % of a core = {per_viewer / recording:.2f} x "
            "recording one camera",
            flush=True,
        )
    for p in pages:
        p.context.close()
    return result


def report(results: list[Result]) -> None:
    print("\n== summary (delay = presented - captured, ms; goal p50 <= 500, p99 <= 1000)")
    for r in results:
        for n, xs in r.delays.items():
            line = f"  {r.label:18s} {n:2d} tiles: {summary(xs)}"
            base = next(
                (
                    b
                    for b in results
                    if b.codec == "h264" and b.gop_s == r.gop_s and b.delays.get(n)
                ),
                None,
            )
            if r.codec != "h264" and base is not None and xs:
                line += f"  (+{pct(xs, 0.5) - pct(base.delays[n], 0.5):.0f} ms p50 over h264)"
            print(line)
        print(f"  {r.label:18s} first frame: {summary(r.firsts)} (goal p99 <= 300 ms)")
        for b, ratio in r.per_viewer.items():
            print(f"  {r.label:18s} server CPU per viewer, {b} browser(s): {ratio:.2f} x recording")


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--gops", default="1,2,4", help="GOPs in seconds, one site each")
    ap.add_argument("--codecs", default="h264", help="h264, h265 or h264,h265")
    ap.add_argument("--cameras", type=int, default=None, help="default 16 (h265: 4)")
    ap.add_argument("--layouts", default="1,4,16")
    ap.add_argument("--seconds", type=float, default=15.0, help="delay samples per layout")
    ap.add_argument("--rounds", type=int, default=1, help="click -> first frame: rounds")
    ap.add_argument("--browsers", type=int, default=4)
    ap.add_argument("--cpu-seconds", type=float, default=10.0)
    ap.add_argument("--size", default="640x360")
    ap.add_argument("--sub", action="store_true", help="cameras have sub streams (half size)")
    ap.add_argument("--base", default=None, help="a running site instead of our own")
    ap.add_argument("--user", default=None)
    ap.add_argument("--password", default=None)
    ap.add_argument("--server-pid", type=int, default=None, help="with --base: custos serve's pid")
    ap.add_argument("--src", default=None, help="run the site from this source tree")
    a = ap.parse_args()
    # SIGTERM unwinds like Ctrl-C: each site's server and cameras are stopped on the way out
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    a.layouts = sorted(int(n) for n in a.layouts.split(","))
    results = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        if a.base:
            if not (a.user and a.password):
                raise SystemExit("--base needs --user and --password")
            site = Site(a.base, a.user, a.password, a.server_pid, None, a.cameras or 16)
            results.append(run_site(browser, site, "site", float(a.gops.split(",")[-1]), a))
        for codec in a.codecs.split(",") if not a.base else []:
            cameras = a.cameras or (4 if codec == "h265" else 16)
            for gop in (float(g) for g in a.gops.split(",")):
                with own_site(gop, cameras, codec, a) as site:
                    results.append(run_site(browser, site, codec, gop, a))
        browser.close()
    report(results)


if __name__ == "__main__":
    main()
