"""Segment files on local disk: where they go, how they are sealed, and where strays are put.

Layout under each volume (volume 0 is the media root, the others come from
``CUSTOS_MEDIA_VOLUMES``, in that order)::

    <camera id>/<run id>/<sequence:06d>.mp4     recorded segments (read-only once sealed)
    quarantine/<original relative path>          files found at start-up that could not be adopted
    quarantine/<original relative path>.torn     the torn tail cut off a segment before sealing

The run id is unique per connection, so a name never collides with an earlier one.

A segment's relative path (the index's ``path``) names its volume: on volume 0 it is exactly what
it always was, ``<camera>/<run>/<seq>.mp4``; on volume N > 0 it is ``@vN/<camera>/<run>/<seq>.mp4``.
Only this class turns such a path into a file (``absolute``) or back (``relative``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

QUARANTINE = "quarantine"
REFUSED = "refused"  # segments the index refused for a stale lease token (docs/design/cluster.md)
VOLUME_PREFIX = "@v"
MARKER = ".custos-volume"  # in each volume: its number, so a reordered setting is caught
_CHUNK = 1 << 20


class UnknownVolumeError(LookupError):
    """A path names a volume that is not configured (``CUSTOS_MEDIA_VOLUMES`` lost an entry)."""


def split_volume(relative: str) -> tuple[int, str]:
    """``"@v2/7/run/000001.mp4"`` → ``(2, "7/run/000001.mp4")``; a path without the prefix is
    on volume 0 and comes back unchanged."""
    head, sep, rest = relative.partition("/")
    if not head.startswith(VOLUME_PREFIX):
        return 0, relative
    digits = head.removeprefix(VOLUME_PREFIX)
    if not sep or not rest or not digits.isdigit() or digits != str(int(digits)) or digits == "0":
        raise ValueError(f"not a volume path: {relative!r}")
    return int(digits), rest


def on_volume(volume: int, inner: str) -> str:
    """The relative path of ``inner`` on ``volume`` (the inverse of ``split_volume``)."""
    if volume < 0:
        raise ValueError(f"no volume {volume}")
    return inner if volume == 0 else f"{VOLUME_PREFIX}{volume}/{inner}"


@dataclass(frozen=True)
class SealedFile:
    bytes: int
    sha256: str


class SegmentStore:
    """Segment files on one or more volumes: ``root`` (volume 0, the media root), then
    ``more_volumes`` (volume 1, 2, …), filled in that order by the recorder."""

    def __init__(self, root: Path, more_volumes: Sequence[Path] = ()) -> None:
        self.root = root
        self.volumes: tuple[Path, ...] = (root, *more_volumes)
        seen = [Path(os.path.abspath(v)) for v in self.volumes]
        for i, a in enumerate(seen):
            for b in seen[i + 1 :]:
                if a == b or a.is_relative_to(b) or b.is_relative_to(a):
                    raise ValueError(f"media volumes {a} and {b} overlap; each needs its own place")

    def run_dir(self, camera_id: int, run_id: str, volume: int = 0) -> Path:
        d = self._volume(volume) / str(camera_id) / run_id
        d.mkdir(parents=True, exist_ok=True)
        _fsync_dir(d.parent)
        return d

    def relative(self, path: Path) -> str:
        for n, root in enumerate(self.volumes):
            if path.is_relative_to(root):
                return on_volume(n, path.relative_to(root).as_posix())
        raise ValueError(f"{path} is on no media volume")

    def absolute(self, relative: str) -> Path:
        volume, inner = split_volume(relative)
        return self._volume(volume) / inner

    def knows(self, relative: str) -> bool:
        """Whether the path's volume is configured (an unknown one is not a lost file)."""
        try:
            self.absolute(relative)
        except (UnknownVolumeError, ValueError):
            return False
        return True

    def claim_volumes(self) -> None:
        """Write each volume's number into it (first use), or refuse to go on when a volume
        carries another number: the setting was reordered, and every path on it would name the
        wrong place (reconcile would flag its footage missing and adopt it twice)."""
        for n, root in enumerate(self.volumes):
            root.mkdir(parents=True, exist_ok=True)
            marker = root / MARKER
            name = f"{VOLUME_PREFIX}{n}"
            try:
                found = marker.read_text().strip()
            except FileNotFoundError:
                marker.write_text(name + "\n")
                _fsync_dir(root)
                continue
            if found != name:
                raise ValueError(
                    f"media volume {root} is {found}, configured as {name}: keep the order of "
                    "CUSTOS_MEDIA_VOLUMES (append new volumes at the end)"
                )

    def _volume(self, n: int) -> Path:
        if not 0 <= n < len(self.volumes):
            raise UnknownVolumeError(
                f"volume {VOLUME_PREFIX}{n} is not configured ({len(self.volumes)} volume(s))"
            )
        return self.volumes[n]

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

    def cut_tail(self, path: Path, keep: int) -> str:
        """Cut ``path`` back to its first ``keep`` bytes; the bytes past them (a torn tail)
        are first copied, fsynced, to ``quarantine/<camera>/<run>/<seq>.mp4.torn`` on the same
        volume (``.torn.1``, ``.torn.2``, … if that exists: nothing kept is overwritten), whose
        relative path is returned. The copy is made before the cut, so a crash in between only
        repeats it.

        Raises ``OSError`` (ENOSPC on a full volume) with the file unchanged."""
        volume, inner = split_volume(self.relative(path))
        first = self._volume(volume) / QUARANTINE / (inner + ".torn")
        first.parent.mkdir(parents=True, exist_ok=True)
        target, n = first, 0
        while target.exists():
            n += 1
            target = first.with_name(f"{first.name}.{n}")
        part = target.with_name(target.name + ".part")
        try:
            with path.open("rb") as src, part.open("wb") as out:
                src.seek(keep)
                shutil.copyfileobj(src, out, _CHUNK)
                out.flush()
                os.fsync(out.fileno())
            os.replace(part, target)
        except OSError:
            part.unlink(missing_ok=True)
            raise
        _fsync_dir(target.parent)
        path.chmod(stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IROTH)
        os.truncate(path, keep)
        with path.open("rb") as f:
            os.fsync(f.fileno())
        return self.relative(target)

    def hash_of(self, relative: str) -> str:
        digest = hashlib.sha256()
        with self.absolute(relative).open("rb") as f:
            while chunk := f.read(_CHUNK):
                digest.update(chunk)
        return digest.hexdigest()

    def size_of(self, relative: str) -> int | None:
        """The file's size; None when it is gone (or its volume is not configured)."""
        try:
            return self.absolute(relative).stat().st_size
        except (FileNotFoundError, UnknownVolumeError):
            return None

    def segment_files(self) -> Iterator[str]:
        """Every segment file on every volume, quarantine excluded, as relative paths."""
        for n, root in enumerate(self.volumes):
            if not root.exists():
                continue
            for p in sorted(root.glob("*/*/*.mp4")):
                inner = p.relative_to(root).as_posix()
                if not inner.startswith(QUARANTINE + "/"):
                    yield on_volume(n, inner)

    def quarantine(self, relative: str) -> str:
        """Move a file to the quarantine of its own volume (a rename, never a copy)."""
        volume, inner = split_volume(relative)
        target = self._volume(volume) / QUARANTINE / inner
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(self.absolute(relative), target)
        _fsync_dir(target.parent)
        return self.relative(target)

    def refused_path(self, relative: str) -> str:
        """Where :meth:`set_aside` keeps a refused segment: ``refused/`` on its own volume."""
        volume, inner = split_volume(relative)
        return on_volume(volume, f"{REFUSED}/{inner}")

    def set_aside(self, relative: str) -> str:
        """Move a segment the index refused out of the camera tree (no reconcile adopts it), to
        :meth:`refused_path`, by rename; return where it is now."""
        target_rel = self.refused_path(relative)
        target = self.absolute(target_rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(self.absolute(relative), target)
        _fsync_dir(target.parent)
        return target_rel

    def remove(self, relative: str) -> bool:
        """Unlink a segment file and fsync its directory; False if it was already gone.

        Only the retention purge calls this, for a segment it has marked as garbage."""
        path = self.absolute(relative)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        _fsync_dir(path.parent)
        return True

    def disk_usage(self) -> tuple[int, int, int]:
        """(total, used, free) bytes of the file systems holding the volumes, each counted
        once (two volumes on one file system share its space)."""
        devices: dict[int, tuple[int, int, int]] = {}
        for root in self.volumes:
            root.mkdir(parents=True, exist_ok=True)
            u = shutil.disk_usage(root)
            devices.setdefault(root.stat().st_dev, (u.total, u.used, u.free))
        total, used, free = (sum(col) for col in zip(*devices.values(), strict=True))
        return total, used, free

    def free_bytes(self, volume: int = 0) -> int:
        root = self._volume(volume)
        root.mkdir(parents=True, exist_ok=True)
        return shutil.disk_usage(root).free

    def free_by_volume(self) -> list[int]:
        """Free bytes of each volume, in order; 0 for one that cannot be read (gone, failed)."""
        free = []
        for n in range(len(self.volumes)):
            try:
                free.append(self.free_bytes(n))
            except OSError:
                free.append(0)
        return free

    def volume_with_room(
        self, min_free_bytes: int, free: Sequence[int] | None = None
    ) -> int | None:
        """The first volume with at least ``min_free_bytes`` free (where a new run goes), or
        None when every volume is below it."""
        for n, f in enumerate(self.free_by_volume() if free is None else free):
            if f >= min_free_bytes:
                return n
        return None


def _fsync_dir(d: Path) -> None:
    fd = os.open(d, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
