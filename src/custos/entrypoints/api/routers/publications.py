"""Copies for public dissemination: ask, review the proposed boxes, approve, release, download.

The packs decide what must be masked (Decree 799 art. 22, Xi'an art. 28); a request leaving a
target out is refused naming ``publication.mask.<target>`` and the articles.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, Field

from custos.domain.access import Permission
from custos.domain.errors import FieldError, ValidationFailed
from custos.domain.masking import Box, MaskMode, StaticZone
from custos.domain.publication import MAX_REGIONS, MAX_ZONES, AddedRegion, PublicationCase
from custos.domain.publication_job import PublicationJob
from custos.domain.rules.terms import MaskTarget
from custos.entrypoints.api.bounds import Id
from custos.entrypoints.api.deps import Caller, ContainerDep, needs
from custos.entrypoints.api.schemas import In

router = APIRouter(prefix="/publications", tags=["publications"])
Requester = Annotated[Caller, needs(Permission.EXPORT)]
Reviewer = Annotated[Caller, needs(Permission.PUBLICATION_REVIEW)]
Pixel = Annotated[int, Field(ge=0, le=16384)]
FrameNo = Annotated[int, Field(ge=0, le=25 * 3600)]
Share = Annotated[float, Field(ge=0.0, le=1.0)]


class PublicationIn(In):
    export_id: Id
    division_code: str = Field(pattern=r"^\d{6}$")
    purpose: str = Field(min_length=1, max_length=500)
    mask: list[MaskTarget] = Field(max_length=8, description="what the copy will have masked")
    mode: MaskMode = MaskMode.PIXELATE


class RegionIn(In):
    first_frame: FrameNo
    last_frame: FrameNo
    box: list[Pixel] = Field(min_length=4, max_length=4, description="[x0, y0, x1, y1]")
    note: str = Field(default="", max_length=200)


class ZoneIn(In):
    left: Share
    top: Share
    right: Share
    bottom: Share
    label: str = Field(default="", max_length=200)


class ReviewIn(In):
    remove_tracks: list[Id] = Field(default_factory=list, max_length=10_000)
    restore_tracks: list[Id] = Field(default_factory=list, max_length=10_000)
    add_regions: list[RegionIn] = Field(default_factory=list, max_length=MAX_REGIONS)
    zones: list[ZoneIn] | None = Field(default=None, max_length=MAX_ZONES)


class ApproveIn(In):
    confirmed: list[MaskTarget] = Field(
        max_length=8, description="targets the reviewer checked by eye (organisation names…)"
    )


class BoxOut(BaseModel):
    source: str  # track:<id> or region:<id>
    box: list[int]


class JobOut(BaseModel):
    """Detection or rendering in the background: frames done of total, the estimate, and why
    it failed (``reason`` a message key ``publication.failed.<code>``)."""

    stage: str
    attempt: int
    done: int
    total: int
    percent: float
    eta_s: float | None
    started_at: datetime | None
    updated_at: datetime | None
    reason: str | None
    detail: str
    by: str

    @classmethod
    def of(cls, job: PublicationJob) -> JobOut:
        return cls(
            stage=job.stage.value, attempt=job.attempt, done=job.done, total=job.total,
            percent=job.percent, eta_s=job.eta_s, started_at=job.started_at,
            updated_at=job.updated_at, reason=job.reason, detail=job.detail, by=job.by.username,
        )  # fmt: skip


class PublicationOut(BaseModel):
    id: int
    state: str
    export_id: int | None
    source_sha256: str
    division_code: str
    purpose: str
    requested_by: str
    required: dict[str, list[str]]
    video: dict[str, Any]
    tracks: list[dict[str, Any]]
    removed_tracks: list[int]
    regions: list[dict[str, Any]]
    zones: list[dict[str, Any]]
    confirmed: list[str]
    reviewer: str
    masking: dict[str, Any]
    masked_sha256: str | None
    package_sha256: str | None
    job: JobOut | None = None
    request_id: int | None = None  # the access request for publication it was opened for
    member: str | None = None  # the original's video it masks (None: the package's only one)

    @classmethod
    def of(cls, case: PublicationCase) -> PublicationOut:
        return cls(
            id=case.id or 0,
            state=case.state.value,
            export_id=case.export_id,
            source_sha256=case.source_sha256,
            division_code=case.division_code,
            purpose=case.purpose,
            requested_by=case.requested_by_name,
            required={t.value: list(r) for t, r in case.required.items()},
            video={
                "name": case.video.name, "width": case.video.width, "height": case.video.height,
                "fps": case.video.fps, "frames": case.video.frames,
            },
            tracks=[t.as_dict() for t in case.tracks],
            removed_tracks=sorted(case.removed_tracks),
            regions=[r.as_dict() for r in case.regions],
            zones=[z.as_dict() for z in case.zones],
            confirmed=sorted(t.value for t in case.confirmed),
            reviewer=case.reviewer_name,
            masking=case.settings,
            masked_sha256=case.masked_sha256,
            package_sha256=case.package_sha256,
            job=JobOut.of(case.job) if case.job else None, request_id=case.request_id,
            member=case.member,
        )  # fmt: skip


class AskedOut(PublicationOut):
    """The first case opened, as before, and ``cases``: one per video of the export."""

    cases: list[PublicationOut]


@router.post("", response_model=AskedOut, status_code=202)
def ask_publication(body: PublicationIn, caller: Requester, c: ContainerDep) -> AskedOut:
    """Ask for masked copies of one's export (refused as the packs say): one case per camera
    video, each ``detecting`` until detection, in the background, proposes the boxes to
    review. The body is the first case; ``cases`` lists them all."""
    cases = [
        PublicationOut.of(k)
        for k in c.publications.request_export(
            caller.principal, body.export_id, body.division_code, body.purpose, body.mask,
            body.mode,
        )
    ]  # fmt: skip
    return AskedOut(**cases[0].model_dump(), cases=cases)


class CaseSummary(BaseModel):
    id: int
    state: str
    export_id: int | None
    source_name: str
    purpose: str
    requested_by: str
    requested_at: datetime
    reviewer: str
    frames: int
    package_sha256: str | None
    job: JobOut | None = None  # progress while detecting or rendering, the reason once failed
    video: str | None = None  # the original's video it masks (None: the package's only one)


@router.get("", response_model=list[CaseSummary])
def list_publications(
    caller: Annotated[Caller, needs(Permission.SELF)],  # the service: review or export
    c: ContainerDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[CaseSummary]:
    """The cases in reach, newest first: all for a reviewer, one's own requests otherwise."""
    return [
        CaseSummary(
            id=k.id or 0,
            state=k.state.value,
            export_id=k.export_id,
            source_name=k.source_name,
            purpose=k.purpose,
            requested_by=k.requested_by_name,
            requested_at=k.requested_at,
            reviewer=k.reviewer_name,
            frames=k.video.frames,
            package_sha256=k.package_sha256,
            job=JobOut.of(k.job) if k.job else None,
            video=k.member or k.video.name or None,
        )
        for k in c.publications.cases(caller.principal, limit)
    ]


@router.get("/{case_id}/frame.jpg")
def frame_image(
    case_id: Id, caller: Reviewer, c: ContainerDep, frame: Annotated[FrameNo, Query()]
) -> Response:
    """One frame of the delivered (unmasked) video as a JPEG, for the reviewer's page."""
    body = c.publications.frame(caller.principal, case_id, frame)
    return Response(body, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


@router.get("/{case_id}", response_model=PublicationOut)
def get_publication(case_id: Id, caller: Reviewer, c: ContainerDep) -> PublicationOut:
    return PublicationOut.of(c.publications.get(caller.principal, case_id))


@router.get("/{case_id}/boxes", response_model=list[BoxOut])
def boxes_at(
    case_id: Id, caller: Reviewer, c: ContainerDep, frame: Annotated[FrameNo, Query()]
) -> list[BoxOut]:
    """What will be masked on one frame (tracks kept and regions added; zones apart)."""
    case = c.publications.get(caller.principal, case_id)
    return [BoxOut(source=s, box=b.as_list()) for s, b in case.boxes_at(frame)]


@router.post("/{case_id}/review", response_model=PublicationOut)
def review(case_id: Id, body: ReviewIn, caller: Reviewer, c: ContainerDep) -> PublicationOut:
    """Remove or restore tracks, add regions, set the static zones."""
    case = c.publications.edit(
        caller.principal,
        case_id,
        remove_tracks=set(body.remove_tracks),
        restore_tracks=set(body.restore_tracks),
        add_regions=[
            AddedRegion(r.first_frame, r.last_frame, _box(r.box), r.note) for r in body.add_regions
        ],
        zones=None
        if body.zones is None
        else [StaticZone(z.left, z.top, z.right, z.bottom, z.label) for z in body.zones],
    )
    return PublicationOut.of(case)


@router.delete("/{case_id}/regions/{region_id}", response_model=PublicationOut)
def remove_region(
    case_id: Id,
    region_id: Annotated[
        int, Path(ge=0, le=2**31 - 1, description="the region's id (`region:<id>` of /boxes)")
    ],
    caller: Reviewer,
    c: ContainerDep,
) -> PublicationOut:
    """Take back an added region by its id (never reused in the case; the others keep theirs);
    only while proposed. Logged as ``publication.review``."""
    return PublicationOut.of(c.publications.remove_region(caller.principal, case_id, region_id))


@router.post("/{case_id}/approve", response_model=PublicationOut)
def approve(case_id: Id, body: ApproveIn, caller: Reviewer, c: ContainerDep) -> PublicationOut:
    """Approve (refused to the requester, and while a required target is not covered)."""
    return PublicationOut.of(c.publications.approve(caller.principal, case_id, body.confirmed))


@router.post("/{case_id}/release", response_model=PublicationOut, status_code=202)
def release(case_id: Id, caller: Reviewer, c: ContainerDep) -> PublicationOut:
    """Queue the approved copy's render (``rendering``); in the background it is rendered,
    signed, registered and logged, and the case ``released``."""
    return PublicationOut.of(c.publications.release(caller.principal, case_id))


@router.post("/{case_id}/retry", response_model=PublicationOut, status_code=202)
def retry(
    case_id: Id,
    caller: Annotated[Caller, needs(Permission.SELF)],  # the service: requester or reviewer
    c: ContainerDep,
) -> PublicationOut:
    """A failed job queued again: detection by its requester or a reviewer, rendering by a
    reviewer."""
    return PublicationOut.of(c.publications.retry(caller.principal, case_id))


@router.get("/{case_id}/file")
def download(case_id: Id, caller: Reviewer, c: ContainerDep) -> FileResponse:
    case, path = c.publications.package_file(caller.principal, case_id)
    return FileResponse(
        path,
        media_type="application/zip",
        filename=path.name,
        headers={"X-Content-SHA256": case.package_sha256 or ""},
    )


def _box(values: list[int]) -> Box:
    try:
        return Box(*values)
    except ValueError:
        raise ValidationFailed(FieldError("add_regions.box", "x0 < x1 and y0 < y1")) from None
