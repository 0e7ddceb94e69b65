"""A camera's recording health, and its segments and gaps (the playback timeline)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, Field

from custos.domain.access import Permission
from custos.domain.footage_import import is_imported
from custos.domain.recording import CameraHealth, Gap, OfflineReason, RecorderState, Segment
from custos.entrypoints.api.bounds import Id
from custos.entrypoints.api.deps import Caller, ContainerDep, needs

router = APIRouter(prefix="/cameras", tags=["recording"])
Reader = Annotated[Caller, needs(Permission.REGISTRY_READ)]
Player = Annotated[Caller, needs(Permission.PLAYBACK)]


class HealthOut(BaseModel):
    camera_id: int
    state: RecorderState | None
    reason: OfflineReason | None = None
    detail: str = ""
    since: datetime | None = None
    last_frame_at: datetime | None = None
    fps: float | None = None
    bitrate_kbps: float | None = None
    updated_at: datetime | None = None

    @classmethod
    def of(cls, camera_id: int, h: CameraHealth | None) -> HealthOut:
        if h is None:
            return cls(camera_id=camera_id, state=None, detail="not seen by a recorder yet")
        return cls(**h.__dict__)


class SegmentOut(BaseModel):
    id: int
    sequence: int
    run_id: str
    start_at: datetime
    end_at: datetime
    duration_s: float
    bytes: int
    sha256: str
    codec: str
    width: int | None
    height: int | None
    adopted: bool
    missing: bool
    imported: bool = Field(
        default=False, description="brought in from another recorder (run id import-…)"
    )

    @classmethod
    def of(cls, s: Segment) -> SegmentOut:
        found = {k: v for k, v in s.__dict__.items() if k in cls.model_fields}
        return cls(**found, imported=is_imported(s.run_id))


class GapOut(BaseModel):
    start_at: datetime
    end_at: datetime | None
    reason: OfflineReason
    detail: str

    @classmethod
    def of(cls, g: Gap) -> GapOut:
        return cls(start_at=g.start_at, end_at=g.end_at, reason=g.reason, detail=g.detail)


class TimelineOut(BaseModel):
    camera_id: int
    segments: list[SegmentOut]
    gaps: list[GapOut]


@router.get("/{camera_id}/health", response_model=HealthOut)
def camera_health(camera_id: Id, caller: Reader, c: ContainerDep) -> HealthOut:
    """Recording state (connecting, recording, offline with a reason), last frame, fps, bitrate."""
    c.registry.get_camera(caller.principal, camera_id)  # 404/403 outside the caller's scope
    return HealthOut.of(camera_id, c.recording.health(camera_id))


@router.get("/{camera_id}/segments", response_model=TimelineOut)
def camera_segments(
    camera_id: Id,
    caller: Player,
    c: ContainerDep,
    start: Annotated[AwareDatetime | None, Query()] = None,
    end: Annotated[AwareDatetime | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> TimelineOut:
    """Sealed segments and the gaps between them, oldest first, overlapping [start, end)."""
    c.registry.get_camera(caller.principal, camera_id)
    timeline = c.recording.timeline(camera_id, start, end, limit)
    return TimelineOut(
        camera_id=camera_id,
        segments=[SegmentOut.of(s) for s in timeline.segments],
        gaps=[GapOut.of(g) for g in timeline.gaps],
    )


@router.get("/{camera_id}/segments/at", response_model=SegmentOut | None)
def segment_at(
    camera_id: Id,
    caller: Player,
    c: ContainerDep,
    t: Annotated[AwareDatetime, Query(description="the instant to find")],
) -> SegmentOut | None:
    """The segment covering instant ``t`` (null inside a gap)."""
    c.registry.get_camera(caller.principal, camera_id)
    s = c.recording.covering(camera_id, t)
    return SegmentOut.of(s) if s else None
