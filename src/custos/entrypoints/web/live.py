"""Live video for the duty wall: fragmented MP4 from the recorder's own files over a WebSocket.

The recorder writes each camera into fragmented MP4 (``empty_moov``, a fragment per keyframe), so
the segment being written already holds what a browser's Media Source Extensions need: the
initialisation boxes (``ftyp`` + ``moov``) and one ``moof`` + ``mdat`` pair per GOP. This module
tails the camera's newest segment file and forwards whole boxes; it never decodes or re-muxes.

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
import itertools
import struct
import time
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from custos.bootstrap import Services
from custos.domain.access import Permission
from custos.domain.errors import AuthenticationFailed, CustosError
from custos.domain.users import Principal
from custos.entrypoints.api.bounds import Id
from custos.entrypoints.web.paths import API_PREFIX

router = APIRouter()
POLL_S = 0.05
STALE_S = 10.0  # no growth for this long: the camera is not being recorded now
_CONTAINER_BOXES = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stsd"}


@dataclass(frozen=True)
class Box:
    kind: bytes
    start: int
    size: int

    @property
    def end(self) -> int:
        return self.start + self.size


def complete_boxes(data: bytes, base: int = 0) -> list[Box]:
    """The top-level boxes wholly inside ``data`` (which starts at file offset ``base``)."""
    boxes: list[Box] = []
    pos = 0
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if size == 1:
            if pos + 16 > len(data):
                break
            size = struct.unpack(">Q", data[pos + 8 : pos + 16])[0]
        if size < 8 or pos + size > len(data):
            break  # size 0 ("to end of file") or not written yet
        boxes.append(Box(kind, base + pos, size))
        pos += size
    return boxes


def codec_of(moov: bytes) -> str | None:
    """The RFC 6381 codec string of the first video sample entry (H.264 or H.265)."""
    i = moov.find(b"avcC")
    if i >= 0 and i + 8 <= len(moov):
        profile, compat, level = moov[i + 5], moov[i + 6], moov[i + 7]
        entry = "avc3" if moov.find(b"avc3") >= 0 else "avc1"
        return f"{entry}.{profile:02x}{compat:02x}{level:02x}"
    j = moov.find(b"hvcC")
    if j >= 0 and j + 17 <= len(moov):
        entry = "hev1" if moov.find(b"hev1") >= 0 else "hvc1"
        b = moov[j + 5]
        profile_space, tier, profile = b >> 6, (b >> 5) & 1, b & 0x1F
        compat = int.from_bytes(moov[j + 6 : j + 10], "big")
        rev = int(f"{compat:032b}"[::-1], 2)
        level = moov[j + 16]
        space = "" if profile_space == 0 else "ABC"[profile_space - 1]
        return f"{entry}.{space}{profile}.{rev:x}.{'H' if tier else 'L'}{level}.B0"
    return None


def newest_segments(media_root: Path, camera_id: int) -> list[Path]:
    """The newest run's files, oldest first: the last is the one the recorder writes now (or
    wrote last)."""
    cam_dir = media_root / str(camera_id)
    try:
        runs = sorted((d for d in cam_dir.iterdir() if d.is_dir()), key=lambda d: d.name)
    except FileNotFoundError:
        return []
    for run in reversed(runs):
        files = sorted(run.glob("*.mp4"))
        if files:
            return files
    return []


def newest_segment(media_root: Path, camera_id: int) -> Path | None:
    files = newest_segments(media_root, camera_id)
    return files[-1] if files else None


def first_tail(media_root: Path, camera_id: int) -> SegmentTail | None:
    """Where a new viewer starts: the newest complete fragment, taken from the previous file
    when the recorder has only just begun a new one (so the first frame comes at once)."""
    files = newest_segments(media_root, camera_id)
    for path in reversed(files[-2:]):
        tail = SegmentTail(path)
        if tail.read_init() and tail.skip_to_latest():
            return tail
    return None


class SegmentTail:
    """Reads whole boxes from a growing fMP4 file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.init: bytes | None = None
        self.codec: str | None = None

    def read_init(self) -> bool:
        data = self.path.read_bytes()
        boxes = complete_boxes(data)
        moov = next((b for b in boxes if b.kind == b"moov"), None)
        if moov is None:
            return False
        self.init = data[: moov.end]
        self.codec = codec_of(data[moov.start : moov.end])
        self.offset = moov.end
        return True

    def skip_to_latest(self) -> bool:
        """Start at the last complete fragment rather than the start of the file."""
        data = self._read_from(self.offset)
        pairs = _fragments(complete_boxes(data, self.offset))
        if pairs:
            self.offset = pairs[-1][0]
        return bool(pairs)

    def read_fragments(self) -> bytes:
        data = self._read_from(self.offset)
        pairs = _fragments(complete_boxes(data, self.offset))
        if not pairs:
            return b""
        start, end = pairs[0][0], pairs[-1][1]
        out = data[start - self.offset : end - self.offset]
        self.offset = end
        return out

    def _read_from(self, offset: int) -> bytes:
        with self.path.open("rb") as f:
            f.seek(offset)
            return f.read()


def _fragments(boxes: list[Box]) -> list[tuple[int, int]]:
    """(start, end) of each complete moof + mdat pair; other boxes are skipped."""
    pairs: list[tuple[int, int]] = []
    for a, b in itertools.pairwise(boxes):
        if a.kind == b"moof" and b.kind == b"mdat":
            pairs.append((a.start, b.end))
    return pairs


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
