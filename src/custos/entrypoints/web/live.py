"""Live video for the duty wall: frame-level fragmented MP4 over a WebSocket
(docs/design/live.md; the messages are its "Messages" section).

``GET /api/v1/live/cameras/{id}/stream?stream=main|sub&hevc=1|0``. The sources, best first
(``services/live_feed.py``):

- ``stream=main``: this machine's live tap (the recorder's packets, a fragment per frame, from
  its Unix socket; when a recording session ends the viewer waits for the next one's socket,
  ``reconnecting``); in a cluster, the live tail of the node recording the camera (which prefers
  its own tap to its file); last, the file the recorder writes (the ffmpeg engine has no tap).
- ``stream=sub``: the camera's sub stream, pulled by this server on demand and shared by its
  viewers (``services/live_pull.py``); a camera without one answers with its main stream.
- ``hevc=0`` (the browser cannot decode H.265) and the stream is H.265: the sub stream if that
  is H.264, otherwise a transcode for this viewer only (``services/live_transcode.py``), at
  most ``CUSTOS_LIVE_TRANSCODES`` at a time (4429 when none is free).

Each init segment is announced with its codec, its path (``main``, ``sub``, ``transcoded``) and
its source (``tap``, ``node``, ``file``); the state (``live``, ``reconnecting``, ``offline`` with
the recorder's reason and since when) is sent when it changes; a tap's count of fragments this
viewer lost as ``dropped``.

Watching is registered: the socket opens a live-view session (``FootageService.open_live``,
which checks ``live.view`` and that the camera is in the caller's reach) and closes it when the
socket ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from custos.bootstrap import Services
from custos.domain.access import Permission
from custos.domain.errors import AuthenticationFailed, CustosError
from custos.domain.recording import RecorderState
from custos.domain.users import Principal
from custos.entrypoints.api.bounds import Id
from custos.entrypoints.web.live_plan import Plan, Source
from custos.entrypoints.web.paths import API_PREFIX
from custos.services.live_feed import LiveFeeds, Piece, is_hevc
from custos.services.live_relay import Dropped, Fragments, Init, RelayError, Status
from custos.services.live_transcode import transcoded

log = logging.getLogger(__name__)
router = APIRouter()
RETRY_S = 1.0  # no feed found: look for one again after this
TAP_AGAIN_S = 0.2  # a tap's or node's feed ended: the next session's looked for after this
HEALTH_EVERY_S = 2.0  # while not live: the recorder's health read again after this
#: Waiting for a pulled stream to connect blocks a thread: never the loop's default executor.
_WAITS = ThreadPoolExecutor(max_workers=32, thread_name_prefix="live-wait")


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
async def live_stream(ws: WebSocket, camera_id: Id, stream: str = "main", hevc: str = "1") -> None:
    """Watch one camera live (needs ``live.view`` and the camera in reach; registered)."""
    c: Services = ws.app.state.container
    await ws.accept()
    principal = await _authenticate(ws, c)
    if principal is None:
        return
    if stream not in ("main", "sub") or hevc not in ("0", "1"):
        field = "stream: main or sub" if stream not in ("main", "sub") else "hevc: 1 or 0"
        await _fail(ws, 1008, "invalid", f"{field}, nothing else")
        return
    try:
        session = await asyncio.to_thread(c.footage.open_live, principal, [camera_id])
    except CustosError as exc:
        await _fail(ws, 4404, "refused", str(exc))
        return
    assert session.id is not None
    await ws.send_json({"type": "session", "session_id": session.id})
    try:
        await _pump(ws, c, camera_id, stream, hevc == "1")
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        with contextlib.suppress(CustosError):
            await asyncio.to_thread(c.footage.close_live, principal, session.id)


class _Viewer:
    """The socket's sending side, and what it was last told."""

    def __init__(self, ws: WebSocket, c: Services, camera_id: int) -> None:
        self.ws = ws
        self._c = c
        self._camera_id = camera_id
        self._told: tuple[str, str | None, datetime] | None = None  # the last status sent
        self._stopped_at = c.clock.now()  # when the feed last stopped being live
        self._health_at = float("-inf")
        self._dropped_before = 0  # fragments lost on the feeds that ended
        self._dropped = 0
        self.shown = False  # an init was sent: there is a picture on the tile

    async def init(self, data: bytes, codec: str | None, path: str, source: str) -> None:
        message = {"type": "init", "codec": codec, "path": path, "source": source}
        await self.ws.send_json(message)
        await self.ws.send_bytes(data)
        self.shown = True

    async def fragments(self, data: bytes) -> None:
        await self.live()
        await self.ws.send_bytes(data)

    async def live(self) -> None:
        if self._told is None or self._told[0] != "live":
            await self._status("live", None, self._c.clock.now())

    async def not_live(self) -> None:
        """Offline with the recorder's reason when it says so (or has never seen the camera);
        reconnecting while it records or connects (its health read again every few seconds)."""
        if self._told is None or self._told[0] == "live":
            self._stopped_at = self._c.clock.now()
            self._health_at = float("-inf")
        if time.monotonic() - self._health_at < HEALTH_EVERY_S:
            return
        self._health_at = time.monotonic()
        h = await asyncio.to_thread(self._c.live_feeds.health, self._camera_id)
        if h is None or h.state is RecorderState.OFFLINE:
            reason = h.reason.value if h is not None and h.reason is not None else None
            await self._status("offline", reason, h.since if h is not None else self._stopped_at)
        else:
            await self._status("reconnecting", None, self._stopped_at)

    async def dropped(self, count: int) -> None:
        total = self._dropped_before + count
        if total != self._dropped:
            self._dropped = total
            await self.ws.send_json({"type": "dropped", "count": total})

    def feed_ended(self) -> None:
        self._dropped_before = self._dropped

    async def _status(self, state: str, reason: str | None, since: datetime) -> None:
        if self._told == (state, reason, since):
            return
        self._told = (state, reason, since)
        moment = (since if since.tzinfo else since.replace(tzinfo=UTC)).astimezone(UTC)
        stamp = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        await self.ws.send_json({"type": "status", "state": state, "reason": reason,
                                 "since": stamp})  # fmt: skip


async def _pump(ws: WebSocket, c: Services, camera_id: int, stream: str, hevc: bool) -> None:
    feeds = c.live_feeds
    streams = await asyncio.to_thread(feeds.streams, camera_id)
    viewer = _Viewer(ws, c, camera_id)
    plan = Plan(c, feeds, streams, stream, hevc, _WAITS)
    closed = asyncio.ensure_future(_wait_closed(ws))
    slot = False
    try:
        while not closed.done():
            found = await plan.open(viewer.shown)
            if found is None:
                await viewer.not_live()
                await asyncio.wait({closed}, timeout=RETRY_S)
                continue
            feed = found.pieces
            if plan.transcode:
                if not slot and not (slot := feeds.slots.take()):
                    await _close(found, feed)
                    limit = feeds.slots.limit
                    await _fail(ws, 4429, "transcode_busy",
                                f"all {limit} transcodes of this server are in use: H.265 cannot "
                                "be shown to this browser now")  # fmt: skip
                    return
                feed = transcoded(feed, feeds.ffmpeg)
            changed = await _relay(viewer, feeds, plan, found, feed, closed)
            viewer.feed_ended()
            plan.ended(found)
            if not changed and found.source != "file" and not closed.done():
                # a session ended (a file's tail ends only for a better source: none to wait)
                await viewer.not_live()
                await asyncio.wait({closed}, timeout=TAP_AGAIN_S)
    finally:
        closed.cancel()
        plan.release()
        if slot:
            feeds.slots.give_back()


async def _relay(
    viewer: _Viewer,
    feeds: LiveFeeds,
    plan: Plan,
    found: Source,
    feed: AsyncIterator[Piece],
    closed: asyncio.Future[None],
) -> bool:
    """Send the feed's pieces until it ends or the socket closes; True when the plan changed
    (H.265 to a browser without it: the caller opens the new plan's feed)."""
    path = "transcoded" if plan.transcode else plan.path
    started = False  # an init was sent from this feed
    try:
        while (piece := await _next(feed, closed)) is not None:
            if isinstance(piece, Status) and piece.live and not started:
                continue  # a tap says live before its init: its fragments will say it after
            if isinstance(piece, Init):
                started = True
                if not plan.transcode:
                    feeds.saw_codec(found.camera_id, plan.want, piece.codec)
                    if is_hevc(piece.codec) and not plan.hevc:
                        plan.avoid_hevc()
                        return True
                await viewer.init(piece.data, piece.codec, path, found.source)
            elif isinstance(piece, Fragments):
                await viewer.fragments(piece.data)
            elif isinstance(piece, Status):
                await (viewer.live() if piece.live else viewer.not_live())
            elif isinstance(piece, Dropped):
                await viewer.dropped(piece.count)
    except (OSError, RelayError) as exc:
        log.info("live view of camera %s from %s ended: %s", found.camera_id, found.source, exc)
    finally:
        await _close(found, feed)
    return False


async def _next(feed: AsyncIterator[Piece], closed: asyncio.Future[None]) -> Piece | None:
    """The feed's next piece; None when it ended or the socket closed first."""
    upcoming = asyncio.ensure_future(anext(feed))
    either: set[asyncio.Future[Any]] = {upcoming, closed}
    await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
    if not upcoming.done():
        upcoming.cancel()
        with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration, OSError, RelayError):
            await upcoming
        return None
    try:
        return upcoming.result()
    except StopAsyncIteration:
        return None


async def _close(found: Source, feed: AsyncIterator[Piece]) -> None:
    """End a feed, read or not (a generator never started runs no ``finally``)."""
    aclose = getattr(feed, "aclose", None)
    if aclose is not None:
        with contextlib.suppress(OSError, RelayError, RuntimeError):
            await aclose()
    if found.cleanup is not None:
        found.cleanup()


async def _wait_closed(ws: WebSocket) -> None:
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                return
