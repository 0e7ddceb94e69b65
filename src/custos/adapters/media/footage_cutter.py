"""ffprobe and ffmpeg for footage imports: what a source file holds, and its cut into segments.

The cut is the recorder's shape (``ffmpeg_segmenter``): the first video stream, stream copy,
fragmented MP4 cut at keyframes, timestamps reset per segment.
"""

from __future__ import annotations

import csv
import io
import subprocess
from pathlib import Path

from custos.adapters.media.ffmpeg_segmenter import FRAGMENTED_MP4
from custos.adapters.media.probe import ffprobe_json
from custos.services.footage_import import CutFailedError, CutPiece, SourceMedia


class FfmpegFootageCutter:
    def __init__(
        self, ffmpeg: str = "ffmpeg", ffprobe: str = "ffprobe", timeout_s: float = 600
    ) -> None:
        self._ffmpeg = ffmpeg
        self._ffprobe = ffprobe
        self._timeout_s = timeout_s

    def probe(self, source: Path) -> SourceMedia | None:
        """The source's first video stream and its duration; None if ffprobe finds none."""
        argv = [
            self._ffprobe, "-v", "error", "-select_streams", "v:0",
            "-show_entries", "stream=codec_name,width,height:format=duration,format_name",
            "-of", "json", str(source),
        ]  # fmt: skip
        info = ffprobe_json(argv, self._timeout_s)
        if info is None:
            return None
        streams = info.get("streams") or []
        fmt = info.get("format") or {}
        duration = float(fmt.get("duration", 0) or 0)
        if not streams or duration <= 0:
            return None
        s = streams[0]
        return SourceMedia(
            duration,
            str(s.get("codec_name", "")),
            s.get("width"),
            s.get("height"),
            str(fmt.get("format_name", "")),
        )

    def cut(self, source: Path, out_dir: Path, segment_seconds: int) -> list[CutPiece]:
        """Cut ``source`` into ``out_dir/000000.mp4``…, about ``segment_seconds`` each."""
        argv = [
            self._ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error",
            "-i", str(source), "-map", "0:v:0", "-c", "copy",
            "-f", "segment", "-segment_time", str(segment_seconds),
            "-segment_format", "mp4", "-segment_format_options", FRAGMENTED_MP4,
            "-reset_timestamps", "1",
            "-segment_list", "pipe:1", "-segment_list_type", "csv",
            str(out_dir / "%06d.mp4"),
        ]  # fmt: skip
        try:
            done = subprocess.run(  # noqa: S603 - argv is ours
                argv, capture_output=True, timeout=self._timeout_s, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise CutFailedError(f"ffmpeg took over {self._timeout_s:.0f} s") from exc
        if done.returncode != 0:
            said = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise CutFailedError(
                said[-1][:200] if said else f"ffmpeg exited with {done.returncode}"
            )
        rows = list(csv.reader(io.StringIO(done.stdout.decode("utf-8", "replace"))))
        pieces = [CutPiece(out_dir / r[0], float(r[1]), float(r[2])) for r in rows if len(r) >= 3]
        if not pieces:
            raise CutFailedError("ffmpeg wrote no segment")
        origin = pieces[0].start_s  # an MPEG-TS source rarely starts at zero
        return [CutPiece(p.path, p.start_s - origin, p.end_s - origin) for p in pieces]
