"""ffprobe: what a segment file holds, and whether it is usable at all."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from custos.domain.recording import SegmentMedia


def probe_segment(
    path: Path, ffprobe: str = "ffprobe", timeout_s: float = 30
) -> SegmentMedia | None:
    """The first video stream's codec, size and duration; None if the file holds no video."""
    argv = [
        ffprobe,
        "-v",
        "error",
        "-select_streams",
        "v:0",
        "-count_packets",
        "-show_entries",
        "stream=codec_name,width,height,nb_read_packets:format=duration",
        "-of",
        "json",
        str(path),
    ]
    try:
        done = subprocess.run(argv, capture_output=True, timeout=timeout_s, check=False)  # noqa: S603
    except subprocess.TimeoutExpired:
        return None
    if done.returncode != 0:
        return None
    info: dict[str, Any] = json.loads(done.stdout or b"{}")
    streams = info.get("streams") or []
    if not streams or int(streams[0].get("nb_read_packets", 0) or 0) == 0:
        return None
    s = streams[0]
    duration = float((info.get("format") or {}).get("duration", 0) or 0)
    return SegmentMedia(duration, str(s.get("codec_name", "")), s.get("width"), s.get("height"))
