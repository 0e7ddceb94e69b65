"""The ``pyav`` engine, recorder side: recording shards (``custos.recorder.shard``), each a
process recording up to ``cameras_per_shard`` connections, and one :class:`ShardSession` per
connection, a :class:`~custos.recorder.port.RecordingSession` (see docs/design/recording.md).

Each shard has one reader thread here that hands its events to the sessions; the camera
workers seal and index exactly as with ffmpeg. A shard that dies ends its sessions (the reason
is ``recorder_restart``); their workers reconnect through a new shard after the usual back-off,
and the segment each had in flight is adopted by its worker. Shards are reached over a Unix
socket each and outlive a recorder that crashed: the next one re-attaches (:meth:`ShardPool.
reattach`) and its workers take their sessions over.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

from custos.adapters.media.ffmpeg_segmenter import InputVideo, ListedSegment
from custos.adapters.media.pyav_segmenter import is_demuxer_name
from custos.domain.clock import Clock
from custos.recorder.lifeline import dies_with_parent
from custos.recorder.port import OnOutput, RunningSession, SessionRequest, source_hash
from custos.recorder.run_state import RunState

log = logging.getLogger(__name__)

SHARD_EXITED = "recording shard exited"
#: Fewer arenas than glibc's 8 per core: hundreds of threads that each hold a few buffers would
#: otherwise spread them over many half-empty arenas (measured: PSS per camera 1.5–2× higher).
SHARD_ENV = {"MALLOC_ARENA_MAX": "2"}
SHARD_START_S = 15.0  # a new shard's socket answers within this (Python and PyAV imports)
HELLO_S = 5.0  # a live shard answers "hello" within this


def _quiet() -> None:
    """The output of a session found running, until its camera's worker takes it over."""


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
    def bind(self, on_output: OnOutput) -> None:
        self._on_output = on_output

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
    """A shard reached over its socket: started by this pool (``proc``), or found running."""

    def __init__(
        self,
        conn: socket.socket,
        reader: IO[bytes],
        pid: int,
        number: int,
        proc: subprocess.Popen[bytes] | None = None,
    ) -> None:
        self.conn = conn
        self._in = reader
        self.pid = pid
        self.proc = proc
        self.number = number
        self.sessions: dict[int, ShardSession] = {}
        self._send_lock = threading.Lock()
        self._lock = threading.Lock()
        self.alive = True
        self._reader = threading.Thread(target=self._read, name=f"shard-{number}", daemon=True)

    def start_reading(self) -> None:
        self._reader.start()

    def join(self, timeout_s: float) -> bool:
        self._reader.join(timeout_s)
        return not self._reader.is_alive()

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
                self.conn.sendall(line)
                return True
            except OSError:
                return False

    def kill(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)

    def close(self) -> None:
        """Every session closes its segment, then the shard exits."""
        self.send({"op": "quit"})

    def _read(self) -> None:
        try:
            for raw in self._in:
                self._dispatch(raw)
        except OSError:
            pass
        code = self.proc.wait() if self.proc is not None else None
        self._in.close()
        self.conn.close()
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

    def _dispatch(self, raw: bytes) -> None:
        try:
            event = json.loads(raw)
        except ValueError:
            log.warning("shard %d: unreadable event ignored", self.number)
            return
        if event.get("ev") == "tick":
            for sid, frames in event.get("frames", {}).items():
                session = self._session(int(sid))
                if session is not None:
                    session.progress(int(frames))
            return
        session = self._session(int(event.get("sid", -1)))
        if session is None:
            return
        session.on_event(event)
        if event.get("ev") == "ended":
            with self._lock:
                self.sessions.pop(session.sid, None)

    def _session(self, sid: int) -> ShardSession | None:
        with self._lock:
            return self.sessions.get(sid)


class ShardPool:
    """The ``pyav`` engine: sessions placed on the least loaded shard with room, a new shard
    started when none has any. ``shard_dir`` holds the shards' sockets (a recorder's lasting
    one lets the next recorder re-attach); ``orphan_s``: how long a shard records on without a
    recorder attached; not ``outlive``: they die with the recorder (a recorder node's, whose
    successor instance would not adopt them: docs/design/cluster.md)."""

    name = "pyav"

    def __init__(
        self,
        cameras_per_shard: int = 25,
        kill_grace_s: float = 10.0,
        open_timeout_s: float = 10.0,
        shard_dir: Path | None = None,
        orphan_s: float = 30.0,
        outlive: bool = True,
    ) -> None:
        if cameras_per_shard < 1:
            raise ValueError("cameras_per_shard must be at least 1")
        if orphan_s <= 0:
            raise ValueError("orphan_s must be positive")
        self._capacity = cameras_per_shard
        self._open_timeout_s = open_timeout_s
        self._kill_grace_s = kill_grace_s
        self._orphan_s = orphan_s
        self._own_dir = shard_dir is None
        self._dir = shard_dir or Path(tempfile.mkdtemp(prefix="custos-shards-"))
        self._dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._dir.chmod(0o700)
        self._lock = threading.Lock()
        self._shards: list[_Shard] = []
        self._next_sid = 0
        self._spawned = 0
        # Shards that die with the recorder are started from this one long-lived thread:
        # PR_SET_PDEATHSIG fires when the spawning *thread* ends.
        self._spawner = (
            None if outlive else ThreadPoolExecutor(1, thread_name_prefix="shard-spawner")
        )

    @property
    def shards(self) -> int:
        with self._lock:
            return sum(1 for s in self._shards if s.alive)

    def reattach(self, clock: Clock, adopt: bool = True) -> list[RunningSession]:
        """Attach to the shards a crashed recorder left running; their sessions, for the
        workers to take over (``adopt``), or (not) each shard told to quit and waited for."""
        found: list[RunningSession] = []
        quitting: list[_Shard] = []
        for path in sorted(self._dir.glob("*.sock")):
            try:
                conn = _connect(path)
            except OSError:  # a dead shard's socket
                path.unlink(missing_ok=True)
                continue
            try:
                reader, hello = _hello(conn)
            except (OSError, ValueError, KeyError, TypeError):
                log.warning("shard socket %s does not answer; ignored", path.name)
                conn.close()
                continue
            with self._lock:
                self._spawned += 1
                shard = _Shard(conn, reader, int(hello["pid"]), self._spawned)
                self._shards.append(shard)
            if not adopt:
                shard.close()
                quitting.append(shard)
            else:
                found += self._sessions_of(shard, hello, clock)
            shard.start_reading()
            log.info(
                "recording shard (pid %d) re-attached, %d sessions",
                shard.pid,
                len(hello["sessions"]),
            )
        for shard in quitting:
            if not shard.join(self._kill_grace_s + 20):
                shard.kill()
        return found

    def _sessions_of(
        self, shard: _Shard, hello: dict[str, Any], clock: Clock
    ) -> list[RunningSession]:
        found = []
        for info in hello["sessions"]:
            sid = int(info["sid"])
            run = RunState(clock)
            shown = info.get("video")
            video = InputVideo(str(shown[0]), int(shown[1]), int(shown[2])) if shown else None
            run.describe([str(x) for x in info.get("streams") or []], video)
            run.opened(int(info["seq"]))
            session = ShardSession(shard, sid, run, _quiet, self._kill_grace_s)
            with self._lock:
                self._next_sid = max(self._next_sid, sid)
            shard.add(session)
            if info.get("camera") is None or info.get("src") is None:
                session.terminate()
                continue
            found.append(
                RunningSession(
                    int(info["camera"]),
                    Path(str(info["dir"])),
                    str(info["src"]),
                    int(info["seq"]),
                    session,
                    run,
                )
            )
        return found

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
            "camera": request.camera_id,
            "src": source_hash(request.source),
        }
        if fmt is not None:
            command["format"] = fmt
        if request.live_socket is not None:
            command["live"] = str(request.live_socket)
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
        shard = self._spawn(self._spawned)
        shard.start_reading()
        self._shards.append(shard)
        log.info("recording shard %d started (pid %d)", shard.number, shard.pid)
        return shard

    def _popen(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(  # noqa: S603 (our own module, no shell)
            [sys.executable, "-m", "custos.recorder.shard", "--orphan-s", str(self._orphan_s)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            cwd=self._dir,
            env={**os.environ, **SHARD_ENV},
            start_new_session=True,  # outlives the recorder: docs/design/recording.md
            preexec_fn=None if self._spawner is None else dies_with_parent(signal.SIGKILL),
        )

    def _spawn(self, number: int) -> _Shard:
        spawner = self._spawner
        proc = self._popen() if spawner is None else spawner.submit(self._popen).result()
        path = self._dir / f"{proc.pid}.sock"
        deadline = time.monotonic() + SHARD_START_S
        while True:
            try:
                conn = _connect(path)
                reader, _ = _hello(conn)
                return _Shard(conn, reader, proc.pid, number, proc)
            except (OSError, ValueError, KeyError, TypeError):
                if proc.poll() is not None or time.monotonic() > deadline:
                    proc.kill()
                    proc.wait()
                    raise RuntimeError("a recording shard did not start") from None
                time.sleep(0.02)

    def close(self, grace_s: float = 15.0) -> None:
        with self._lock:
            shards = list(self._shards)
        for shard in shards:
            shard.close()
        for shard in shards:
            if not shard.join(grace_s):
                shard.kill()
        if self._own_dir:
            with contextlib.suppress(OSError):
                self._dir.rmdir()
        if self._spawner is not None:
            self._spawner.shutdown(wait=False)


def _connect(path: Path) -> socket.socket:
    """Connect to a shard's socket, however long its directory's path (a Unix socket's address
    is at most 107 bytes): through ``/proc/self/fd`` of the directory."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        conn.connect(f"/proc/self/fd/{fd}/{path.name}")
    except OSError:
        conn.close()
        raise
    finally:
        os.close(fd)
    return conn


def _hello(conn: socket.socket) -> tuple[IO[bytes], dict[str, Any]]:
    """Attach: say hello, read the shard's answer (its pid and sessions)."""
    conn.settimeout(HELLO_S)
    conn.sendall(b'{"op":"hello"}\n')
    reader = conn.makefile("rb")
    hello = json.loads(reader.readline())
    if hello.get("ev") != "hello":
        raise ValueError("not a shard's hello")
    conn.settimeout(None)
    return reader, dict(hello)
