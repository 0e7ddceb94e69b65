"""A real Custos for browser tests: ``custos demo`` (simulated RTSP cameras + recorder + API/UI)
on free ports in a temporary data directory, users of each role, an archive camera with a
recorded minute, and Debian's Chromium driven by Playwright.

Chromium is required: without /usr/bin/chromium these tests fail (scripts/setup installs it).
Screenshots go to ``test-artifacts/screenshots/`` at the repository root.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from custos.adapters.storage.segment_files import SegmentStore
from custos.bootstrap import Container, bootstrap
from custos.config import Settings
from custos.domain.access import Role
from custos.domain.recording import Segment
from custos.domain.rules.terms import ApproverRole
from custos.domain.users import SYSTEM, UserProfile
from custos.services.registry import CameraInput
from tests.api.access_world import make_clip
from tests.api.conftest import admin, app, client, login_as  # noqa: F401 (fixtures for contracts)
from tests.ports import free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct horse battery staple"
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-artifacts" / "screenshots"
ARCHIVE_SEGMENTS = 6  # six 10-second segments: a recorded minute


@dataclass
class Site:
    base: str
    data_dir: Path
    container: Container
    live_camera: int
    archive_camera: int
    archive_start: datetime
    users: dict[str, int] = field(default_factory=dict)

    def add_user(self, name: str, role: Role, **kw: object) -> None:
        unit_id = kw.pop("unit_id", None)
        profile = UserProfile(
            str(kw.get("full_name", "")),
            kw.get("jurisdiction"),  # type: ignore[arg-type]
            kw.get("title"),  # type: ignore[arg-type]
            (),
        )
        u = self.container.auth.create_user(SYSTEM, name, role, PASSWORD, unit_id, profile)  # type: ignore[arg-type]
        self.users[name] = u.id or 0


def _wait_healthy(base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"custos demo exited: {log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{base}/api/v1/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    pytest.fail(f"custos demo did not start: {log.read_text()[-3000:]}")


def _archive(c: Container, camera_id: int, clip: Path, start: datetime) -> None:
    store = SegmentStore(c.settings.resolved_media_dir())
    now = c.clock.now()
    for seq in range(ARCHIVE_SEGMENTS):
        path = store.run_dir(camera_id, "20200101T000000Z-archiv") / f"{seq:06d}.mp4"
        shutil.copyfile(clip, path)
        sealed = store.seal(path)
        at = start + timedelta(seconds=10 * seq)
        c.recording.seal(
            Segment(
                None, camera_id, "20200101T000000Z-archiv", seq, store.relative(path), at,
                at + timedelta(seconds=10), 10.0, sealed.bytes, sealed.sha256, "h264", 320, 240, now,
            )
        )  # fmt: skip


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is required for the UI tests (scripts/setup --dev)")
    data = tmp_path_factory.mktemp("ui") / "data"
    data.mkdir()
    port, rtsp = free_port(), free_port()
    log = data.parent / "custos.log"
    env = {**os.environ, "CUSTOS_RECORDER_METRICS_PORT": "0", "CUSTOS_LOG_LEVEL": "WARNING"}
    cmd = [
        sys.executable, "-m", "custos", "demo", "--data-dir", str(data), "--cameras", "2",
        "--rtsp-port", str(rtsp), "--port", str(port), "--segment-seconds", "10",
    ]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, proc, log)
        c = bootstrap(Settings(data_dir=data))
        live = next(cam for cam in c.registry.list_cameras(SYSTEM) if cam.name == "Demo camera 1")
        clip = make_clip(data.parent / "clip.mp4")
        archive = c.registry.create_camera(
            SYSTEM,
            CameraInput(
                site_id=live.site_id,
                address_code="11010500001320009999",
                name="Archive camera",
                location_categories=["shopping_mall"],
            ),
        )
        start = (c.clock.now() - timedelta(hours=1)).replace(microsecond=0)
        assert archive.id is not None and live.id is not None
        _archive(c, archive.id, clip, start)
        s = Site(base, data, c, live.id, archive.id, start)
        unit_id = c.registry.list_sites(SYSTEM)[0].unit_id
        s.add_user("admin", Role.ADMIN)
        s.add_user("duty", Role.OPERATOR, unit_id=unit_id, full_name="值班员甲")
        s.add_user("manager", Role.UNIT_MANAGER, unit_id=unit_id)
        s.add_user("officer", Role.OFFICER, full_name="赵警官")
        s.add_user(
            "head", Role.APPROVER, full_name="孙局长", title=ApproverRole.HEAD_OF_POLICE_COUNTY_PLUS
        )
        s.add_user("locky", Role.OPERATOR, unit_id=unit_id)
        yield s
        c.close()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    # Playwright starts Chromium with a fresh temporary --user-data-dir of its own.
    b = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
    yield b
    b.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def login(page: Page, site: Site, username: str) -> None:
    page.goto(f"{site.base}/ui/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url("**/ui/")


def open_playback(page: Page, site: Site, start: datetime, end: datetime) -> None:
    """The playback page on the archive camera, its range from ``start`` to ``end`` submitted."""
    page.goto(
        f"{site.base}/ui/playback?cameras={site.archive_camera}"
        f"&from={quote(start.isoformat())}&to={quote(end.isoformat())}"
    )
    page.wait_for_selector("#camera-select option")
    page.click("#range-form button[type=submit]")


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
