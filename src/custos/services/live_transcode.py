"""H.265 for a browser that cannot decode it (docs/design/live.md, section 2): one viewer's
feed decoded and encoded again as H.264 by an ``ffmpeg`` child, frame-level fragmented MP4 in
and out.

Why a child and not PyAV in a thread: the web server's process keeps no decoder state, a
transcode that goes wrong dies alone, and its CPU shows as its own. Its delay is kept to about
two frames: the input is read as it comes (``-fflags nobuffer``, a 32-byte probe, no analysis),
the H.265 decoder runs one thread (frame threads hold a frame each), x264 ``ultrafast``
``zerolatency`` has no look-ahead, and the output is one fragment per frame, flushed at once.
Measured (640x360, 25 fps, on the shared 2-core machine): about 80 ms added, 0.05-0.07 CPU
seconds per second of video.

At most ``CUSTOS_LIVE_TRANSCODES`` run at a time (:class:`TranscodeSlots`); each new init
segment of the source (a new recording session) starts a new child.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import subprocess
import threading
from collections.abc import AsyncIterator

from custos.services.live_relay import BoxRelay, Dropped, Fragments, Init, Status

log = logging.getLogger(__name__)

Piece = Init | Status | Dropped | Fragments
READ_BYTES = 1 << 16


def transcode_command(ffmpeg: str = "ffmpeg") -> list[str]:
    """The child's command line: fragmented MP4 on stdin, H.264 fragmented MP4 on stdout."""
    return [
        ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error",
        "-fflags", "nobuffer", "-flags", "low_delay", "-probesize", "32",
        "-analyzeduration", "0", "-threads", "1", "-f", "mp4", "-i", "pipe:0",
        "-map", "0:v:0", "-an", "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
        "-pix_fmt", "yuv420p", "-f", "mp4",
        "-movflags", "empty_moov+default_base_moof+frag_every_frame", "-flush_packets", "1",
        "pipe:1",
    ]  # fmt: skip


class TranscodeSlots:
    """How many transcodes may run at once on this server."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._used = 0
        self._lock = threading.Lock()

    def take(self) -> bool:
        """One slot, if one is free."""
        with self._lock:
            if self._used >= self.limit:
                return False
            self._used += 1
            return True

    def give_back(self) -> None:
        with self._lock:
            self._used = max(0, self._used - 1)

    @property
    def used(self) -> int:
        with self._lock:
            return self._used


async def transcoded(source: AsyncIterator[Piece], ffmpeg: str = "ffmpeg") -> AsyncIterator[Piece]:
    """``source``'s video as H.264: its init segments and fragments go through an ffmpeg child
    (a new one at each init); its status and drop counts pass as they are. Ends when the
    source does (after what the child still had) or the child fails."""
    out: asyncio.Queue[Piece | None] = asyncio.Queue()
    feeding = asyncio.ensure_future(_feed(source, out, ffmpeg))
    try:
        while (piece := await out.get()) is not None:
            yield piece
    finally:
        feeding.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await feeding


async def _feed(
    source: AsyncIterator[Piece], out: asyncio.Queue[Piece | None], ffmpeg: str
) -> None:
    child: _Child | None = None
    try:
        async for piece in source:
            if isinstance(piece, Init):
                if child is not None:
                    await child.finish()
                child = await _Child.start(ffmpeg, out)
                await child.write(piece.data)
            elif isinstance(piece, Fragments):
                if child is not None and not await child.write(piece.data):
                    return  # the child failed (said why)
            else:
                out.put_nowait(piece)
        if child is not None:
            await child.finish()
    finally:
        if child is not None:
            await child.close()
        out.put_nowait(None)


class _Child:
    """One ffmpeg child and the task that reads what it writes."""

    def __init__(self, proc: asyncio.subprocess.Process, out: asyncio.Queue[Piece | None]) -> None:
        self._proc = proc
        self._last_line = ""  # the child's last complaint (stderr is read all along)
        self._complaints = asyncio.ensure_future(self._drain_stderr())
        self._reading = asyncio.ensure_future(self._read(out))

    @classmethod
    async def start(cls, ffmpeg: str, out: asyncio.Queue[Piece | None]) -> _Child:
        proc = await asyncio.create_subprocess_exec(
            *transcode_command(ffmpeg),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        return cls(proc, out)

    async def write(self, data: bytes) -> bool:
        """Hand the child bytes; False once it no longer takes them."""
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(data)
            await self._proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            self._said()
            return False
        return True

    async def finish(self) -> None:
        """No more input: let it write what it holds, then end it."""
        assert self._proc.stdin is not None
        with contextlib.suppress(OSError):
            self._proc.stdin.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._reading), 5.0)
        await self.close()

    async def close(self) -> None:
        """Kill it if it still runs, and read its pipes to their end (none is left open)."""
        assert self._proc.stdin is not None
        assert self._proc.stdout is not None
        try:
            with contextlib.suppress(OSError):
                self._proc.stdin.close()
            if self._proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    self._proc.kill()
            self._reading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reading
            with contextlib.suppress(OSError, TimeoutError):
                await asyncio.wait_for(self._proc.stdout.read(), 2.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._complaints, 2.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._proc.wait(), 2.0)
        finally:
            # Cut short (the viewer's task cancelled again, the server stopping): the pipes are
            # closed now all the same, never left for the garbage collector of a closed loop.
            self._complaints.cancel()
            transport = getattr(self._proc, "_transport", None)  # asyncio's, holds every pipe
            if transport is not None:
                transport.close()  # kills the child if it still runs
                popen = transport.get_extra_info("subprocess")
                if popen is not None and popen.returncode is None:
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        popen.wait(2.0)  # killed: at once (reaped here or by asyncio's watcher)

    async def _read(self, out: asyncio.Queue[Piece | None]) -> None:
        assert self._proc.stdout is not None
        relay = BoxRelay()
        while chunk := await self._proc.stdout.read(READ_BYTES):
            for piece in relay.pieces(chunk):
                out.put_nowait(piece)
        await self._proc.wait()
        if self._proc.returncode:
            self._said()

    async def _drain_stderr(self) -> None:
        assert self._proc.stderr is not None
        while line := await self._proc.stderr.readline():
            self._last_line = line.decode(errors="replace").strip()[:200] or self._last_line

    def _said(self) -> None:
        log.warning("live transcode ended: %s", self._last_line or "no reason given")
