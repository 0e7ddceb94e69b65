"""Server push of alarms: ``GET /ui/events``, a Server-Sent Events stream for the dashboard and
the duty wall (docs/design/operations.md, "Server push").

Authenticated by the session cookie like every /ui page, it needs ``alarm.read``. Once a second
the server asks the alarm feed what changed among the alarms this user may see and sends each as
``event: alarm`` (JSON: id, kind, severity, subject, message, camera_id, state); a comment line
every 15 s keeps proxies from closing an idle stream. The stream ends when the client leaves or
the session ends (checked each minute)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from custos.bootstrap import Services
from custos.domain.access import Permission
from custos.domain.errors import AuthenticationFailed
from custos.entrypoints.api.deps import Caller, ContainerDep, needs
from custos.entrypoints.web.paths import UI_PREFIX
from custos.services.alarm_feed import FeedCursor, as_event

router = APIRouter(include_in_schema=False)
POLL_S = 1.0
HEARTBEAT_S = 15.0
RECHECK_SESSION_S = 60.0


@router.get(f"{UI_PREFIX}/events")
async def alarm_events(
    request: Request, caller: Annotated[Caller, needs(Permission.ALARM_READ)], c: ContainerDep
) -> StreamingResponse:
    token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    # The starting point is taken before the response starts: the browser counts the stream as
    # open when the headers arrive, and an alarm raised from then on must be sent.
    cursor = await run_in_threadpool(c.alarm_feed.start, caller.principal)
    return StreamingResponse(
        _stream(request, c, caller, token, cursor),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _stream(
    request: Request, c: Services, caller: Caller, token: str, cursor: FeedCursor
) -> AsyncIterator[str]:
    who = caller.principal
    yield "retry: 3000\n: connected\n\n"
    beat = checked = time.monotonic()
    while not await request.is_disconnected():
        await asyncio.sleep(POLL_S)
        for alarm in await run_in_threadpool(c.alarm_feed.changes, who, cursor):
            data = json.dumps(as_event(alarm), ensure_ascii=False)
            yield f"event: alarm\nid: {alarm.id}\ndata: {data}\n\n"
        now = time.monotonic()
        if now - beat >= HEARTBEAT_S:
            beat = now
            yield ": heartbeat\n\n"
        if now - checked >= RECHECK_SESSION_S:
            checked = now
            try:
                await run_in_threadpool(c.auth.authenticate, token)
            except AuthenticationFailed:
                yield "event: end\ndata: {}\n\n"
                return
