"""Segment files on local disk: where they go, how they are sealed, and where strays are put.

Layout under the media root::

    <camera id>/<run id>/<sequence:06d>.mp4     recorded segments (read-only once sealed)
    quarantine/<original relative path>          files found at start-up that could not be adopted

The run id is unique per connection, so a name never collides with an earlier one.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

QUARANTINE = "quarantine"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class SealedFile:
    bytes: int
    sha256: str


class SegmentStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def run_dir(self, camera_id: int, run_id: str) -> Path:
        d = self.root / str(camera_id) / run_id
        d.mkdir(parents=True, exist_ok=True)
        _fsync_dir(d.parent)
        return d

    def relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def absolute(self, relative: str) -> Path:
        return self.root / relative

    def seal(self, path: Path) -> SealedFile:
        """fsync the file and its directory, hash it, make it read-only."""
        with path.open("rb") as f:
            os.fsync(f.fileno())
            digest = hashlib.sha256()
            size = 0
            while chunk := f.read(_CHUNK):
                digest.update(chunk)
                size += len(chunk)
        _fsync_dir(path.parent)
        path.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        return SealedFile(size, digest.hexdigest())

    def hash_of(self, relative: str) -> str:
        digest = hashlib.sha256()
        with self.absolute(relative).open("rb") as f:
            while chunk := f.read(_CHUNK):
                digest.update(chunk)
        return digest.hexdigest()

    def size_of(self, relative: str) -> int | None:
        try:
            return self.absolute(relative).stat().st_size
        except FileNotFoundError:
            return None

    def segment_files(self) -> Iterator[str]:
        """Every segment file under the root, quarantine excluded, as relative paths."""
        if not self.root.exists():
            return
        for p in sorted(self.root.glob("*/*/*.mp4")):
            rel = self.relative(p)
            if not rel.startswith(QUARANTINE + "/"):
                yield rel

    def quarantine(self, relative: str) -> str:
        target = self.root / QUARANTINE / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(self.absolute(relative), target)
        _fsync_dir(target.parent)
        return self.relative(target)

    def free_bytes(self) -> int:
        self.root.mkdir(parents=True, exist_ok=True)
        return shutil.disk_usage(self.root).free


def _fsync_dir(d: Path) -> None:
    fd = os.open(d, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
