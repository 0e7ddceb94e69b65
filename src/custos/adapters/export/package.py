"""Footage packages that leave the system: segments cut to the granted range, plus a manifest.

Cutting (:mod:`custos.adapters.media.segment_cut`) is stream copy (``ffmpeg -c copy``) with *output-side* seeking: packets before the range's
start are dropped, never kept for a keyframe's sake, so nothing outside the granted range leaves.
The price is that the first frames up to the next keyframe (≤ 2 s at GOP 50, 25 fps) may not
decode in a player. The package is a ZIP (stored, not compressed: video does not compress) whose
SHA-256 is registered as the output hash.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from custos.adapters.media.segment_cut import FfmpegSegmentCutter


@dataclass(frozen=True)
class PackageItem:
    name: str  # the name inside the package
    source: Path
    cut_from_s: float | None  # seconds into the source; None: from its start
    cut_to_s: float | None  # None: to its end


@dataclass(frozen=True)
class BuiltPackage:
    path: Path
    sha256: str
    bytes: int


def build_package(
    dst: Path, items: Sequence[PackageItem], manifest: dict[str, Any], work_dir: Path
) -> BuiltPackage:
    """Write the package to ``dst`` (which must not exist), fsync it, make it read-only."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    work_dir.mkdir(parents=True, exist_ok=True)
    partial = dst.with_suffix(".partial")
    with zipfile.ZipFile(partial, "x", compression=zipfile.ZIP_STORED) as z:
        for item in items:
            if item.cut_from_s is None and item.cut_to_s is None:
                z.write(item.source, item.name)
                continue
            cut = work_dir / item.name.replace("/", "_")
            FfmpegSegmentCutter().cut(item.source, cut, item.cut_from_s, item.cut_to_s)
            z.write(cut, item.name)
            cut.unlink()
        z.writestr(
            "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True)
        )
    digest, size = hashlib.sha256(), 0
    with partial.open("rb") as f:
        os.fsync(f.fileno())
        while chunk := f.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    partial.chmod(stat.S_IRUSR | stat.S_IRGRP)
    os.replace(partial, dst)
    fd = os.open(dst.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return BuiltPackage(dst, digest.hexdigest(), size)


class ZipPackageBuilder:
    """The :class:`custos.services.footage.PackageBuilder` port: cut, zip, hash."""

    def __init__(self, work_dir: Path) -> None:
        self._work_dir = work_dir

    def __call__(self, dst: Path, cuts: Sequence[Any], manifest: dict[str, Any]) -> BuiltPackage:
        items = [PackageItem(c.name, c.source, c.cut_from_s, c.cut_to_s) for c in cuts]
        return build_package(dst, items, manifest, self._work_dir)
