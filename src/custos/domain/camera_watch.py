"""Is a camera that should record in trouble? The alarm watcher's judgement, free of I/O.

The recorder publishes each camera's health (state, since, updated_at) every ~2 s. A camera
that should record is in trouble (docs/design/operations.md, the table of alarm sources):

- *offline*: not ``recording`` for longer than the grace; or its health row is stale (not
  updated for :data:`STALE_HEALTH_S`: the recorder is down or cut off from the database) or
  missing, for longer than the grace;
- *gap*: ``recording``, but no segment sealed for :data:`GAP_SEGMENTS` segment lengths.

An interruption of the site's network (Xi'an art. 26 ¶2) is judged by its length: a warning at
:data:`INTERRUPTION_WARN`, critical at :data:`INTERRUPTION_CRITICAL` or once past the limit's
last day where a limit binds it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from custos.domain.accounting import FaultKind
from custos.domain.alarms import Severity
from custos.domain.network_interruption import LimitStatus, NetworkInterruption
from custos.domain.recording import CameraHealth, RecorderState
from custos.domain.stream_url import redact_credentials

STALE_HEALTH_S = 30
GAP_SEGMENTS = 3
INTERRUPTION_WARN = timedelta(hours=48)
INTERRUPTION_CRITICAL = timedelta(hours=72)


class Sealed(Protocol):
    """A camera's last sealed segment, as far as the watcher needs it (a ``Segment`` is one)."""

    @property
    def sealed_at(self) -> datetime: ...
    @property
    def end_at(self) -> datetime: ...


@dataclass(frozen=True)
class LastSeal:
    sealed_at: datetime
    end_at: datetime


@dataclass(frozen=True)
class Trouble:
    """A camera's trouble, past its grace: what kind, since when recording stopped, and why."""

    kind: FaultKind
    since: datetime
    reason: str
    message: str


def judge_camera(
    health: CameraHealth | None,
    last: Sealed | None,
    now: datetime,
    grace: timedelta,
    segment_s: int,
    noticed_missing: datetime,
) -> Trouble | None:
    """The camera's trouble, or None while it records (or is still within its grace).

    ``noticed_missing`` is when the watcher first saw the camera without a health row: the
    grace runs from there, so a server that has just started does not alarm before the
    recorder has had time to report.
    """
    if health is None:
        if now - noticed_missing <= grace:
            return None
        since = last.end_at if last is not None else noticed_missing
        return Trouble(FaultKind.OFFLINE, since, "not_reported",
                       "the recorder has not reported this camera")  # fmt: skip
    if now - health.updated_at > timedelta(seconds=STALE_HEALTH_S):
        recording = health.state is RecorderState.RECORDING
        since = health.updated_at if recording else health.since
        if now - since <= grace:
            return None
        at = health.updated_at.isoformat()
        return Trouble(FaultKind.OFFLINE, since, "recorder_down",
                       f"the recorder has not reported since {at}: it is down or cut off")  # fmt: skip
    if health.state is not RecorderState.RECORDING:
        if now - health.since <= grace:
            return None
        reason = health.reason.value if health.reason else health.state.value
        detail = f" ({redact_credentials(health.detail)})" if health.detail else ""
        return Trouble(FaultKind.OFFLINE, health.since, reason,
                       f"not recording since {health.since.isoformat()}: {reason}{detail}")  # fmt: skip
    quiet_since = max(health.since, last.sealed_at) if last is not None else health.since
    if now - quiet_since <= timedelta(seconds=GAP_SEGMENTS * segment_s):
        return None
    since = last.end_at if last is not None and last.end_at >= health.since else health.since
    quiet = int((now - quiet_since).total_seconds())
    return Trouble(FaultKind.GAP, since, "no_segment",
                   f"recording, but no segment sealed for {quiet} s")  # fmt: skip


def interruption_severity(
    i: NetworkInterruption, status: LimitStatus, now: datetime
) -> Severity | None:
    """How grave an open interruption is by now (None: not yet worth an alarm, or ended)."""
    if i.ended_at is not None:
        return None
    length = i.length(now)
    past_limit = status.limited and status.restore_by is not None and now > status.restore_by
    if status.limited and (length >= INTERRUPTION_CRITICAL or past_limit):
        return Severity.CRITICAL
    if length >= INTERRUPTION_WARN:
        return Severity.WARNING
    return None
