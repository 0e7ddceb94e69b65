"""custos-verify on a 1-hour, 4-camera package (issue 13 §4: goal ≤ 5 s). Not part of the suite.

    .venv/bin/python -m bench.verify_package                  # 4 cameras × 3600 s at 1000 kbit/s
    .venv/bin/python -m bench.verify_package --kbps 4000 --cameras 4 --seconds 3600

Synthetic footage: one minute of ffmpeg's testsrc at 320×240, 25 fps, H.264 at a constant bit
rate (x264 CBR with filler, so the file really has the bit rate asked), then looped by stream
copy to the full length: one hour of media time per camera. The package is built by the test
builder (tests/verifier/builder.py: a real log entry, inclusion proof and signed checkpoint).

Printed: the package's size, then for each of three runs the wall time of the whole
verification (``verify_package``: hashing streamed from the ZIP, signatures, proof, ffprobe on
each MP4), the same without ffprobe, and the installed command ``custos-verify`` end to end.
The package stays in the page cache after it is built (a warm read: a cold one is bounded by
the disk, not by the verifier). With ``--html``, also verify.html in headless Chromium (from
picking the file to the verdict).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from custos_verify.checks import verify_package
from custos_verify.media import find_ffprobe
from tests.verifier.builder import build


def footage(dest: Path, seconds: int, kbps: int, pattern: str, work: Path) -> Path:
    minute = work / f"{pattern}-minute.mp4"
    if not minute.exists():
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"{pattern}=size=320x240:rate=25",
             "-t", "60", "-c:v", "libx264", "-preset", "ultrafast", "-g", "50",
             "-b:v", f"{kbps}k", "-minrate", f"{kbps}k", "-maxrate", f"{kbps}k",
             "-bufsize", f"{kbps}k", "-x264-params", "nal-hrd=cbr:filler=1",
             "-pix_fmt", "yuv420p", str(minute)],
            check=True,
        )  # fmt: skip
    loops = max(1, seconds // 60) - 1
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-stream_loop", str(loops), "-i", str(minute),
         "-c", "copy", "-t", str(seconds), str(dest)],
        check=True,
    )  # fmt: skip
    return dest


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cameras", type=int, default=4, choices=range(1, 17))
    ap.add_argument("--seconds", type=int, default=3600)
    ap.add_argument("--kbps", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=3, choices=range(1, 11))
    ap.add_argument("--html", action="store_true", help="also time verify.html in Chromium")
    args = ap.parse_args()
    if not 60 <= args.seconds <= 6 * 3600 or not 100 <= args.kbps <= 20_000:
        ap.error("--seconds 60..21600, --kbps 100..20000")
    if not (shutil.which("ffmpeg") and find_ffprobe()):
        sys.exit("ffmpeg and ffprobe are needed (scripts/setup installs them)")
    patterns = ("testsrc", "smptebars", "rgbtestsrc", "testsrc2")
    with tempfile.TemporaryDirectory(prefix="verify-bench-") as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        videos: dict[str, bytes | Path] = {}
        for i in range(args.cameras):
            code = f"3402000000132{i:07d}"
            videos[code] = footage(
                work / f"{code}.mp4", args.seconds, args.kbps, patterns[i % 4], work
            )
        built = build(work / "package.zip", videos)
        for v in videos.values():
            Path(str(v)).unlink()
        size = built.path.stat().st_size
        print(
            f"package: {args.cameras} cameras × {args.seconds} s at {args.kbps} kbit/s, "
            f"{size / 1e6:.0f} MB, built in {time.perf_counter() - t0:.0f} s"
        )
        command = Path(sys.executable).with_name("custos-verify")
        for run in range(1, args.runs + 1):
            t = time.perf_counter()
            verify_package(built.path, built.fingerprint, find_ffprobe())
            full = time.perf_counter() - t
            t = time.perf_counter()
            verify_package(built.path, built.fingerprint, None)
            bare = time.perf_counter() - t
            t = time.perf_counter()
            done = subprocess.run(
                [str(command), str(built.path), "--fingerprint", built.fingerprint],
                capture_output=True,
                check=False,
            )
            cli = time.perf_counter() - t
            assert done.returncode == 0, done.stdout
            print(
                f"run {run}: verified in {full:.2f} s (ffprobe included; "
                f"{size / 1e6 / full:.0f} MB/s), {bare:.2f} s without ffprobe, "
                f"custos-verify command {cli:.2f} s"
            )
        if args.html:
            for run in range(1, args.runs + 1):
                seconds, state = in_browser(built.path, built.fingerprint)
                print(f"verify.html run {run}: {state} in {seconds:.2f} s")


def in_browser(package: Path, fingerprint: str) -> tuple[float, str]:
    import custos_verify
    from playwright.sync_api import sync_playwright

    page_file = Path(custos_verify.__file__).parent / "html" / "verify.html"
    states = ("verified", "unpinned", "incomplete", "failed", "unreadable")
    done = ",".join(f"#verdict[data-state={s}]" for s in states)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox"]
        )
        page = browser.new_page()
        page.goto(page_file.as_uri())
        page.fill("#fingerprint", fingerprint)
        t = time.perf_counter()
        page.set_input_files("#package", str(package))
        page.wait_for_selector(done, timeout=600_000)
        seconds = time.perf_counter() - t
        state = page.locator("#verdict").get_attribute("data-state") or "?"
        browser.close()
    return seconds, state


if __name__ == "__main__":
    main()
