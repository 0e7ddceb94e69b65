"""Live-view sessions, playback sessions, exports and their downloads — all registered."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, Response
from pydantic import AwareDatetime, BaseModel, Field
from starlette.background import BackgroundTask

from custos.domain.access import Permission
from custos.domain.footage_access import ExportPackage, PlaybackSession, SessionKind
from custos.entrypoints.api.bounds import Id
from custos.entrypoints.api.deps import Caller, ContainerDep, needs
from custos.entrypoints.api.language import Lang, sheet_language
from custos.entrypoints.api.routers.recording import SegmentOut
from custos.entrypoints.api.schemas import In

router = APIRouter(tags=["footage"])
Watcher = Annotated[Caller, needs(Permission.LIVE_VIEW)]
Player = Annotated[Caller, needs(Permission.PLAYBACK)]
Exporter = Annotated[Caller, needs(Permission.EXPORT)]
SessionHolder = Annotated[Caller, needs(Permission.FOOTAGE_SESSION)]


class LiveIn(In):
    camera_ids: list[Id] = Field(min_length=1, max_length=64)


class RangeIn(In):
    camera_ids: list[Id] = Field(min_length=1, max_length=64)
    start: AwareDatetime
    end: AwareDatetime
    purpose: str = Field(max_length=2000)


class SessionOut(BaseModel):
    id: int
    kind: SessionKind
    camera_ids: list[int]
    start: datetime
    end: datetime
    purpose: str
    opened_at: datetime
    expires_at: datetime
    closed_at: datetime | None
    request_id: int | None

    @classmethod
    def of(cls, s: PlaybackSession) -> SessionOut:
        return cls(
            id=s.id or 0,
            kind=s.kind,
            camera_ids=list(s.scope.camera_ids),
            start=s.scope.start,
            end=s.scope.end,
            purpose=s.purpose,
            opened_at=s.opened_at,
            expires_at=s.expires_at,
            closed_at=s.closed_at,
            request_id=s.request_id,
        )


class ExportOut(BaseModel):
    id: int
    camera_ids: list[int]
    start: datetime
    end: datetime
    purpose: str
    created_at: datetime
    sha256: str
    bytes: int
    segment_count: int
    request_id: int | None

    @classmethod
    def of(cls, e: ExportPackage) -> ExportOut:
        return cls(
            id=e.id or 0,
            camera_ids=list(e.scope.camera_ids),
            start=e.scope.start,
            end=e.scope.end,
            purpose=e.purpose,
            created_at=e.created_at,
            sha256=e.sha256,
            bytes=e.bytes,
            segment_count=e.segment_count,
            request_id=e.request_id,
        )


@router.post("/live/sessions", response_model=SessionOut, status_code=201)
def open_live(body: LiveIn, caller: Watcher, c: ContainerDep) -> SessionOut:
    """Start watching live video: registers who watches which cameras from now (值班监看)."""
    return SessionOut.of(c.footage.open_live(caller.principal, body.camera_ids))


@router.post("/live/sessions/{session_id}/close", response_model=SessionOut)
def close_live(session_id: Id, caller: Watcher, c: ContainerDep) -> SessionOut:
    """Stop watching: the register entry gets its end time."""
    return SessionOut.of(c.footage.close_live(caller.principal, session_id))


@router.post("/playback/sessions", response_model=SessionOut, status_code=201)
def open_playback(body: RangeIn, caller: Player, c: ContainerDep) -> SessionOut:
    """Open a playback session for cameras × range with a stated purpose (registered)."""
    s = c.footage.open_playback(
        caller.principal, body.camera_ids, body.start, body.end, body.purpose
    )
    return SessionOut.of(s)


@router.post("/sessions/{session_id}/end", response_model=SessionOut)
def end_session(session_id: Id, caller: SessionHolder, c: ContainerDep) -> SessionOut:
    """End one's own playback or granted-view session (the page calls it when it is left):
    the register entry gets its end time. Ending it again changes nothing."""
    return SessionOut.of(c.footage.end_session(caller.principal, session_id))


@router.get("/sessions/{session_id}/segments", response_model=list[SegmentOut])
def session_segments(
    session_id: Id,
    caller: SessionHolder,
    c: ContainerDep,
    camera_id: Annotated[Id, Query()],
    start: Annotated[AwareDatetime, Query()],
    end: Annotated[AwareDatetime, Query()],
) -> list[SegmentOut]:
    """Segments of one camera in [start, end); refused if the range leaves the session's scope."""
    segs = c.footage.session_segments(caller.principal, session_id, camera_id, start, end)
    return [SegmentOut.of(s) for s in segs]


@router.get("/sessions/{session_id}/segments/{segment_id}/media")
def segment_media(
    session_id: Id, segment_id: Id, caller: SessionHolder, c: ContainerDep
) -> FileResponse:
    """The segment as MP4, cut to the session's range when the range ends inside it."""
    media = c.segment_media.media(caller.principal, session_id, segment_id)
    return FileResponse(
        media.path, media_type="video/mp4", background=BackgroundTask(media.discard)
    )


@router.post("/exports", response_model=ExportOut, status_code=201)
def create_export(body: RangeIn, caller: Exporter, c: ContainerDep, lang: Lang) -> ExportOut:
    """Package footage for cameras × range with a stated purpose; its SHA-256 is registered.
    The custody sheet is in Chinese, with English beside it when the asker's language is."""
    e = c.footage.export(
        caller.principal, body.camera_ids, body.start, body.end, body.purpose, sheet_language(lang)
    )
    return ExportOut.of(e)


class EstimateOut(BaseModel):
    bytes: int
    segment_count: int


@router.get("/exports/estimate", response_model=EstimateOut)
def estimate_export(
    caller: Exporter,
    c: ContainerDep,
    camera_ids: Annotated[list[Id], Query(min_length=1, max_length=64)],
    start: Annotated[AwareDatetime, Query()],
    end: Annotated[AwareDatetime, Query()],
) -> EstimateOut:
    """The size an export of cameras × [start, end) would have: the recorded segments' bytes
    (a segment the range cuts counts by its share of time) and how many segments."""
    e = c.footage.estimate_export(caller.principal, camera_ids, start, end)
    return EstimateOut(bytes=e.bytes, segment_count=e.segment_count)


@router.get("/exports/{export_id}/file")
def download_export(export_id: Id, caller: SessionHolder, c: ContainerDep) -> FileResponse:
    """Download a package one made (registered as a download, with the file's SHA-256)."""
    package, path = c.footage.download(caller.principal, export_id)
    return FileResponse(
        path,
        media_type="application/zip",
        filename=path.name,
        headers={"X-Content-SHA256": package.sha256},
    )


@router.get("/exports/{export_id}/custody.pdf")
def custody_sheet(export_id: Id, caller: SessionHolder, c: ContainerDep) -> Response:
    """The package's chain-of-custody sheet alone (``custody.pdf`` from inside the ZIP), to print."""
    sheet = c.footage.custody_sheet(caller.principal, export_id)
    return Response(
        sheet,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="custody-{export_id}.pdf"'},
    )
