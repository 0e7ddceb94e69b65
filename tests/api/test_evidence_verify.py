"""Packages from a real staff export (custos-evidence/1, W1's builder) checked the way a court or
a journalist would: ``custos-verify`` as a separate process and the package's own verify.html in
headless Chromium, both with no server. Then the package is tampered with and both name the
culprit. SQLite and PostgreSQL (the ``world`` fixture)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import custos_verify
import pytest
from playwright.sync_api import Browser, sync_playwright

from custos.domain.access import Role
from tests.api.access_world import XIAN, World
from tests.api.builders import API
from tests.api.test_access_requests import approved_request, post
from tests.verifier.builder import flip_byte, members, resigned, rezip

COMMAND = Path(sys.executable).with_name("custos-verify")
CHROMIUM = Path("/usr/bin/chromium")
DONE = ",".join(
    f"#verdict[data-state={s}]"
    for s in ("verified", "unpinned", "incomplete", "failed", "unreadable")
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.exists(), "Chromium is required (scripts/setup installs it)"
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        yield b
        b.close()


def _find(w: World, sha256: str) -> Path:
    root = Path(w.container.settings.data_dir) / "exports"
    found = [p for p in root.glob("*.zip") if hashlib.sha256(p.read_bytes()).hexdigest() == sha256]
    assert len(found) == 1
    return found[0]


def _export_key(w: World) -> str:
    """The fingerprint as the server publishes it (GET /api/v1/keys), not from the package."""
    published = w.client.get(f"{API}/keys").json()
    (fp,) = [k["fingerprint"] for k in published if k["kind"] == "export" and k["current"]]
    return str(fp)


def _export(w: World) -> Path:
    manager = w.person("manager1", Role.UNIT_MANAGER, unit_id=w.unit_id)
    body = {"camera_ids": [w.cameras[XIAN]], **w.range(12.52, 25.2), "purpose": "东门事件核查"}
    r = w.client.post(f"{API}/exports", json=body, headers=manager)
    assert r.status_code == 201, r.text
    return _find(w, r.json()["sha256"])


def _cli(path: Path, fp: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(COMMAND), str(path), "--fingerprint", fp],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def _page(browser: Browser, page_file: Path, package: Path, fp: str) -> tuple[str, str]:
    ctx = browser.new_context(offline=True)
    try:
        pg = ctx.new_page()
        pg.goto(page_file.as_uri())
        pg.fill("#fingerprint", fp)
        pg.set_input_files("#package", str(package))
        pg.wait_for_selector(DONE, timeout=60_000)
        v = pg.locator("#verdict")
        return v.get_attribute("data-state") or "", v.get_attribute("data-culprit") or ""
    finally:
        ctx.close()


@pytest.mark.slow
def test_a_staff_export_verifies_offline_and_its_tampering_is_named(
    world: World, browser: Browser, tmp_path: Path
) -> None:
    package = _export(world)
    inside = members(package)
    fingerprint = _export_key(world)
    export_pub = bytes.fromhex(inside["keys/export.pub"].decode().strip())
    assert hashlib.sha256(export_pub).hexdigest() == fingerprint

    # The page in the package is this verifier's, and it is what the court opens.
    page_file = tmp_path / "verify.html"
    page_file.write_bytes(inside["verify.html"])
    assert (
        inside["verify.html"]
        == (Path(custos_verify.__file__).parent / "html" / "verify.html").read_bytes()
    )

    done = _cli(package, fingerprint)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "media: each of the 1 MP4 files decodes (ffprobe)" in done.stdout
    assert _page(browser, page_file, package, fingerprint) == ("verified", "")

    (video,) = [n for n in inside if n.startswith("video/")]
    tampers = [
        (flip_byte(package, tmp_path / "a.zip", video, len(inside[video]) // 2), "hashes", video),
        (rezip(package, tmp_path / "b.zip", drop=("custody.pdf",)), "entry", "custody.pdf"),
        (flip_byte(package, tmp_path / "b2.zip", "custody.pdf", 200), "entry", "custody.pdf"),
        (resigned(package, tmp_path / "c.zip"), "key", "keys/export.pub"),
    ]
    for bad, step, culprit in tampers:
        done = _cli(bad, fingerprint)
        assert done.returncode == 1, done.stdout
        assert f"FAILED  {step}: {culprit}:" in done.stdout, done.stdout
        assert _page(browser, page_file, bad, fingerprint) == ("failed", culprit)


@pytest.mark.slow
def test_an_executed_copy_grant_verifies_offline(world: World) -> None:
    req = approved_request(world, XIAN, "copy")
    r = post(world, f"/requests/{req['id']}/execute", "officer")
    assert r.status_code == 200, r.text
    done = _cli(_find(world, r.json()["sha256"]), _export_key(world))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "VERIFIED: the package is as exported" in done.stdout
