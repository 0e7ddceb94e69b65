"""verify.html in headless Chromium (Debian's, driven by Playwright): the page opened from disk,
offline, runs the same checks with WebCrypto and names the first failure."""

from __future__ import annotations

import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import custos_verify
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.verifier.builder import Built, build, flip_byte, members, resigned, rezip
from tests.verifier.conftest import CAMERAS, COMMAND

VIDEO_B = f"video/{CAMERAS[1]}.mp4"
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
PAGE = Path(custos_verify.__file__).parent / "html" / "verify.html"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.exists(), "Chromium is required (scripts/setup installs it)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    ctx = browser.new_context(offline=True)
    pg = ctx.new_page()
    requests: list[str] = []
    pg.on("request", lambda r: requests.append(r.url))
    yield pg
    assert all(u.startswith(("file:", "blob:")) for u in requests), requests  # nothing fetched
    ctx.close()


def check(page: Page, package: Path, fingerprint: str = "") -> tuple[str, str, list[str]]:
    """Pick the package (the page verifies at once); the verdict's state, culprit and steps."""
    page.goto(PAGE.as_uri())  # a fresh page: no verdict left from the previous package
    page.fill("#fingerprint", fingerprint)
    page.set_input_files("#package", str(package))
    done = ",".join(
        f"#verdict[data-state={s}]"
        for s in ("verified", "unpinned", "incomplete", "failed", "unreadable")
    )
    page.wait_for_selector(done, timeout=60_000)  # a selector: the page's CSP forbids eval
    verdict = page.locator("#verdict")
    steps = page.locator("#steps li").all_inner_texts()
    return (
        verdict.get_attribute("data-state") or "",
        verdict.get_attribute("data-culprit") or "",
        steps,
    )


def test_the_page_has_ed25519_here_and_verifies_a_package(page: Page, package: Built) -> None:
    state, _, steps = check(page, package.path, package.fingerprint)
    assert state == "verified", steps
    assert len(steps) == 8 + 3, steps  # the eight steps and three lines of what it holds
    assert (
        "the manifest: kind export, unit 测试单位, exported 2026-11-20T02:00:00.000000Z" in steps[7]
    )
    assert not any("NOT CHECKED" in s for s in steps)
    assert steps[-1].startswith("media: each of the 2 MP4 files plays in this browser"), steps


def test_without_a_fingerprint_it_says_the_key_is_unvouched(page: Page, package: Built) -> None:
    state, _, steps = check(page, package.path)
    assert state == "unpinned"
    assert any("only as trusted as wherever its fingerprint came from" in s for s in steps)


def test_each_tamper_is_named(page: Page, package: Built, tmp_path: Path) -> None:
    m = members(package.path)
    at_proof = m["log/proof.json"].index(b'"path": ["') + 12
    cases = [
        (flip_byte(package.path, tmp_path / "1.zip", VIDEO_B, len(m[VIDEO_B]) // 2), "hashes", VIDEO_B),
        (flip_byte(package.path, tmp_path / "2.zip", "manifest.json", m["manifest.json"].index(b"tamper test")), "signature", "manifest.json"),
        (flip_byte(package.path, tmp_path / "3.zip", "log/proof.json", at_proof), "inclusion", "log/proof.json"),
        (rezip(package.path, tmp_path / "4.zip", replace={f"video/{CAMERAS[0]}.mp4": m[VIDEO_B]}), "hashes", f"video/{CAMERAS[0]}.mp4"),
        (rezip(package.path, tmp_path / "5.zip", drop=("custody.pdf",)), "entry", "custody.pdf"),
        (flip_byte(package.path, tmp_path / "5b.zip", "custody.pdf", 12), "entry", "custody.pdf"),
        (rezip(package.path, tmp_path / "5c.zip", replace={"custody.pdf": b"%PDF-1.7 another package's sheet\n"}), "entry", "custody.pdf"),
        (rezip(package.path, tmp_path / "6.zip", add={"notes.txt": b"x"}), "contents", "notes.txt"),
        (resigned(package.path, tmp_path / "7.zip"), "key", "keys/export.pub"),
    ]  # fmt: skip
    hidden = tmp_path / "8.zip"
    hidden.write_bytes(b"hidden payload " * 10 + package.path.read_bytes())
    cases.append((hidden, "contents", "bytes 0..150 of the ZIP file"))
    for path, step, culprit in cases:
        state, named, steps = check(page, path, package.fingerprint)
        assert (state, named) == ("failed", culprit), (path.name, steps)
        assert steps[-1].startswith(f"{step}: {culprit}:"), steps


def test_a_publication_package_with_its_sheet_verifies_and_a_swapped_sheet_is_named(
    page: Page, clips: dict[str, bytes], package: Built, tmp_path: Path
) -> None:
    """A masked copy is sealed like any package, its custody sheet bound by the entry's
    custody_sha256: the page and the command treat it alike (tests/api/test_publications.py
    swaps the sheet of a real one)."""
    sheet = b"%PDF-1.7 a publication's custody sheet\n"
    masked = build(tmp_path / "pub.zip", clips, sheet=sheet, kind="publication")
    state, _, steps = check(page, masked.path, masked.fingerprint)
    assert state == "verified", steps
    assert any("and the custody sheet (custody.pdf)" in s for s in steps), steps
    assert any(s.startswith("the manifest: kind publication") for s in steps), steps
    theirs = members(package.path)["custody.pdf"]
    swapped = rezip(masked.path, tmp_path / "swapped.zip", replace={"custody.pdf": theirs})
    state, named, steps = check(page, swapped, masked.fingerprint)
    assert (state, named) == ("failed", "custody.pdf"), steps
    assert steps[-1].startswith("entry: custody.pdf: its SHA-256 is not the one"), steps
    done = subprocess.run(
        [str(COMMAND), str(swapped), "--fingerprint", masked.fingerprint],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 1 and "FAILED  entry: custody.pdf:" in done.stdout, done.stdout


NO_ED25519 = """
const importKey = crypto.subtle.importKey.bind(crypto.subtle);
crypto.subtle.importKey = (format, data, algorithm, ...rest) =>
  algorithm && algorithm.name === "Ed25519"
    ? Promise.reject(new DOMException("Ed25519 is not supported", "NotSupportedError"))
    : importKey(format, data, algorithm, ...rest);
"""


def test_a_browser_without_ed25519_is_told_the_signatures_were_not_checked(
    page: Page, package: Built
) -> None:
    page.add_init_script(NO_ED25519)  # as an older browser's WebCrypto answers
    state, _, steps = check(page, package.path, package.fingerprint)
    assert state == "incomplete", steps
    assert sum("NOT CHECKED" in s for s in steps) == 2, steps
    assert "could not be checked in this browser" in (page.locator("#verdict").inner_text())


def test_a_file_that_is_not_a_zip_is_unreadable(page: Page, tmp_path: Path) -> None:
    bad = tmp_path / "x.zip"
    bad.write_bytes(b"not a zip at all")
    state, _, _ = check(page, bad)
    assert state == "unreadable"


def test_a_zip64_package_is_read(
    page: Page, package: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Packages over 4 GB use ZIP64 records; here forced on a small one by lowering zipfile's
    limit while it is written (sizes and offsets in ZIP64 extras, the ZIP64 end records)."""
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", 1000)
    big = rezip(package.path, tmp_path / "zip64.zip")
    monkeypatch.undo()
    assert b"PK\x06\x06" in big.read_bytes()[-200:]  # the ZIP64 end of central directory
    state, _, steps = check(page, big, package.fingerprint)
    assert state == "verified", (page.locator("#verdict").inner_text(), steps)
    done = subprocess.run(
        [str(COMMAND), str(big), "--fingerprint", package.fingerprint],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout
