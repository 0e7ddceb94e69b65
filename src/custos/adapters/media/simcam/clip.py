"""The clip the simulated cameras replay: H.264 (or H.265) with a burnt-in running timestamp,
made by ffmpeg.

Generated on demand (never committed): ``testsrc2`` plus ``drawtext`` of the media time, a keyframe
every ``gop`` frames, and an access-unit delimiter before every frame so the server can split it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
SERVER_SCRIPT = Path(__file__).with_name("gst_rtsp_camera.py")
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's, which has ``gi``; the virtualenv may not


def make_clip(
    target: Path,
    seconds: int = 20,
    size: str = "640x360",
    fps: int = 25,
    gop: int = 50,
    kbps: int = 500,
    ffmpeg: str = "ffmpeg",
    codec: str = "h264",
) -> Path:
    """Encode the clip into ``target`` (Annex B), unless it is already there.

    ``codec`` is ``h264`` (libx264) or ``h265`` (libx265); serve it with the same ``--codec``.
    """
    if target.exists() and target.stat().st_size > 0:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    video = f"testsrc2=size={size}:rate={fps}"
    if FONT.exists():
        video += (
            f",drawtext=fontfile={FONT}:text='%{{pts\\:hms}}':fontsize=32:fontcolor=white"
            ":box=1:boxcolor=black@0.6:x=10:y=10"
        )
    tmp = target.with_suffix(".part")
    if codec == "h264":
        encode = [
            "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
            "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0",
            "-b:v", f"{kbps}k", "-maxrate", f"{kbps}k", "-bufsize", f"{kbps * 2}k",
            "-bsf:v", "h264_metadata=aud=insert", "-f", "h264",
        ]  # fmt: skip
    elif codec == "h265":
        x265 = f"keyint={gop}:min-keyint={gop}:scenecut=0:open-gop=0:aud=1:repeat-headers=1:log-level=error"
        encode = [
            "-c:v", "libx265", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
            "-b:v", f"{kbps}k", "-x265-params", x265, "-f", "hevc",
        ]  # fmt: skip
    else:
        raise ValueError(f"codec must be h264 or h265, not {codec!r}")
    subprocess.run(  # noqa: S603 - fixed argv
        [
            ffmpeg, "-nostdin", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", video, "-t", str(seconds), *encode, str(tmp),
        ],
        check=True,
    )  # fmt: skip
    tmp.replace(target)
    return target


def server_command(
    clip: Path,
    port: int,
    mounts: list[str],
    host: str = "127.0.0.1",
    user: str | None = None,
    password: str = "",
    codec: str = "h264",
    audio_mounts: list[str] | None = None,
    sub_clip: Path | None = None,
) -> list[str]:
    """The simulated cameras' argv; with ``sub_clip`` each mount has a sub stream
    ``<mount>-sub`` too."""
    argv = [SYSTEM_PYTHON, str(SERVER_SCRIPT), "--host", host, "--port", str(port)]
    argv += ["--clip", str(clip), "--codec", codec, "--mounts", *mounts]
    if sub_clip is not None:
        argv += ["--sub-clip", str(sub_clip)]
    if audio_mounts:
        argv += ["--audio-mounts", *audio_mounts]
    if user:
        argv += ["--user", user, "--password", password]
    return argv
