"""The files of an evidence package (docs/design/evidence.md): one exact cut per camera, hashes,
and the ZIP, streamed from files on disk and never held whole in memory.

The exact cut
-------------
A camera's segments inside the range are joined by ffmpeg's concat demuxer (each file's
``duration`` set to the time until the next segment starts, so a gap between segments stays a
gap on the timeline instead of closing up) and cut by *input-side* seeking with stream copy:
``-ss FROM -to TO`` before ``-i``. ffmpeg then starts at the keyframe before FROM, keeps the
packets from there with negative timestamps (``-avoid_negative_ts disabled``) and the MP4 muxer
writes an edit list that starts presentation at FROM. A player decodes from the keyframe and
shows, as its first frame, the frame at FROM; the frames before it are in the file (a decoder
needs them) but are not shown. tests/services/test_evidence_cut.py proves it with ffprobe.

No ``faststart``: the cut is a file inside a ZIP that is downloaded whole, never streamed, so
its index may stay at the end; moving it to the front made ffmpeg read and write the whole cut
a second time (docs/design/evidence.md, "Measured: export speed").
"""

from __future__ import annotations

import hashlib
import os
import stat
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from custos.adapters.child_process import run_to_end
from custos.adapters.export.stored_zip import CHUNK, StoredZip
from custos.services.evidence import ConcatPart, FileDigest


@dataclass(frozen=True)
class WrittenZip:
    path: Path
    sha256: str
    bytes: int


def concat_list(parts: Sequence[ConcatPart]) -> str:
    lines = ["ffconcat version 1.0"]
    for p in parts:
        text = str(p.path.resolve())
        if "\n" in text or "\r" in text:
            raise ValueError(f"a segment path with a line break: {text!r}")
        lines.append("file '" + text.replace("'", "'\\''") + "'")
        if p.duration_ms is not None:
            lines.append(f"duration {p.duration_ms / 1000:.3f}")
    return "\n".join(lines) + "\n"


def cut_argv(ffmpeg: str, listing: Path, dst: Path, from_ms: int, to_ms: int) -> list[str]:
    return [
        ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
        "-f", "concat", "-safe", "0",
        "-ss", f"{from_ms / 1000:.3f}", "-to", f"{to_ms / 1000:.3f}",
        "-i", str(listing),
        "-map", "0:v", "-c", "copy", "-avoid_negative_ts", "disabled",
        "-f", "mp4", str(dst),
    ]  # fmt: skip


class EvidenceFiles:
    """The :class:`custos.services.evidence.PackageFiles` port."""

    def __init__(self, ffmpeg: str = "ffmpeg", timeout_s: float = 600) -> None:
        self._ffmpeg = ffmpeg
        self._timeout_s = timeout_s

    def cut_camera(self, parts: Sequence[ConcatPart], from_ms: int, to_ms: int, dst: Path) -> None:
        """Write the parts, joined, from ``from_ms`` to ``to_ms`` (from the first part's start)."""
        if not parts or to_ms <= from_ms:
            raise ValueError("nothing to cut")
        dst.parent.mkdir(parents=True, exist_ok=True)
        listing = dst.with_suffix(".ffconcat")
        listing.write_text(concat_list(parts))
        try:
            done = run_to_end(cut_argv(self._ffmpeg, listing, dst, from_ms, to_ms), self._timeout_s)
        finally:
            listing.unlink(missing_ok=True)
        if done.returncode != 0:
            tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:]
            raise OSError(f"cannot cut {dst.name}: {' '.join(tail) or 'ffmpeg failed'}")

    def digest(self, path: Path) -> FileDigest:
        """SHA-256, size and CRC-32 in one read, so that the ZIP need not read it for its CRC."""
        h, crc, size = hashlib.sha256(), 0, 0
        buffer = bytearray(CHUNK)
        view = memoryview(buffer)
        with path.open("rb") as f:
            while n := f.readinto(buffer):
                h.update(view[:n])
                crc = zlib.crc32(view[:n], crc)
                size += n
        return FileDigest(h.hexdigest(), size, crc)

    def write(self, path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    def write_zip(
        self,
        dst: Path,
        members: Sequence[tuple[str, Path]],
        digested: Mapping[str, FileDigest] | None = None,
    ) -> WrittenZip:
        """Stored (not compressed), each member copied from its file; fsynced, read-only.

        The bytes ``ZipFile.write`` writes (stored_zip.py), but written once, front to back:
        a member's CRC-32 is known before its header is written, from ``digested`` (the read
        that hashed it) or else from a read of its own, and the ZIP's SHA-256 is taken as it
        is written: a cut file is read twice (its hash, the copy) and the ZIP not at all."""
        dst.parent.mkdir(parents=True, exist_ok=True)
        partial = dst.with_suffix(".partial")
        known = digested or {}
        with partial.open("xb") as out:
            try:
                z = StoredZip(out)
                for name, source in members:
                    d = known.get(name)
                    crc, size = (d.crc32, d.bytes) if d else _crc_and_size(source)
                    z.add(name, source, crc, size)
                sha, size = z.finish()
                out.flush()
                os.fsync(out.fileno())
            except BaseException:
                partial.unlink()  # never a package: it is not renamed
                raise
        partial.chmod(stat.S_IRUSR | stat.S_IRGRP)
        os.replace(partial, dst)
        fd = os.open(dst.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        return WrittenZip(dst, sha, size)

    def remove_tree(self, path: Path) -> None:
        if not path.exists():
            return
        for p in sorted(path.rglob("*"), key=lambda q: len(q.parts), reverse=True):
            p.rmdir() if p.is_dir() else p.unlink()
        path.rmdir()


def _crc_and_size(path: Path) -> tuple[int, int]:
    """For a member that was not digested (the fixed ones, small)."""
    crc, size = 0, 0
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            crc = zlib.crc32(chunk, crc)
            size += len(chunk)
    return crc, size


VERIFIER_HTML = ("custos_verify", "html/verify.html")


def verify_html() -> bytes | None:
    """W2's offline verifier page: from the installed ``custos_verify`` package, else from the
    repository's ``verifier/`` tree; None while neither has it."""
    try:
        from importlib.resources import files

        found = files(VERIFIER_HTML[0]).joinpath(VERIFIER_HTML[1])
        if found.is_file():
            return found.read_bytes()
    except ModuleNotFoundError:
        pass
    repo = Path(__file__).resolve().parents[4] / "verifier" / "src" / "custos_verify"
    path = repo / VERIFIER_HTML[1]
    return path.read_bytes() if path.is_file() else None


def custody_renderer() -> Callable[[dict[str, Any], str], bytes] | None:
    """W3's chain-of-custody sheet, when it is installed (WeasyPrint and its fonts)."""
    try:
        from custos.adapters.export.custody_sheet import render_custody_sheet
    except ImportError:
        return None
    return render_custody_sheet
