"""What a recording run that ended by itself says about why, in words for the health board and
the gap's detail: the engine's last error (ffmpeg's log, or what a PyAV session said), without
chatter, URLs (passwords) or FFmpeg's object addresses."""

from __future__ import annotations

import re

from custos.adapters.media.ffmpeg_segmenter import END_OF_STREAM
from custos.domain.recording import OfflineReason

_URL = re.compile(r"[a-z][a-z0-9+.-]*://\S*", re.IGNORECASE)
_ADDRESS = re.compile(r" @ 0x[0-9a-f]+\]")
#: Lines that say nothing about why a run ended: ffmpeg's listing and summary, and what its
#: muxers say about the output (the recorder's own side, never the camera's error), and the
#: GB/T 28181 engine's packet counts.
_CHATTER = (
    "[segment", "[mp4", "[mov", "[out#", "Exiting", "video:", "frame=", "  ", "Input #",
    "Output #", "Stream mapping", "Press [q]", "ffmpeg stats", "GB/T 28181 media:",
)  # fmt: skip


def last_error(log_tail: list[str]) -> str:
    """The last line of the engine's log that is not chatter, with every URL (and so every
    password) replaced by ``<stream>`` and FFmpeg's object addresses left out."""
    for line in reversed(log_tail):
        if line and not line.startswith(_CHATTER):
            return _ADDRESS.sub("]", _URL.sub("<stream>", line))[:200]
    return ""


def ended_detail(reason: OfflineReason, log_tail: list[str]) -> str:
    """What a gap or the health board shows for a run that ended by itself: the engine's last
    error; for a stream that ended without one (the camera closed the connection: ffmpeg
    exits 0, PyAV's demuxer just ends), the engine's words for that."""
    said = last_error(log_tail)
    if said or reason is not OfflineReason.STREAM_ENDED:
        return said
    return END_OF_STREAM
