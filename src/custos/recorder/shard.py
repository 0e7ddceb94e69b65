"""A recording shard: one process that records up to a few hundred cameras with PyAV, one thread
per camera (``python -m custos.recorder.shard``; started by :mod:`custos.recorder.engines.pyav`).

It only demuxes and muxes: sealing, indexing, health and every decision stay in the recorder.
It listens on a Unix socket ``<pid>.sock`` in its working directory (the recorder's shard
directory, mode 0700; the socket 0600) and outlives the recorder that started it
(docs/design/recording.md, "Shards outlive their supervisor"). One supervisor is attached at a
time; commands arrive as JSON lines::

    {"op": "hello"}                       (first: the answer is a "hello" event, then the
                                           events buffered while no supervisor was attached)
    {"op": "open", "sid": 7, "url": "rtsp://…", "dir": "/…/run", "segment_s": 60,
     "io_timeout_s": 5, "open_timeout_s": 10, "format": "mpeg", "camera": 3, "src": "<sha256>",
     "live": "/…/live/3.main.sock"}       ("live": the session's live tap socket, optional)
    {"op": "stop", "sid": 7}
    {"op": "quit"}                        (every session closes its segment; then it exits)

Events go back on the same socket, one JSON object per line::

    {"ev": "hello", "pid": 4711, "sessions": [{"sid": 7, "camera": 3, "dir": "…", "src": "…",
     "seq": 12, "streams": […], "video": […]}]}
    {"ev": "described", "sid": 7, "streams": ["video h264"], "video": ["h264", 1920, 1080]}
    {"ev": "opened", "sid": 7, "seq": 0}
    {"ev": "finished", "sid": 7, "name": "000000.mp4", "start": 0.0, "end": 60.04}
    {"ev": "said", "sid": 7, "line": "Connection refused"}
    {"ev": "ended", "sid": 7}
    {"ev": "tick", "frames": {"7": 1500}}      (every second: the cameras whose count moved)

The URL (it holds the password) travels on the socket, never on the command line, and is never
logged nor sent back. With no supervisor attached for ``--orphan-s`` seconds every session
closes its segment and the shard exits.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import sys
import threading
import time
from collections import deque
from pathlib import Path
from typing import IO, Any

from custos.adapters.media.ffmpeg_segmenter import InputVideo, ListedSegment
from custos.adapters.media.pyav_segmenter import (
    SegmentingSession,
    SessionSpec,
    describe_error,
    is_demuxer_name,
)
from custos.recorder.lifeline import settle_heap

TICK_S = 1.0
UNBLOCK_AFTER_S = 1.0
STACK_BYTES = 1024 * 1024  # FFmpeg's RTSP demuxer and the MP4 muxer need far less than 8 MiB
BUFFERED_EVENTS = 10_000  # kept while no supervisor is attached (ticks are not kept)


class EventWriter:
    """One JSON line per event, whole lines only, from any thread; to the attached supervisor,
    or, while none is, into a bounded buffer replayed (in order) to the next one."""

    def __init__(self, out: IO[bytes] | None = None) -> None:
        self._out = out
        self._lock = threading.Lock()
        self._buffer: deque[bytes] = deque(maxlen=BUFFERED_EVENTS)
        self.detached_at: float | None = None if out is not None else time.monotonic()

    def send(self, event: dict[str, Any]) -> None:
        line = json.dumps(event, separators=(",", ":")).encode() + b"\n"
        with self._lock:
            if self._out is not None:
                try:
                    self._out.write(line)
                    self._out.flush()
                    return
                except (OSError, ValueError):  # the supervisor is gone: keep it for the next
                    self._detach()
            if event.get("ev") != "tick":
                self._buffer.append(line)

    def attach(self, out: IO[bytes], hello: dict[str, Any]) -> bool:
        """A supervisor attached: the hello, then what it missed; False if it went at once."""
        with self._lock:
            if self._out is not None:
                self._detach()
            try:
                out.write(json.dumps(hello, separators=(",", ":")).encode() + b"\n")
                while self._buffer:
                    out.write(self._buffer[0])
                    self._buffer.popleft()
                out.flush()
            except (OSError, ValueError):
                return False
            self._out, self.detached_at = out, None
            return True

    def unreported(self) -> dict[int, int]:
        """Session → the first segment whose ``finished`` waits in the buffer."""
        first: dict[int, int] = {}
        with self._lock:
            lines = list(self._buffer)
        for line in lines:
            event = json.loads(line)
            if event.get("ev") == "finished":
                sid, seq = int(event["sid"]), int(str(event["name"]).removesuffix(".mp4"))
                first[sid] = min(first.get(sid, seq), seq)
        return first

    def detach(self, out: IO[bytes]) -> None:
        with self._lock:
            if self._out is out:
                self._detach()

    def _detach(self) -> None:
        out, self._out = self._out, None
        self.detached_at = time.monotonic()
        if out is not None:
            with contextlib.suppress(OSError, ValueError):
                out.close()


class _Reporter:
    """A session's events, tagged with its id."""

    def __init__(self, sid: int, writer: EventWriter, info: dict[str, Any]) -> None:
        self._sid = sid
        self._writer = writer
        self._info = info  # what a new supervisor is told of the session

    def described(self, streams: list[str], video: InputVideo | None) -> None:
        shown = [video.codec, video.width, video.height] if video else None
        self._info.update(streams=streams, video=shown)
        self._writer.send({"ev": "described", "sid": self._sid, "streams": streams, "video": shown})

    def opened(self, sequence: int) -> None:
        self._info["seq"] = sequence
        self._writer.send({"ev": "opened", "sid": self._sid, "seq": sequence})

    def finished(self, segment: ListedSegment) -> None:
        self._writer.send(
            {
                "ev": "finished",
                "sid": self._sid,
                "name": segment.name,
                "start": segment.media_start,
                "end": segment.media_end,
            }
        )

    def said(self, line: str) -> None:
        self._writer.send({"ev": "said", "sid": self._sid, "line": line})


class Shard:
    def __init__(self, writer: EventWriter) -> None:
        self._writer = writer
        self.events = writer
        self._lock = threading.Lock()
        self._sessions: dict[int, tuple[SegmentingSession, threading.Thread]] = {}
        self._info: dict[int, dict[str, Any]] = {}
        self._reported: dict[int, int] = {}
        self._done = threading.Event()
        self.quit = threading.Event()
        self.grace_s = 10.0

    def hello(self) -> dict[str, Any]:
        """Each session's ``seq``: the first segment no supervisor was told of (the one in
        flight, or the first whose ``finished`` waits in the buffer)."""
        unreported = self._writer.unreported()
        with self._lock:
            sessions = [
                dict(info, sid=sid, seq=min(info["seq"], unreported.get(sid, info["seq"])))
                for sid, info in self._info.items()
            ]
        return {"ev": "hello", "pid": os.getpid(), "sessions": sessions}

    def handle(self, command: dict[str, Any]) -> None:
        op = command.get("op")
        if op == "quit":
            self.quit.set()
            return
        sid = int(command["sid"])
        if op == "open":
            self.grace_s = max(self.grace_s, float(command["io_timeout_s"]) + 5)
            spec = SessionSpec(
                url=str(command["url"]),
                run_dir=Path(command["dir"]),
                segment_seconds=int(command["segment_s"]),
                io_timeout_s=float(command["io_timeout_s"]),
                open_timeout_s=float(command.get("open_timeout_s", 10.0)),
                input_format=_input_format(command.get("format")),
                live_socket=Path(command["live"]) if command.get("live") else None,
            )
            info: dict[str, Any] = {
                "camera": command.get("camera"),
                "dir": str(spec.run_dir),
                "src": command.get("src"),
                "seq": -1,
                "streams": [],
                "video": None,
            }
            session = SegmentingSession(spec, _Reporter(sid, self._writer, info))
            thread = threading.Thread(
                target=self._run, args=(sid, session), name=f"session-{sid}", daemon=True
            )
            with self._lock:
                self._sessions[sid] = (session, thread)
                self._info[sid] = info
            thread.start()
        elif op == "stop":
            with self._lock:
                entry = self._sessions.get(sid)
            if entry is not None:
                entry[0].stop()
                threading.Thread(target=self._free_if_stuck, args=entry, daemon=True).start()

    @staticmethod
    def _free_if_stuck(session: SegmentingSession, thread: threading.Thread) -> None:
        """A flowing stream stops at its next packet (tens of ms). One still running after
        ``UNBLOCK_AFTER_S`` waits inside FFmpeg on a socket that sends no media (a camera
        whose video froze while RTCP still arrives, a peer sending junk): free it."""
        waited = UNBLOCK_AFTER_S
        while True:
            thread.join(waited)
            if not thread.is_alive():
                return
            freed = session.unblock()
            print(
                f"recording shard: session stuck on stop, {freed} socket(s) shut down",
                file=sys.stderr,
            )
            waited = min(waited * 2, 8.0)

    def _run(self, sid: int, session: SegmentingSession) -> None:
        try:
            session.run()
        except Exception as exc:  # the session's boundary: one camera never stops the others
            self._writer.send({"ev": "said", "sid": sid, "line": describe_error(exc)})
        finally:
            with self._lock:
                self._sessions.pop(sid, None)
                self._info.pop(sid, None)
                self._reported.pop(sid, None)
            self._writer.send({"ev": "ended", "sid": sid, "frames": session.frames})

    def tick_forever(self) -> None:
        while not self._done.wait(TICK_S):
            with self._lock:
                counts = {sid: s.frames for sid, (s, _) in self._sessions.items()}
            moved = {str(k): v for k, v in counts.items() if self._reported.get(k) != v}
            self._reported.update(counts)
            if moved:
                self._writer.send({"ev": "tick", "frames": moved})

    def stop_all(self, grace_s: float) -> None:
        with self._lock:
            entries = list(self._sessions.values())
        for session, _ in entries:
            session.stop()
        deadline = time.monotonic() + grace_s
        for _, thread in entries:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._done.set()


def _input_format(value: object) -> str | None:
    """The demuxer's name, if the command gives one."""
    if value is None:
        return None
    if not is_demuxer_name(str(value)):
        raise ValueError("format must be a demuxer's name")
    return str(value)


def serve(shard: Shard, server: socket.socket) -> None:
    """Accept supervisors, one at a time (a newer one replaces an older one)."""
    while True:
        try:
            conn, _ = server.accept()
        except OSError:
            return
        threading.Thread(target=_attached, args=(shard, conn), daemon=True).start()


def _attached(shard: Shard, conn: socket.socket) -> None:
    reader, out = conn.makefile("rb"), conn.makefile("wb")
    attached = False
    try:
        for raw in reader:
            try:
                command = json.loads(raw)
                if command.get("op") == "hello":
                    attached = shard.events.attach(out, shard.hello())
                    if not attached:
                        return
                    continue
                shard.handle(command)
            except (ValueError, KeyError, TypeError) as exc:
                print(f"recording shard: bad command ignored: {exc}", file=sys.stderr)
    except OSError:
        pass
    finally:
        if attached:
            shard.events.detach(out)
        reader.close()
        conn.close()


def run_stream(stdin: IO[bytes], stdout: IO[bytes]) -> int:
    """A shard driven over one pair of streams until its input ends, then every session
    closes its segment: the protocol without the socket (for tests)."""
    shard = Shard(EventWriter(stdout))
    threading.Thread(target=shard.tick_forever, name="tick", daemon=True).start()
    for raw in stdin:
        try:
            shard.handle(json.loads(raw))
        except (ValueError, KeyError, TypeError) as exc:
            print(f"recording shard: bad command ignored: {exc}", file=sys.stderr)
    shard.stop_all(shard.grace_s)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="custos.recorder.shard")
    parser.add_argument("--orphan-s", type=float, default=30.0)
    args = parser.parse_args(argv)
    os.umask(0o077)  # the socket: the recorder's user only
    name = f"{os.getpid()}.sock"  # relative: in the shard directory (its working directory)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(name)
    os.chmod(name, 0o600)
    server.listen(4)
    writer = EventWriter()
    shard = Shard(writer)
    signal.signal(signal.SIGTERM, lambda _s, _f: shard.quit.set())
    threading.Thread(target=shard.tick_forever, name="tick", daemon=True).start()
    threading.Thread(target=serve, args=(shard, server), name="accept", daemon=True).start()
    while not shard.quit.wait(0.2):
        since = writer.detached_at
        if since is not None and time.monotonic() - since > args.orphan_s:
            print(
                f"recording shard: no recorder for {args.orphan_s:.0f} s, closing its segments",
                file=sys.stderr,
            )
            break
    Path(name).unlink(missing_ok=True)
    server.close()
    shard.stop_all(shard.grace_s)
    return 0


if __name__ == "__main__":
    threading.stack_size(STACK_BYTES)
    settle_heap()
    raise SystemExit(main())
