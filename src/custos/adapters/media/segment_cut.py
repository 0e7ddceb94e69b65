"""The cut of a sealed segment to a time range (``ffmpeg``, stream copy): what a playback
session whose range ends inside a segment is sent, and what an export package holds.

ffmpeg runs from the calling thread, which waits for it: it dies with Custos (SIGKILL included)
and is killed when the time-out passes (:func:`custos.adapters.child_process.run_to_end`).
"""

from __future__ import annotations

from pathlib import Path

from custos.adapters.child_process import run_to_end


def cut_argv(
    ffmpeg: str, source: Path, dst: Path, from_s: float | None, to_s: float | None
) -> list[str]:
    argv = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", str(source)]
    if from_s is not None and from_s > 0:
        argv += ["-ss", f"{from_s:.3f}"]
    if to_s is not None:
        argv += ["-to", f"{to_s:.3f}"]
    return [*argv, "-map", "0", "-c", "copy", "-f", "mp4", str(dst)]


class FfmpegSegmentCutter:
    """The :class:`custos.services.ports.SegmentCutter` port."""

    def __init__(self, ffmpeg: str = "ffmpeg", timeout_s: float = 120) -> None:
        self._ffmpeg = ffmpeg
        self._timeout_s = timeout_s

    def cut(self, source: Path, dst: Path, from_s: float | None, to_s: float | None) -> None:
        """Write ``source`` from ``from_s`` to ``to_s`` (seconds into it) to ``dst`` as MP4.

        Raises :class:`OSError` when ffmpeg fails, :class:`TimeoutError` (an ``OSError``) when
        it is still running after the time-out (it has been killed by then)."""
        done = run_to_end(cut_argv(self._ffmpeg, source, dst, from_s, to_s), self._timeout_s)
        if done.returncode != 0:
            tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:]
            raise OSError(f"cannot cut {source.name}: {' '.join(tail) or 'ffmpeg failed'}")
