"""Where the duty wall's live view gets a camera's video (docs/design/live.md, sections 1 and 2),
as one kind of thing: an async stream of *pieces* (:class:`~custos.services.live_relay.Init`,
``Fragments``, ``Status``, ``Dropped``), whatever the source.

- :func:`open_tap`: this machine's live tap, the recorder's packets muxed frame by frame, read
  from its Unix socket ``<live>/<camera>.<stream>.sock`` (it ends when the recording session
  does; the next session's socket replaces it).
- :func:`file_pieces`: the file the recorder writes (the ffmpeg engine has no tap): a GOP per
  fragment, so one to two GOPs behind.
- :func:`pull_pieces`: a subscription of a tap this web server fills itself (a sub stream the
  recorder does not record, ``services/live_pull.py``).
- :func:`relay_pieces`: any byte stream in the tap's format (a recorder node's live tail).

:class:`LiveFeeds` is what the web server holds: the cameras' streams, their recording health,
the pulls and the transcode slots.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from custos.domain.recording import CameraHealth
from custos.services.live_pull import LivePulls, PullLease, TapSubscription
from custos.services.live_relay import BoxRelay, Dropped, Fragments, Init, Status
from custos.services.live_tail import LiveFollower, SegmentTail
from custos.services.live_transcode import TranscodeSlots
from custos.services.ports import UnitOfWorkFactory

Piece = Init | Status | Dropped | Fragments
HEVC_ENTRIES = ("hev1", "hvc1")
READ_BYTES = 1 << 18
FILE_POLL_S = 0.05  # while the file grows; 0.5 s while it does not
TAP_CHECK_S = 1.0  # while on the file: this often, look whether a tap socket appeared
PULL_QUEUE_BYTES = 4 << 20


def is_hevc(codec: str | None) -> bool:
    return codec is not None and codec.startswith(HEVC_ENTRIES)


@dataclass(frozen=True)
class CameraStreams:
    """What the live view needs of a camera's registry entry."""

    camera_id: int
    has_main: bool
    sub_url: str | None = None  # with its credentials: never log it

    def __repr__(self) -> str:
        return f"CameraStreams({self.camera_id}, sub={'yes' if self.sub_url else 'no'})"


class LiveFeeds:
    """The web server's live-view parts: call its blocking methods from a thread."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        health_of: Callable[[int], CameraHealth | None],
        live_dir: Path,
        pulls: LivePulls | None,
        transcodes: int,
        ffmpeg: str = "ffmpeg",
    ) -> None:
        self._uow = uow
        self._health_of = health_of
        self.live_dir = live_dir
        self.pulls = pulls
        self.slots = TranscodeSlots(transcodes)
        self.ffmpeg = ffmpeg
        self._codecs: dict[tuple[int, str], str] = {}
        self._lock = threading.Lock()

    def streams(self, camera_id: int) -> CameraStreams:
        """The camera's streams (call after ``open_live`` checked the viewer may see it). A sub
        stream is pulled only over RTSP or HTTP (a GB/T 28181 channel is not)."""
        with self._uow() as uow:
            cams = uow.cameras.find(ids=[camera_id])
        if not cams:
            return CameraStreams(camera_id, False)
        cam = cams[0]
        sub = cam.sub_stream
        url = None
        if sub is not None and sub.gb_source is None:
            url = sub.with_credentials()
        return CameraStreams(camera_id, cam.main_stream is not None, url)

    def health(self, camera_id: int) -> CameraHealth | None:
        """The recorder's last word on the camera (None: no recorder has seen it)."""
        return self._health_of(camera_id)

    def tap_path(self, camera_id: int, stream: str) -> Path:
        return self.live_dir / f"{camera_id}.{stream}.sock"

    def attach_pull(self, camera_id: int, name: str, url: str) -> PullLease | None:
        return None if self.pulls is None else self.pulls.attach(camera_id, name, url)

    def saw_codec(self, camera_id: int, stream: str, codec: str | None) -> None:
        if codec:
            with self._lock:
                self._codecs[(camera_id, stream)] = codec

    def codec_seen(self, camera_id: int, stream: str) -> str | None:
        """The codec a stream of the camera had when last watched here (None: not yet)."""
        with self._lock:
            return self._codecs.get((camera_id, stream))


# ---- the sources ----------------------------------------------------------------------------------
async def open_tap(path: Path) -> tuple[AsyncIterator[Piece], Callable[[], None]]:
    """The tap at ``path``, connected (OSError when there is none: no socket, or nobody
    listening on it): its pieces until the recording session ends, and how to hang up (also
    when the pieces are never read)."""
    sock = _connect(path)
    try:
        reader, writer = await asyncio.open_unix_connection(sock=sock, limit=READ_BYTES)
    except OSError:
        sock.close()
        raise
    return _read_pieces(reader, writer), writer.close


def _connect(path: Path) -> socket.socket:
    """Connect however long the directory's path is (a Unix socket's address is at most 107
    bytes): through ``/proc/self/fd`` of the directory, as the recorder's shards do."""
    fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:  # never waits: a Unix socket whose backlog is full says EAGAIN (tried again later)
        sock.setblocking(False)
        sock.connect(f"/proc/self/fd/{fd}/{path.name}")
    except OSError:
        sock.close()
        raise
    finally:
        os.close(fd)
    return sock


async def _read_pieces(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> AsyncIterator[Piece]:
    relay = BoxRelay()
    try:
        while chunk := await reader.read(READ_BYTES):
            for piece in relay.pieces(chunk):
                yield piece
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def relay_pieces(chunks: AsyncGenerator[bytes, None]) -> AsyncIterator[Piece]:
    """A byte stream in the tap's format (a node's live tail), cut into pieces."""
    relay = BoxRelay()
    async with contextlib.aclosing(chunks):
        async for chunk in chunks:
            for piece in relay.pieces(chunk):
                yield piece


async def file_pieces(
    follower: LiveFollower, now: Callable[[], float], give_up: Callable[[], bool]
) -> AsyncIterator[Piece]:
    """The recorder's file of the camera, as it grows: its init boxes, its fragments, whether
    it grew in the last ten seconds (``now``: Unix seconds). Ends when ``give_up()`` says so
    (checked every :data:`TAP_CHECK_S`: a tap socket appeared, or a node records the camera)."""
    state: bool | None = None
    checked = asyncio.get_running_loop().time()
    while True:
        for step in follower.advance():
            if isinstance(step, SegmentTail):
                assert step.init is not None
                yield Init(step.init, step.codec)
            else:
                yield Fragments(step)
        live = follower.live(now())
        if live != state:
            state = live
            yield Status(live)
        if chunk := follower.fragments():
            yield Fragments(chunk)
            continue
        clock = asyncio.get_running_loop().time()
        if clock - checked >= TAP_CHECK_S:
            checked = clock
            if give_up():
                return
        await asyncio.sleep(FILE_POLL_S if live else 0.5)


async def pull_pieces(sub: TapSubscription) -> AsyncIterator[Piece]:
    """A tap subscription of this process (a pulled sub stream): its boxes, read by a thread of
    its own (never the event loop's executor: a slow camera would hold it), and the count of
    fragments it lost when that changes. Ends when the pull's connection does."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[bytes | None] = asyncio.Queue()
    stop = threading.Event()

    def read() -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed first (the server stops)
            while not stop.is_set():
                data = sub.get(0.5)
                if data is None:
                    break
                if data:
                    loop.call_soon_threadsafe(queue.put_nowait, data)
            loop.call_soon_threadsafe(queue.put_nowait, None)

    threading.Thread(target=read, name="live-pull-viewer", daemon=True).start()
    relay = BoxRelay()
    dropped = 0
    try:
        while (data := await queue.get()) is not None:
            if sub.dropped != dropped:
                dropped = sub.dropped
                yield Dropped(dropped)
            for piece in relay.pieces(data):
                yield piece
    finally:
        stop.set()
        sub.close()
