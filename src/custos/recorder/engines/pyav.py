"""The ``pyav`` engine, recorder side: recording shards (``custos.recorder.shard``), each a
process recording up to ``cameras_per_shard`` connections, and one :class:`ShardSession` per
connection, a :class:`~custos.recorder.port.RecordingSession` (see docs/design/recording.md).

Each shard has one reader thread here that hands its events to the sessions; the camera
workers seal and index exactly as with ffmpeg. A shard that dies ends its sessions (the reason
is ``recorder_restart``); their workers reconnect through a new shard after the usual back-off,
and the segment each had in flight is adopted by its worker.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from custos.adapters.media.ffmpeg_segmenter import InputVideo, ListedSegment
from custos.adapters.media.pyav_segmenter import is_demuxer_name
from custos.recorder.lifeline import dies_with_parent
from custos.recorder.port import OnOutput, SessionRequest
from custos.recorder.run_state import RunState

log = logging.getLogger(__name__)

SHARD_EXITED = "recording shard exited"
#: Fewer arenas than glibc's 8 per core: hundreds of threads that each hold a few buffers would
#: otherwise spread them over many half-empty arenas (measured: PSS per camera 1.5–2× higher).
SHARD_ENV = {"MALLOC_ARENA_MAX": "2"}


class ShardSession:
    """One connection recorded in a shard."""

    def __init__(
        self, shard: _Shard, sid: int, run: RunState, on_output: OnOutput, kill_grace_s: float
    ) -> None:
        self._shard = shard
        self.sid = sid
        self._run = run
        self._on_output = on_output
        self._kill_grace_s = kill_grace_s
        self._listed: queue.SimpleQueue[ListedSegment | None] = queue.SimpleQueue()
        self._ended = threading.Event()
        self._code: int | None = None

    # ---- what the worker calls ----------------------------------------------------------------
    def poll(self) -> int | None:
        return self._code

    def terminate(self) -> None:
        if self._code is None:
            self._shard.send({"op": "stop", "sid": self.sid})

    def kill(self) -> None:
        """A thread cannot be killed: ask it to stop, and if it has not within the grace (it
        is stuck inside FFmpeg past its own socket time-out), end the whole shard; its other
        cameras reconnect through a new one. Never blocks the caller."""
        if self._code is not None:
            return
        self.terminate()
        timer = threading.Timer(self._kill_grace_s, self._end_shard_if_stuck)
        timer.daemon = True
        timer.start()

    def _end_shard_if_stuck(self) -> None:
        if not self._ended.is_set():
            log.error("recording session %d did not stop; ending its shard", self.sid)
            self._shard.kill()

    def listed(self) -> Iterator[ListedSegment]:
        while True:
            item = self._listed.get()
            if item is None:
                return
            yield item

    def wait(self) -> None:
        self._ended.wait()

    # ---- what the shard's reader calls --------------------------------------------------------
    def on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("ev")
        if kind == "described":
            shown = event.get("video")
            video = InputVideo(str(shown[0]), int(shown[1]), int(shown[2])) if shown else None
            self._run.describe([str(s) for s in event.get("streams", [])], video)
            self._on_output()
        elif kind == "opened":
            self._run.opened(int(event["seq"]))
        elif kind == "finished":
            segment = ListedSegment(str(event["name"]), float(event["start"]), float(event["end"]))
            self._run.closed(segment.sequence)
            self._listed.put(segment)
        elif kind == "said":
            self._run.said(str(event["line"]))
            self._on_output()
        elif kind == "ended":
            self._run.progress(int(event.get("frames", self._run.frames)))
            self.end(0)

    def progress(self, frames: int) -> None:
        self._run.progress(frames)
        self._on_output()

    def end(self, code: int) -> None:
        if self._code is not None:
            return
        self._code = code
        self._run.mark_exited()
        self._listed.put(None)
        self._ended.set()


class _Shard:
    def __init__(self, proc: subprocess.Popen[bytes], number: int) -> None:
        self.proc = proc
        self.number = number
        self.sessions: dict[int, ShardSession] = {}
        self._send_lock = threading.Lock()
        self._lock = threading.Lock()
        self.alive = True
        self._reader = threading.Thread(target=self._read, name=f"shard-{number}", daemon=True)

    def start_reading(self) -> None:
        self._reader.start()

    def load(self) -> int:
        with self._lock:
            return len(self.sessions)

    def add(self, session: ShardSession) -> bool:
        """Take the session; False if the shard has died (its sessions were already ended)."""
        with self._lock:
            if not self.alive:
                return False
            self.sessions[session.sid] = session
            return True

    def send(self, command: dict[str, Any]) -> bool:
        line = json.dumps(command, separators=(",", ":")).encode() + b"\n"
        with self._send_lock:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write(line)
                self.proc.stdin.flush()
                return True
            except (BrokenPipeError, ValueError, OSError):
                return False

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()

    def close(self) -> None:
        """End of input: every session closes its segment, then the shard exits."""
        with self._send_lock:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.close()
            except OSError:  # already gone
                pass

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            try:
                event = json.loads(raw)
            except ValueError:
                log.warning("shard %d: unreadable event ignored", self.number)
                continue
            if event.get("ev") == "tick":
                for sid, frames in event.get("frames", {}).items():
                    session = self._session(int(sid))
                    if session is not None:
                        session.progress(int(frames))
                continue
            session = self._session(int(event.get("sid", -1)))
            if session is None:
                continue
            session.on_event(event)
            if event.get("ev") == "ended":
                with self._lock:
                    self.sessions.pop(session.sid, None)
        code = self.proc.wait()
        self.proc.stdout.close()
        self.close()
        with self._lock:  # from here on no session is added: none can be left waiting
            self.alive = False
            orphans, self.sessions = list(self.sessions.values()), {}
        if orphans:
            log.error(
                "shard %d exited with %s, ending %d sessions", self.number, code, len(orphans)
            )
        for session in orphans:
            session.on_event({"ev": "said", "line": f"{SHARD_EXITED} (status {code})"})
            session.end(code if code else 1)

    def _session(self, sid: int) -> ShardSession | None:
        with self._lock:
            return self.sessions.get(sid)


class ShardPool:
    """The ``pyav`` engine: sessions placed on the least loaded shard with room, a new shard
    started when none has any."""

    name = "pyav"

    def __init__(
        self, cameras_per_shard: int = 25, kill_grace_s: float = 10.0, open_timeout_s: float = 10.0
    ) -> None:
        if cameras_per_shard < 1:
            raise ValueError("cameras_per_shard must be at least 1")
        self._capacity = cameras_per_shard
        self._open_timeout_s = open_timeout_s
        self._kill_grace_s = kill_grace_s
        self._lock = threading.Lock()
        self._shards: list[_Shard] = []
        self._next_sid = 0
        self._spawned = 0
        # Shards are started from this one long-lived thread: PR_SET_PDEATHSIG fires when the
        # spawning *thread* ends, and a camera's worker thread ends when the camera is removed.
        self._spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shard-spawner")

    @property
    def shards(self) -> int:
        with self._lock:
            return sum(1 for s in self._shards if s.alive)

    def start(self, request: SessionRequest, run: RunState, on_output: OnOutput) -> ShardSession:
        fmt = request.input_format
        if fmt is not None and not is_demuxer_name(fmt):
            raise ValueError("input_format must be a demuxer's name")
        with self._lock:
            while True:  # a shard may die between being chosen and taking the session
                shard = self._shard_with_room()
                self._next_sid += 1
                session = ShardSession(shard, self._next_sid, run, on_output, self._kill_grace_s)
                if shard.add(session):
                    break
        command: dict[str, Any] = {
            "op": "open",
            "sid": session.sid,
            "url": request.source,
            "dir": str(request.run_dir),
            "segment_s": request.segment_seconds,
            "io_timeout_s": request.io_timeout_s,
            "open_timeout_s": self._open_timeout_s,
        }
        if fmt is not None:
            command["format"] = fmt
        if not shard.send(command):
            session.on_event({"ev": "said", "line": f"{SHARD_EXITED} (not reachable)"})
            session.end(1)
        return session

    def _shard_with_room(self) -> _Shard:
        self._shards = [s for s in self._shards if s.alive or s.load()]
        open_ = [s for s in self._shards if s.alive and s.load() < self._capacity]
        if open_:
            return min(open_, key=lambda s: s.load())
        self._spawned += 1
        proc = self._spawner.submit(_spawn_shard).result()
        shard = _Shard(proc, self._spawned)
        shard.start_reading()
        self._shards.append(shard)
        log.info("recording shard %d started (pid %d)", shard.number, proc.pid)
        return shard

    def close(self, grace_s: float = 15.0) -> None:
        with self._lock:
            shards = list(self._shards)
        for shard in shards:
            shard.close()
        for shard in shards:
            try:
                shard.proc.wait(grace_s)
            except subprocess.TimeoutExpired:
                shard.kill()
        self._spawner.shutdown(wait=False)


def _spawn_shard() -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "custos.recorder.shard"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, **SHARD_ENV},
        preexec_fn=dies_with_parent(signal.SIGKILL),  # a shard never outlives the recorder
        start_new_session=True,
    )
