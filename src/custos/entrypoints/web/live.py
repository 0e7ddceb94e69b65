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

Watching is registered: the socket opens a live-view session (``FootageService.open_live``,
which checks ``live.view`` and that the camera is in the caller's reach) and closes it when the
socket ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from custos.bootstrap import Services
from custos.domain.access import Permission
from custos.domain.errors import AuthenticationFailed, CustosError
from custos.domain.users import Principal
from custos.entrypoints.api.bounds import Id
from custos.entrypoints.web.paths import API_PREFIX
from custos.services.live_tail import STALE_S, SegmentTail, first_tail, newest_segment

router = APIRouter()
POLL_S = 0.05


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
        await _pump(ws, c.settings.resolved_media_dir(), camera_id)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        with contextlib.suppress(CustosError):
            await asyncio.to_thread(c.footage.close_live, principal, session.id)


async def _pump(ws: WebSocket, media_root: Path, camera_id: int) -> None:
    tail: SegmentTail | None = None
    state = ""
    closed = asyncio.ensure_future(_wait_closed(ws))
    try:
        while not closed.done():
            if tail is None:
                tail = first_tail(media_root, camera_id)
                if tail is not None:
                    await _send_init(ws, tail)
            newest = newest_segment(media_root, camera_id)
            if tail is not None and newest is not None and newest != tail.path:
                rest = tail.read_fragments()  # the old file is finished: send what is left
                if rest:
                    await ws.send_bytes(rest)
                fresh = SegmentTail(newest)
                if fresh.read_init():
                    tail = fresh
                    await _send_init(ws, tail)
            live = tail is not None and time.time() - _mtime(tail.path) < STALE_S
            if (new_state := "live" if live else "waiting") != state:
                state = new_state
                await ws.send_json({"type": "status", "state": state})
            if tail is not None:
                chunk = tail.read_fragments()
                if chunk:
                    await ws.send_bytes(chunk)
                    continue
            await asyncio.wait({closed}, timeout=POLL_S if live else 0.5)
    finally:
        closed.cancel()


async def _send_init(ws: WebSocket, tail: SegmentTail) -> None:
    assert tail.init is not None
    await ws.send_json({"type": "init", "codec": tail.codec})
    await ws.send_bytes(tail.init)


async def _wait_closed(ws: WebSocket) -> None:
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                return


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return 0.0
