"""Use-cases of recording: what to record, sealing into the index, gaps, health, and reading them.

The recorder process calls the write side as the system actor ``recorder``; the API calls the read
side on behalf of a signed-in user, after the registry has checked that user may see the camera.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from custos.domain.alarms import AlarmKind, Severity
from custos.domain.audit import AuditEvent
from custos.domain.clock import Clock
from custos.domain.recording import CameraHealth, Gap, OfflineReason, Segment
from custos.domain.registry import RECORDING_STATES, StreamUrl
from custos.domain.stream_url import redact_credentials
from custos.services.alarms import AlarmService
from custos.services.fencing import KeptAt, RefusedSegment, fence, unfenced
from custos.services.ports import RecordingUnitOfWork, RecordingUnitOfWorkFactory

log = logging.getLogger(__name__)
RECORDER_ACTOR = "recorder"


@dataclass(frozen=True)
class RecordTarget:
    """A camera the recorder should be recording, and how to reach it."""

    camera_id: int
    address_code: str
    stream: StreamUrl
    #: on a recorder node: the node and the token of the camera's lease (docs/design/cluster.md)
    node: str | None = None
    fencing_token: int | None = None


@dataclass(frozen=True)
class Timeline:
    segments: list[Segment]
    gaps: list[Gap]


class RecordingService:
    def __init__(
        self, uow: RecordingUnitOfWorkFactory, clock: Clock, alarms: AlarmService | None = None
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._alarms = alarms  # raises segment_refused (docs/design/cluster.md)

    # ---- the recorder's side -------------------------------------------------------------
    def targets(self, camera_ids: Collection[int] | None = None) -> list[RecordTarget]:
        """Cameras in service with a main stream: the registry as the recorder must see it now.
        ``camera_ids``: only those (a recorder node's own cameras, one bounded read)."""
        if camera_ids is not None and not camera_ids:
            return []
        with self._uow() as uow:
            cams = uow.cameras.find(ids=None if camera_ids is None else sorted(camera_ids))
        return [
            RecordTarget(c.id, c.address_code, c.main_stream)
            for c in cams
            if c.id is not None and c.main_stream is not None and c.state in RECORDING_STATES
        ]

    def camera_ids_to_record(self) -> list[int]:
        """The ids of :meth:`targets`, without reading the cameras or opening their stream URLs:
        what a recorder node's lease keeper claims from (docs/design/cluster.md)."""
        with self._uow() as uow:
            return uow.cameras.ids_with_stream_in(RECORDING_STATES)

    def seal(self, segment: Segment, kept_at: KeptAt = unfenced) -> Segment | RefusedSegment:
        """Index a sealed file, end the camera's open gap, and enter the hash in the audit log;
        or, for a segment recorded under a stale lease token, refuse it (docs/design/cluster.md:
        the caller then moves the file to the refusal's ``kept_at``)."""
        with self._uow() as uow:
            again = _already(uow, segment)
            if again is not None:  # a commit whose reply was lost: it is indexed
                return again
            refused = fence(uow, segment, self._clock.now(), RECORDER_ACTOR, kept_at)
            if refused is not None:
                uow.commit()
                self._report_refused(refused)
                return refused
            saved = uow.segments.add(segment)
            gap = uow.gaps.open_for(segment.camera_id)
            if gap is not None and gap.id is not None:
                uow.gaps.close(gap.id, max(gap.start_at, segment.start_at))
            uow.audit.append(self._segment_event("segment.seal", saved))
            uow.commit()
        return saved

    def open_gap(
        self, camera_id: int, start_at: datetime, reason: OfflineReason, detail: str
    ) -> None:
        """Start a gap unless one is already open (the first reason is the one that counts).

        Footage stops where the camera's last sealed segment ends, so that is where the gap
        starts; a camera never recorded starts its gap at ``start_at``.
        """
        with self._uow() as uow:
            if uow.gaps.open_for(camera_id) is not None:
                return
            last = uow.segments.last_of(camera_id)
            start = last.end_at if last is not None else start_at
            # An engine's last error can quote the URL it was given, credentials and all.
            uow.gaps.add(Gap(None, camera_id, start, None, reason, redact_credentials(detail)))
            uow.commit()

    def note_restart(self, camera_ids: list[int]) -> None:
        """At start-up: footage since each camera's last segment was lost to a recorder restart."""
        for camera_id in camera_ids:
            with self._uow() as uow:
                last = uow.segments.last_of(camera_id)
                if last is None or uow.gaps.open_for(camera_id) is not None:
                    continue
                uow.gaps.add(
                    Gap(None, camera_id, last.end_at, None, OfflineReason.RECORDER_RESTART, "")
                )
                uow.commit()

    def last_end(self, camera_id: int) -> datetime | None:
        """Where the camera's indexed footage ends (None: it has none)."""
        with self._uow() as uow:
            last = uow.segments.last_of(camera_id)
        return last.end_at if last is not None else None

    def publish_health(self, board: list[CameraHealth]) -> None:
        with self._uow() as uow:
            uow.health.put_many(board)
            uow.commit()

    # ---- reconcile (files vs rows) ----------------------------------------------------------
    def indexed(self, node: str | None = None) -> list[Segment]:
        """The segments whose files are on this machine: a recorder node's own, or (None) a
        one-machine recorder's."""
        with self._uow() as uow:
            return uow.segments.of_node(node)

    def camera_exists(self, camera_id: int) -> bool:
        with self._uow() as uow:
            return uow.cameras.get(camera_id) is not None

    def adopt(self, segment: Segment, kept_at: KeptAt = unfenced) -> Segment | RefusedSegment:
        with self._uow() as uow:
            again = _already(uow, segment)
            if again is not None:
                return again
            refused = fence(uow, segment, self._clock.now(), RECORDER_ACTOR, kept_at)
            if refused is not None:
                uow.commit()
                self._report_refused(refused)
                return refused
            saved = uow.segments.add(segment)
            uow.audit.append(self._segment_event("segment.adopt", saved))
            uow.commit()
        return saved

    def flag_missing(self, segment: Segment) -> None:
        assert segment.id is not None
        with self._uow() as uow:
            uow.segments.mark_missing(segment.id)
            uow.audit.append(self._segment_event("segment.missing", segment))
            uow.commit()

    def note_quarantined(self, relative: str, moved_to: str, why: str) -> None:
        self._note_file("segment.quarantine", relative, {"moved_to": moved_to, "why": why})

    def note_torn_tail(self, relative: str, kept_at: str, torn_bytes: int, kept: int) -> None:
        """A file was cut back to its last complete fragment before sealing: where the torn
        bytes are kept, and how many (docs/design/recording.md, "Torn tails")."""
        self._note_file(
            "segment.torn_tail",
            relative,
            {
                "path": relative,
                "torn_bytes": torn_bytes,
                "kept_bytes": kept,
                "torn_tail_at": kept_at,
            },
        )

    def _note_file(self, action: str, relative: str, detail: dict[str, object]) -> None:
        """Log what the recorder did to a file that has no segment row (yet)."""
        with self._uow() as uow:
            uow.audit.append(
                AuditEvent(
                    at=self._clock.now(),
                    actor=RECORDER_ACTOR,
                    action=action,
                    object_type="segment_file",
                    object_id=relative[-64:],
                    detail=detail,
                )
            )
            uow.commit()

    def tails_unchecked(self) -> set[int]:
        """Ids of the segments whose last fragment ``custos check`` has not yet decoded."""
        with self._uow() as uow:
            return uow.segments.tails_unchecked()

    def mark_tail_checked(self, segment_id: int) -> None:
        with self._uow() as uow:
            uow.segments.mark_tail_checked(segment_id, self._clock.now())
            uow.commit()

    # ---- the readers' side -------------------------------------------------------------------
    def health(self, camera_id: int) -> CameraHealth | None:
        """Call only after the registry has checked the caller may see ``camera_id``."""
        with self._uow() as uow:
            return uow.health.get(camera_id)

    def timeline(
        self, camera_id: int, start: datetime | None, end: datetime | None, limit: int = 1000
    ) -> Timeline:
        """Call only after the registry has checked the caller may see ``camera_id``."""
        with self._uow() as uow:
            segs = uow.segments.find(camera_id, start, end, limit)
            gaps = uow.gaps.find(camera_id, start, end)
        return Timeline(segs, gaps)

    def covering(self, camera_id: int, at: datetime) -> Segment | None:
        """Call only after the registry has checked the caller may see ``camera_id``."""
        with self._uow() as uow:
            return uow.segments.covering(camera_id, at)

    def _report_refused(self, r: RefusedSegment) -> None:
        log.warning(
            "camera %s: segment %s refused (%s), kept at %s", r.camera_id, r.path, r.why, r.kept_at
        )
        if self._alarms is None:
            return
        try:
            self._alarms.raise_(
                AlarmKind.SEGMENT_REFUSED,
                Severity.WARNING,
                f"camera:{r.camera_id}",
                "A recorder node's late segment was refused for a stale lease and kept aside",
                {"path": r.path, "kept_at": r.kept_at, "why": r.why, "refused_id": r.id},
                camera_id=r.camera_id,
            )
        except Exception:  # the refusal is committed and logged; the alarm is retried never
            log.exception("cannot raise the segment_refused alarm for camera %s", r.camera_id)

    def _segment_event(self, action: str, s: Segment) -> AuditEvent:
        return segment_event(self._clock.now(), RECORDER_ACTOR, action, s)


def _already(uow: RecordingUnitOfWork, s: Segment) -> Segment | None:
    """The row of a file indexed before (its commit's reply was lost: PostgreSQL restarted
    during COMMIT), so that indexing again is done, not a duplicate; a row under the same path
    with another hash is a conflict, never overwritten."""
    found = uow.segments.by_path(s.path)
    if found is None:
        return None
    if found.sha256 != s.sha256 or found.bytes != s.bytes:
        raise ValueError(f"{s.path} is indexed with another hash: not indexed again")
    return found


def segment_event(at: datetime, actor: str, action: str, s: Segment, **more: object) -> AuditEvent:
    """The operation-log entry for an indexed segment: its file, hash and span (and ``more``)."""
    return AuditEvent(
        at=at,
        actor=actor,
        action=action,
        object_type="segment",
        object_id=str(s.id),
        detail={
            "camera_id": s.camera_id,
            "path": s.path,
            "sha256": s.sha256,
            "bytes": s.bytes,
            "start_at": s.start_at.isoformat(),
            "end_at": s.end_at.isoformat(),
            **more,
        },
    )
