"""One ``ffmpeg -c copy -f segment`` process per camera: its command line and what it prints.

ffmpeg is run with ``-segment_list pipe:1`` (one CSV line ``name,start,end`` per finished segment
on standard output: that is how a finished segment is known, never by looking at open files) and
``-progress pipe:2`` (``key=value`` blocks on standard error, every second, between its log lines).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from custos.domain.recording import OfflineReason

FRAGMENTED_MP4 = "movflags=+frag_keyframe+empty_moov+default_base_moof"
#: Each fragment is handed to the kernel as soon as the muxer has written it, not when FFmpeg's
#: I/O buffer (32-256 kB) fills: the muxer holds a fragment's samples in memory until its
#: end, so this costs one write per fragment, and a kill -9 finds the file ending at a fragment
#: boundary (it loses the fragment in memory, not also the unflushed part of the last one).
FLUSH_EACH_FRAGMENT = "flush_packets=1"
RECORDING_MP4 = f"{FRAGMENTED_MP4}:{FLUSH_EACH_FRAGMENT}"
#: What a run that ended without an error says: the camera closed the stream (end of file).
END_OF_STREAM = "end of stream: the camera closed the connection"


def segmenter_command(
    url: str,
    run_dir: Path,
    segment_seconds: int,
    io_timeout_s: float,
    ffmpeg: str = "ffmpeg",
    input_format: str | None = None,
) -> list[str]:
    """The argv for recording ``url`` (credentials included: never log this list).

    ``input_format`` names the demuxer when the source does not say (``mpeg`` for the program
    stream a GB/T 28181 relay serves on ``tcp://``). ``-timeout`` is in microseconds for both
    the RTSP demuxer and the TCP protocol: a read that waits longer fails."""
    rtsp = ["-rtsp_transport", "tcp"] if url.lower().startswith(("rtsp:", "rtsps:")) else []
    demuxer = ["-f", input_format] if input_format else []
    return [
        ffmpeg,
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "info",
        "-nostats",
        "-progress",
        "pipe:2",
        "-stats_period",
        "1",
        *rtsp,
        "-timeout",
        str(int(io_timeout_s * 1_000_000)),
        *demuxer,
        "-i",
        url,
        "-map",
        "0:v:0",
        "-c",
        "copy",
        "-f",
        "segment",
        "-segment_time",
        str(segment_seconds),
        "-segment_format",
        "mp4",
        "-segment_format_options",
        RECORDING_MP4,
        "-reset_timestamps",
        "1",
        "-segment_list",
        "pipe:1",
        "-segment_list_type",
        "csv",
        str(run_dir / "%06d.mp4"),
    ]


@dataclass(frozen=True)
class ListedSegment:
    """One line of ffmpeg's segment list: a segment it has finished writing."""

    name: str
    media_start: float
    media_end: float

    @property
    def sequence(self) -> int:
        return int(Path(self.name).stem)


def parse_list_line(line: str) -> ListedSegment | None:
    parts = line.strip().rsplit(",", 2)
    if len(parts) != 3:
        return None
    try:
        return ListedSegment(Path(parts[0]).name, float(parts[1]), float(parts[2]))
    except ValueError:
        return None


_STREAM = re.compile(r"Stream #0:\d+.*?: Video: (\w+)[^,]*,.*?(\d{2,5})x(\d{2,5})")
_ANY_STREAM = re.compile(r"^\s*Stream #0:\d+.*?: (Video|Audio|Data|Subtitle): (\w+)")
_OPENING = re.compile(r"Opening '.*?(\d+)\.mp4' for writing")
_PROGRESS = re.compile(r"^([a-z_0-9]+)=(.*)$")


@dataclass(frozen=True)
class InputVideo:
    codec: str
    width: int
    height: int


def parse_input_video(line: str) -> InputVideo | None:
    m = _STREAM.search(line)
    return InputVideo(m.group(1), int(m.group(2)), int(m.group(3))) if m else None


def parse_input_stream(line: str) -> str | None:
    """``"audio opus"`` for an input stream line of any kind (video included), else None."""
    m = _ANY_STREAM.match(line)
    return f"{m.group(1).lower()} {m.group(2)}" if m else None


def parse_opening(line: str) -> int | None:
    """The sequence number of a segment file ffmpeg has just opened, if this line says so."""
    m = _OPENING.search(line)
    return int(m.group(1)) if m else None


def parse_progress(line: str) -> tuple[str, str] | None:
    m = _PROGRESS.match(line.strip())
    return (m.group(1), m.group(2)) if m else None


#: Substrings of ffmpeg's log that tell why it stopped, first match wins.
_REASONS: tuple[tuple[str, OfflineReason], ...] = (
    # What the GB/T 28181 engine says when the SIP server got no media session
    # (recorder/engines/gb28181.py, REFUSAL_LINES): the device is away, or it said no
    # (first: a refusal's detail may quote a SIP status such as 403 or 404).
    ("GB/T 28181: device offline", OfflineReason.UNREACHABLE),
    ("GB/T 28181: no answer to the INVITE", OfflineReason.UNREACHABLE),
    ("GB/T 28181: no SIP server to ask", OfflineReason.UNREACHABLE),
    ("GB/T 28181: unknown channel", OfflineReason.PROTOCOL_ERROR),
    ("GB/T 28181: INVITE refused", OfflineReason.PROTOCOL_ERROR),
    ("GB/T 28181: unusable answer", OfflineReason.PROTOCOL_ERROR),
    ("No space left on device", OfflineReason.STORAGE_FULL),
    ("401 Unauthorized", OfflineReason.AUTH_FAILED),
    ("403 Forbidden", OfflineReason.AUTH_FAILED),
    ("matches no streams", OfflineReason.UNSUPPORTED_CODEC),
    ("does not contain any stream", OfflineReason.UNSUPPORTED_CODEC),
    ("codec not currently supported in container", OfflineReason.UNSUPPORTED_CODEC),
    ("Could not find codec parameters", OfflineReason.UNSUPPORTED_CODEC),
    ("input has no video stream", OfflineReason.UNSUPPORTED_CODEC),  # a PyAV session
    ("is not recorded (H.264 and H.265 only)", OfflineReason.UNSUPPORTED_CODEC),  # a PyAV session
    ("recording shard exited", OfflineReason.RECORDER_RESTART),  # its shard died
    ("Connection refused", OfflineReason.UNREACHABLE),
    ("Connection timed out", OfflineReason.UNREACHABLE),  # after media: STALLED, below
    ("No route to host", OfflineReason.UNREACHABLE),
    ("Name or service not known", OfflineReason.UNREACHABLE),
    ("Temporary failure in name resolution", OfflineReason.UNREACHABLE),
    ("Network is unreachable", OfflineReason.UNREACHABLE),
    ("404 Not Found", OfflineReason.UNREACHABLE),
    # The peer took the connection but what came back was not RTSP (random bytes, an HTTP or
    # other banner) or nothing came back at all: ffmpeg says this in every such case.
    ("Invalid data found when processing input", OfflineReason.PROTOCOL_ERROR),
)


def classify_exit(log_tail: list[str], recorded_anything: bool) -> OfflineReason:
    """Why an ffmpeg run ended, from the last lines of its log.

    After media has flowed, a socket time-out means the camera kept the connection but stopped
    sending (``stalled``); other connection errors mean the stream ended.
    """
    text = "\n".join(log_tail)
    for needle, reason in _REASONS:
        if needle in text:
            if recorded_anything and needle == "Connection timed out":
                return OfflineReason.STALLED
            if recorded_anything and reason in _CONNECTION_REASONS:
                return OfflineReason.STREAM_ENDED
            return reason
    return OfflineReason.STREAM_ENDED if recorded_anything else OfflineReason.UNREACHABLE


_CONNECTION_REASONS = frozenset({OfflineReason.UNREACHABLE, OfflineReason.PROTOCOL_ERROR})
