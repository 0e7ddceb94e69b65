"""Does an MP4 decode? ffprobe reads the member in place (FFmpeg's ``subfile`` protocol over the
stored ZIP), finds its video stream and decodes its first second as shown.

"As shown": a cut that starts between keyframes carries an edit list, and the frames before the
first one shown are decoded but dropped; so the read seeks to 0 (FFmpeg goes back to the
keyframe) and reads one second, rather than counting packets from the file's start."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

from custos_verify.package import Member

TIMEOUT_S = 60
READ = "0%+1"  # from the first frame shown, one second


def find_ffprobe() -> str | None:
    return shutil.which("ffprobe")


def probe(ffprobe: str, zip_path: Path, member: Member) -> str | None:
    """None when the file decodes; otherwise what is wrong with it."""
    if member.stored:
        start, end = member.offset, member.offset + member.size
        return _probe(ffprobe, f"subfile,,start,{start},end,{end},,:file:{zip_path.resolve()}")
    with tempfile.TemporaryDirectory() as tmp:  # recompressed: not as exported, but say so later
        out = Path(tmp) / "video.mp4"
        with zipfile.ZipFile(zip_path) as z, z.open(member.name) as src, out.open("wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        return _probe(ffprobe, str(out))


def _probe(ffprobe: str, url: str) -> str | None:
    cmd = [
        ffprobe, "-v", "error", "-select_streams", "v:0", "-count_frames",
        "-read_intervals", READ,
        "-show_entries", "stream=codec_name,width,height,nb_read_frames", "-of", "json", url,
    ]  # fmt: skip
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT_S, check=False)  # noqa: S603
    except subprocess.TimeoutExpired:
        return f"ffprobe did not finish within {TIMEOUT_S} s"
    if done.returncode != 0:
        why = done.stderr.decode(errors="replace").strip().splitlines()
        return "ffprobe cannot read it" + (f" ({why[-1]})" if why else "")
    try:
        streams = json.loads(done.stdout).get("streams") or []
    except ValueError:
        return "ffprobe gave no answer"
    if not streams:
        return "it has no video stream"
    if int(streams[0].get("nb_read_frames") or 0) < 1:
        return "no frame of its video decodes"
    return None
