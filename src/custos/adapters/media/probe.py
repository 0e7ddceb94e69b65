"""ffprobe: what a segment file holds, and whether it is usable at all."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from custos.domain.recording import SegmentMedia


def ffprobe_json(argv: list[str], timeout_s: float) -> dict[str, Any] | None:
    """What ffprobe (``argv`` asks for ``-of json``) prints; None if it fails or runs too long."""
    try:
        done = subprocess.run(argv, capture_output=True, timeout=timeout_s, check=False)  # noqa: S603
    except subprocess.TimeoutExpired:
        return None
    if done.returncode != 0:
        return None
    info: dict[str, Any] = json.loads(done.stdout or b"{}")
    return info


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
    info = ffprobe_json(argv, timeout_s)
    if info is None:
        return None
    streams = info.get("streams") or []
    if not streams or int(streams[0].get("nb_read_packets", 0) or 0) == 0:
        return None
    s = streams[0]
    duration = float((info.get("format") or {}).get("duration", 0) or 0)
    return SegmentMedia(duration, str(s.get("codec_name", "")), s.get("width"), s.get("height"))


def decode_tail(path: Path, ffmpeg: str = "ffmpeg", timeout_s: float = 60) -> str | None:
    """Decode the init part and the last complete fragment of a segment (``ffmpeg -v error``);
    None when it decodes without a word, else what is wrong: a torn tail (bytes after the last
    complete fragment), or what ffmpeg said (or why it could not run)."""
    # Imported here: probe is loaded by the API too, which never needs the box walker.
    from custos.adapters.media.fmp4 import init_and_last_fragments, scan

    try:
        found = scan(path)
        if found.torn:  # sealed before torn tails were cut: the hash covers torn bytes
            return f"torn tail: {found.torn_bytes} bytes after the last complete fragment"
        tail = init_and_last_fragments(path)
    except OSError as exc:
        return f"cannot read the file: {exc.strerror or exc}"
    if not tail:
        return "no complete fragment"
    # Decoded to raw video, thrown away: a muxer that keeps no timestamps, so what is said is
    # about the bytes (demuxer, decoder), not about how the null muxer likes the frame times.
    argv = [ffmpeg, "-nostdin", "-v", "error", "-i", "pipe:0", "-map", "0:v:0"]
    argv += ["-f", "rawvideo", "-y", "/dev/null"]
    try:
        done = subprocess.run(  # noqa: S603 - argv is ours
            argv, input=tail, capture_output=True, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired:
        return f"decoding the last fragment took over {timeout_s:.0f} s"
    said = done.stderr.decode("utf-8", "replace").strip()
    if done.returncode != 0 or said:
        return said.splitlines()[-1][:200] if said else f"ffmpeg exited with {done.returncode}"
    return None
