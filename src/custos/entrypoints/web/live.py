"""Live video for the duty wall: fragmented MP4 from the recorder's own files over a WebSocket.

The recorder writes each camera into fragmented MP4 (``empty_moov``, a fragment per keyframe), so
the segment being written already holds what a browser's Media Source Extensions need: the
initialisation boxes (``ftyp`` + ``moov``) and one ``moof`` + ``mdat`` pair per GOP. This module
tails the camera's newest segment file (``services/live_tail.py``) and forwards whole boxes; it
never decodes or re-muxes.

A client that connects gets the init boxes and the *latest complete* fragment at once (it starts
on a keyframe, so the first frame decodes immediately), then every new fragment as the recorder
writes it, and the next file's init boxes when the recorder starts a new segment (timestamps
restart in each segment; the client appends in MSE ``sequence`` mode). Why this and not LL-HLS:
``docs/design/live.md``.

In a cluster (docs/design/cluster.md, "Live view and playback from any server") a camera that is
not being recorded on this machine is shown from the recorder node holding its lease: the node's
live tail (the same bytes) is relayed into the socket, cut into whole boxes again
(``services/live_relay.py``). Without a cluster (SQLite, or no cluster wiring) only this
machine's files are read, as always.

Watching is registered: the socket opens a live-view session (``FootageService.open_live``,
which checks ``live.view`` and that the camera is in the caller's reach) and closes it when the
socket ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from custos.bootstrap import Services
from custos.domain.access import Permission
from custos.domain.errors import AuthenticationFailed, CustosError
from custos.domain.users import Principal
from custos.entrypoints.api.bounds import Id
from custos.entrypoints.web.paths import API_PREFIX
from custos.services.cluster_media import ClusterMedia, NodeAt
from custos.services.live_relay import BoxRelay, Init, RelayError, Status
from custos.services.live_tail import LiveFollower, SegmentTail, recording_now

log = logging.getLogger(__name__)
router = APIRouter()
POLL_S = 0.05
RECHECK_S = 5.0  # in a cluster: waiting this long here, look for the node recording the camera
RETRY_S = 1.0  # in a cluster: after a node's stream broke, look its holder up again after this


async def _authenticate(ws: WebSocket, c: Services) -> Principal | None:
    """The WebSocket twin of ``RequirePermission(Permission.LIVE_VIEW)``."""
    header = ws.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    try:
        if scheme.lower() != "bearer" or not token:
            raise AuthenticationFailed("sign in first")
        principal, _session = c.auth.authenticate(token)
    except AuthenticationFailed as exc:
        await _fail(ws, 4401, "authentication_failed", str(exc))
        return None
    if not principal.can(Permission.LIVE_VIEW):
        c.auth.note_denied(principal, Permission.LIVE_VIEW, f"WS {ws.url.path}")
        await _fail(ws, 4403, "permission_denied", f"role {principal.role} lacks live.view")
        return None
    return principal


async def _fail(ws: WebSocket, code: int, kind: str, message: str) -> None:
    await ws.send_json({"type": "error", "error": kind, "message": message})
    await ws.close(code=code)


@router.websocket(f"{API_PREFIX}/live/cameras/{{camera_id}}/stream")
async def live_stream(ws: WebSocket, camera_id: Id) -> None:
    """Watch one camera live (needs ``live.view`` and the camera in reach; registered)."""
    c: Services = ws.app.state.container
    await ws.accept()
    principal = await _authenticate(ws, c)
    if principal is None:
        return
    try:
        session = await asyncio.to_thread(c.footage.open_live, principal, [camera_id])
    except CustosError as exc:
        await _fail(ws, 4404, "refused", str(exc))
        return
    assert session.id is not None
    await ws.send_json({"type": "session", "session_id": session.id})
    try:
        await _pump(ws, c, camera_id)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        with contextlib.suppress(CustosError):
            await asyncio.to_thread(c.footage.close_live, principal, session.id)


class _Viewer:
    """The socket's sending side, and the state it was last told."""

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self.state = ""

    async def status(self, state: str) -> None:
        if state != self.state:
            self.state = state
            await self.ws.send_json({"type": "status", "state": state})

    async def init(self, data: bytes, codec: str | None) -> None:
        await self.ws.send_json({"type": "init", "codec": codec})
        await self.ws.send_bytes(data)


async def _pump(ws: WebSocket, c: Services, camera_id: int) -> None:
    """This machine's file while the camera is recorded here (always, without a cluster);
    otherwise, in a cluster, the live tail of the node holding the camera's lease."""
    media_root = c.settings.resolved_media_dir()
    viewer = _Viewer(ws)
    follower = LiveFollower(media_root, camera_id)
    closed = asyncio.ensure_future(_wait_closed(ws))
    try:
        while not closed.done():
            cluster = c.cluster_media
            source = await _remote_source(cluster, media_root, camera_id)
            if cluster is None or source is None:
                await _pump_local(viewer, follower, closed, None if cluster is None else RECHECK_S)
            else:
                await _pump_remote(viewer, cluster, source, camera_id, closed)
                follower = LiveFollower(media_root, camera_id)  # from the start if back here
                await viewer.status("waiting")
                await asyncio.wait({closed}, timeout=RETRY_S)
    finally:
        closed.cancel()


async def _remote_source(
    cluster: ClusterMedia | None, media_root: Path, camera_id: int
) -> NodeAt | None:
    if cluster is None or recording_now(media_root, camera_id, time.time()):
        return None
    return await asyncio.to_thread(cluster.live_source, camera_id)


async def _pump_local(
    viewer: _Viewer, follower: LiveFollower, closed: asyncio.Future[None], recheck: float | None
) -> None:
    """Tail this machine's file until the socket closes, or (``recheck``) until the camera has
    been waiting that long, to look for a node recording it."""
    waiting_since = time.monotonic()
    while not closed.done():
        for piece in follower.advance():
            if isinstance(piece, SegmentTail):
                assert piece.init is not None
                await viewer.init(piece.init, piece.codec)
            else:
                await viewer.ws.send_bytes(piece)
        live = follower.live(time.time())
        await viewer.status("live" if live else "waiting")
        if live:
            waiting_since = time.monotonic()
        elif recheck is not None and time.monotonic() - waiting_since >= recheck:
            return
        chunk = follower.fragments()
        if chunk:
            await viewer.ws.send_bytes(chunk)
            continue
        await asyncio.wait({closed}, timeout=POLL_S if live else 0.5)


async def _pump_remote(
    viewer: _Viewer,
    cluster: ClusterMedia,
    source: NodeAt,
    camera_id: int,
    closed: asyncio.Future[None],
) -> None:
    """Relay the node's live tail until the socket closes or the stream breaks."""
    relay = BoxRelay()
    try:
        async with contextlib.aclosing(cluster.live(source, camera_id)) as chunks:
            while not closed.done():
                upcoming = asyncio.ensure_future(anext(chunks))
                either: set[asyncio.Future[Any]] = {upcoming, closed}
                await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
                if not upcoming.done():
                    upcoming.cancel()
                    with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration, OSError):
                        await upcoming
                    return
                try:
                    chunk = upcoming.result()
                except StopAsyncIteration:
                    return
                for piece in relay.feed(chunk):
                    if isinstance(piece, Init):
                        await viewer.init(piece.data, piece.codec)
                    elif isinstance(piece, Status):
                        await viewer.status("live" if piece.live else "waiting")
                    else:
                        await viewer.ws.send_bytes(piece.data)
    except (OSError, RelayError) as exc:
        log.info("live view of camera %s from node %s ended: %s", camera_id, source.name, exc)


async def _wait_closed(ws: WebSocket) -> None:
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                return
