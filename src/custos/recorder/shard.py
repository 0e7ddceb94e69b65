"""A recording shard: one process that records up to a few hundred cameras with PyAV, one thread
per camera (``python -m custos.recorder.shard``; started by :mod:`custos.recorder.engines.pyav`).

It only demuxes and muxes: sealing, indexing, health and every decision stay in the recorder.
Commands arrive on standard input, one JSON object per line::

    {"op": "open", "sid": 7, "url": "rtsp://…", "dir": "/…/run", "segment_s": 60,
     "io_timeout_s": 5, "open_timeout_s": 10, "format": "mpeg"}   ("format": optional)
    {"op": "stop", "sid": 7}

Events leave on standard output, one JSON object per line::

    {"ev": "described", "sid": 7, "streams": ["video h264"], "video": ["h264", 1920, 1080]}
    {"ev": "opened", "sid": 7, "seq": 0}
    {"ev": "finished", "sid": 7, "name": "000000.mp4", "start": 0.0, "end": 60.04}
    {"ev": "said", "sid": 7, "line": "Connection refused"}
    {"ev": "ended", "sid": 7}
    {"ev": "tick", "frames": {"7": 1500}}      (every second: the cameras whose count moved)

The URL (it holds the password) travels on the pipe, never on the command line, and is never
logged. End of standard input stops every session (each closes its segment) and ends the process.
"""

from __future__ import annotations

import json
import sys
import threading
import time
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


class EventWriter:
    """One JSON line per event, whole lines only, from any thread."""

    def __init__(self, out: IO[bytes]) -> None:
        self._out = out
        self._lock = threading.Lock()

    def send(self, event: dict[str, Any]) -> None:
        line = json.dumps(event, separators=(",", ":")).encode() + b"\n"
        with self._lock:
            try:
                self._out.write(line)
                self._out.flush()
            except (BrokenPipeError, ValueError):  # the recorder is gone: nothing to tell
                pass


class _Reporter:
    """A session's events, tagged with its id."""

    def __init__(self, sid: int, writer: EventWriter) -> None:
        self._sid = sid
        self._writer = writer

    def described(self, streams: list[str], video: InputVideo | None) -> None:
        shown = [video.codec, video.width, video.height] if video else None
        self._writer.send({"ev": "described", "sid": self._sid, "streams": streams, "video": shown})

    def opened(self, sequence: int) -> None:
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
        self._lock = threading.Lock()
        self._sessions: dict[int, tuple[SegmentingSession, threading.Thread]] = {}
        self._reported: dict[int, int] = {}
        self._done = threading.Event()

    def handle(self, command: dict[str, Any]) -> None:
        op, sid = command.get("op"), int(command["sid"])
        if op == "open":
            spec = SessionSpec(
                url=str(command["url"]),
                run_dir=Path(command["dir"]),
                segment_seconds=int(command["segment_s"]),
                io_timeout_s=float(command["io_timeout_s"]),
                open_timeout_s=float(command.get("open_timeout_s", 10.0)),
                input_format=_input_format(command.get("format")),
            )
            session = SegmentingSession(spec, _Reporter(sid, self._writer))
            thread = threading.Thread(
                target=self._run, args=(sid, session), name=f"session-{sid}", daemon=True
            )
            with self._lock:
                self._sessions[sid] = (session, thread)
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


def main(stdin: IO[bytes] | None = None, stdout: IO[bytes] | None = None) -> int:
    shard = Shard(EventWriter(stdout or sys.stdout.buffer))
    threading.Thread(target=shard.tick_forever, name="tick", daemon=True).start()
    grace_s = 0.0
    for raw in stdin or sys.stdin.buffer:
        try:
            command = json.loads(raw)
            grace_s = max(grace_s, float(command.get("io_timeout_s", 0)) + 5)
            shard.handle(command)
        except (ValueError, KeyError, TypeError) as exc:
            print(f"recording shard: bad command ignored: {exc}", file=sys.stderr)
    shard.stop_all(grace_s or 10.0)
    return 0


if __name__ == "__main__":
    threading.stack_size(STACK_BYTES)
    settle_heap()
    raise SystemExit(main())
