"""Fixtures for the standalone verifier's tests: two short camera clips made with ffmpeg, a
package built from them, and ``custos-verify`` run as the installed command."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.verifier.builder import Built, build

CAMERAS = ("34020000001320000001", "34020000001320000002")
COMMAND = Path(sys.executable).with_name("custos-verify")


def _clip(dest: Path, pattern: str) -> bytes:
    ffmpeg = shutil.which("ffmpeg")
    assert ffmpeg, "ffmpeg is required (scripts/setup installs it)"
    subprocess.run(
        [ffmpeg, "-v", "error", "-f", "lavfi", "-i", f"{pattern}=size=160x120:rate=10",
         "-t", "3", "-c:v", "libx264", "-g", "10", "-pix_fmt", "yuv420p",
         "-movflags", "+faststart", str(dest)],
        check=True,
    )  # fmt: skip
    return dest.read_bytes()


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    d = tmp_path_factory.mktemp("clips")
    return {
        CAMERAS[0]: _clip(d / "a.mp4", "testsrc"),
        CAMERAS[1]: _clip(d / "b.mp4", "smptebars"),
    }


@pytest.fixture
def package(tmp_path: Path, clips: dict[str, bytes]) -> Built:
    return build(tmp_path / "package.zip", clips)


@dataclass(frozen=True)
class Run:
    rc: int
    out: str
    err: str


@pytest.fixture
def verify() -> Callable[..., Run]:
    """``custos-verify ARGS…`` as a subprocess (the console script installed by scripts/setup)."""
    assert COMMAND.exists(), f"{COMMAND} is missing: scripts/setup installs the verifier"

    def run(*args: str | Path, env: dict[str, str] | None = None) -> Run:
        done = subprocess.run(
            [str(COMMAND), *map(str, args)], capture_output=True, text=True, env=env, timeout=120
        )
        return Run(done.returncode, done.stdout, done.stderr)

    return run
