"""What the recorder produces: sealed segments, gaps between them, and each camera's health.

Glossary:

- *run*: one uninterrupted connection to a camera; every run has a unique id, so segment names
  (``<camera>/<run>/<sequence>.mp4``) never collide, even across restarts.
- *segment*: a fragmented MP4 file of about ``segment_seconds`` of media, sealed (fsynced, hashed,
  made read-only) before its index row is written. A row exists only for a sealed file.
- *gap*: a stretch of wall-clock time with no footage, with the reason it happened.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from custos.domain.errors import FieldError, ValidationFailed

MIN_SEGMENT_SECONDS = 10
MAX_SEGMENT_SECONDS = 300
#: Codecs recorded by stream copy. Anything else is refused as ``unsupported_codec``.
RECORDABLE_CODECS = frozenset({"h264", "hevc"})


def check_segment_seconds(value: int) -> int:
    if not MIN_SEGMENT_SECONDS <= value <= MAX_SEGMENT_SECONDS:
        raise ValidationFailed(
            [
                FieldError(
                    "segment_seconds",
                    f"must be between {MIN_SEGMENT_SECONDS} and {MAX_SEGMENT_SECONDS}",
                )
            ]
        )
    return value


class RecorderState(enum.StrEnum):
    CONNECTING = "connecting"
    RECORDING = "recording"
    OFFLINE = "offline"


class OfflineReason(enum.StrEnum):
    UNREACHABLE = "unreachable"  # no TCP connection, or it timed out before any answer
    AUTH_FAILED = "auth_failed"
    PROTOCOL_ERROR = (
        "protocol_error"  # accepts TCP but gives no valid RTSP answer (garbage, silence)
    )
    STREAM_ENDED = "stream_ended"
    STALLED = "stalled"  # connected, then no media for longer than the watchdog allows
    UNSUPPORTED_CODEC = "unsupported_codec"  # video not H.264/H.265, or no video at all
    STORAGE_FULL = "storage_full"
    RECORDER_RESTART = "recorder_restart"
    REMOVED = "removed"  # no longer in a recording state in the registry
    # several recorder nodes (docs/design/cluster.md)
    NODE_LOST = "node_lost"  # the node recording it stopped renewing its lease (died, cut off)
    LEASE_HANDOVER = "lease_handover"  # handed from one node to another (a node joined or left)


@dataclass(frozen=True)
class SegmentMedia:
    """What the writer and a probe say about a finished file."""

    duration_s: float
    codec: str
    width: int | None
    height: int | None


@dataclass(frozen=True)
class Segment:
    id: int | None
    camera_id: int
    run_id: str
    sequence: int
    path: str  # relative to the media root
    start_at: datetime  # server wall clock, UTC
    end_at: datetime
    duration_s: float  # media duration
    bytes: int
    sha256: str
    codec: str
    width: int | None
    height: int | None
    sealed_at: datetime
    adopted: bool = False  # found on disk at start-up without a row, checked and indexed
    missing: bool = False  # its file was gone at the last reconcile
    # Arrival time minus the end the camera's own timestamps imply, before any re-anchoring
    # (docs/design/time.md): recorded to show how the camera's clock behaves, never used for time.
    clock_drift_s: float | None = None
    # A recorder node's name and the fencing token of the camera's lease it recorded under
    # (docs/design/cluster.md); both None on a one-machine recorder.
    node: str | None = None
    fencing_token: int | None = None


@dataclass(frozen=True)
class Gap:
    id: int | None
    camera_id: int
    start_at: datetime
    end_at: datetime | None  # None while the camera is still not recording
    reason: OfflineReason
    detail: str = ""


@dataclass(frozen=True)
class CameraHealth:
    camera_id: int
    state: RecorderState
    reason: OfflineReason | None
    detail: str
    since: datetime
    last_frame_at: datetime | None
    fps: float | None
    bitrate_kbps: float | None
    updated_at: datetime


@dataclass
class WallClockAnchor:
    """Maps one run's media time to server wall-clock time (see docs/design/time.md).

    The anchor is set when the first segment of a run is sealed: ``wall = anchor + media``.
    Each later seal compares the anchored end with the arrival time; if they differ by more
    than ``max_drift`` (a server clock step, or the camera's clock running fast or slow), the
    anchor is moved to the arrival time and the step is reported.
    """

    max_drift: timedelta = timedelta(seconds=2)
    _origin: datetime | None = None
    #: when the run began (a recorder node's: docs/design/cluster.md): a first segment that
    #: arrived faster than real time is not placed before it, so a camera handed from one node
    #: to the next never shows two nodes' footage for the same instant
    not_before: datetime | None = None

    def place(
        self, media_start: float, media_end: float, arrived: datetime
    ) -> tuple[datetime, datetime, float]:
        """Return (start, end, drift_seconds) for a segment whose end arrived at ``arrived``."""
        if self._origin is None:
            self._origin = arrived - timedelta(seconds=media_end)
            if self.not_before is not None and self._origin < self.not_before:
                self._origin = self.not_before
        end = self._origin + timedelta(seconds=media_end)
        drift = (arrived - end).total_seconds()
        if abs(drift) > self.max_drift.total_seconds():
            self._origin = arrived - timedelta(seconds=media_end)
            if self.not_before is not None and self._origin < self.not_before:
                self._origin = self.not_before
            end = self._origin + timedelta(seconds=media_end)
        start = end - timedelta(seconds=max(0.0, media_end - media_start))
        return start, end, drift


@dataclass(frozen=True)
class CameraFootageStats:
    """How much footage a camera has, and how fast it grew lately (for storage projection)."""

    camera_id: int
    total_bytes: int
    recent_bytes: int
    recent_seconds: float
