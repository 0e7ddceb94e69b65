"""A :class:`~custos.recorder.port.RecordingEngine` without any network, for tests of the
camera worker (and of the cluster's leases): each session writes REAL fragmented MP4 segments,
fragment by fragment, from a sample made once with ffmpeg (:func:`sample_command`), and reports
to its :class:`RunState` as a shard does (described, opened, frames, closed, said).

What each session does is scripted, in the order sessions start (:meth:`FakeEngine.script`);
once the script runs out, a session records until it is stopped:

- ``FakePlan(refuse="Connection refused")``: says that line and exits with 1, nothing written;
- ``FakePlan(segments=2)``: two whole segments, then the stream ends (exit 0);
- ``FakePlan(segments=1, then="stall")``: one whole segment, then the first fragment of the
  next, then nothing more (no frame) until it is terminated or killed.

``terminate()`` closes the segment in flight with the fragments written so far and lists it;
``kill()`` ends at once and leaves that file unlisted (the worker adopts it).
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from custos.adapters.media import fmp4
from custos.adapters.media.ffmpeg_segmenter import END_OF_STREAM, InputVideo, ListedSegment
from custos.recorder.port import OnOutput, SessionRequest
from custos.recorder.run_state import RunState

#: The sample's video, as ffmpeg would describe it.
SAMPLE_VIDEO = InputVideo("h264", 320, 240)
SAMPLE_FPS = 25
KILLED = -9


def sample_command(path: Path, seconds: int = 2, ffmpeg: str = "ffmpeg") -> list[str]:
    """The argv that makes a sample: H.264 test pattern, a keyframe every 0.4 s, fragmented at
    each keyframe with the recorder's movflags."""
    if not 1 <= seconds <= 60:
        raise ValueError("a sample lasts 1 to 60 s")
    pattern = f"testsrc=size={SAMPLE_VIDEO.width}x{SAMPLE_VIDEO.height}:rate={SAMPLE_FPS}"
    return [
        ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
        "-f", "lavfi", "-i", pattern, "-t", str(seconds),
        "-c:v", "libx264", "-g", "10", "-bf", "0", "-pix_fmt", "yuv420p",
        "-f", "mp4", "-movflags", "+frag_keyframe+empty_moov+default_base_moof",
        "-flush_packets", "1", str(path),
    ]  # fmt: skip


@dataclass(frozen=True)
class FakePlan:
    refuse: str | None = None
    segments: int | None = None  # whole segments before ``then``; None: until stopped
    then: Literal["end", "stall"] = "end"


class _Sample:
    def __init__(self, path: Path) -> None:
        found = fmp4.scan(path)
        if not found.has_media or found.init_end is None:
            raise ValueError(f"{path} is not a fragmented MP4 with media")
        data = path.read_bytes()
        self.init = data[: found.init_end]
        self.fragments = [data[a:b] for a, b in found.fragments]


class FakeSession:
    def __init__(
        self,
        engine: FakeEngine,
        request: SessionRequest,
        plan: FakePlan,
        run: RunState,
        on_output: OnOutput,
    ) -> None:
        self._engine = engine
        self._request = request
        self._plan = plan
        self._run = run
        self._on_output = on_output
        self._listed: queue.SimpleQueue[ListedSegment | None] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._killed = threading.Event()
        self._ended = threading.Event()
        self._code: int | None = None
        self._frames = 0
        self._media_s = 0.0
        self._thread = threading.Thread(target=self._record, daemon=True)
        self._thread.start()

    # ---- the port ------------------------------------------------------------------------------
    def poll(self) -> int | None:
        return self._code

    def terminate(self) -> None:
        self._stop.set()

    def kill(self) -> None:
        self._killed.set()
        self._stop.set()

    def listed(self) -> Iterator[ListedSegment]:
        while (item := self._listed.get()) is not None:
            yield item

    def wait(self) -> None:
        self._ended.wait()

    # ---- the session ---------------------------------------------------------------------------
    def _record(self) -> None:
        code = 0
        try:
            code = self._run_plan()
        finally:
            self._code = KILLED if self._killed.is_set() else code
            self._run.mark_exited()
            self._listed.put(None)
            self._ended.set()

    def _run_plan(self) -> int:
        plan = self._plan
        if plan.refuse is not None:
            self._say(plan.refuse)
            return 1
        self._run.describe([f"video {SAMPLE_VIDEO.codec}"], SAMPLE_VIDEO)
        self._on_output()
        sequence = 0
        while plan.segments is None or sequence < plan.segments:
            if not self._segment(sequence, whole=True):
                return 0
            sequence += 1
        if plan.then == "stall":
            self._segment(sequence, whole=False)
            return 0
        self._say(END_OF_STREAM)
        return 0

    def _segment(self, sequence: int, whole: bool) -> bool:
        """Write one segment fragment by fragment; list it once closed. ``whole=False``: the
        first fragment only, then wait for the stop. False when it was stopped."""
        sample = self._engine.sample
        path = self._request.run_dir / f"{sequence:06d}.mp4"
        path.parent.mkdir(parents=True, exist_ok=True)
        start = self._media_s
        frames_each = SAMPLE_FPS * self._engine.sample_seconds / len(sample.fragments)
        pause = self._engine.segment_wall_s / len(sample.fragments)
        written = 0
        with path.open("wb") as f:
            f.write(sample.init)
            self._run.opened(sequence)
            for fragment in sample.fragments if whole else sample.fragments[:1]:
                if written and self._stop.wait(pause):
                    break
                f.write(fragment)
                f.flush()
                written += 1
                self._frames += round(frames_each)
                self._media_s += self._engine.sample_seconds / len(sample.fragments)
                self._run.progress(self._frames)
                self._on_output()
            if not whole:
                self._stop.wait()
        if self._killed.is_set():
            return False  # the file stays as written, unlisted
        self._run.closed(sequence)
        self._listed.put(ListedSegment(path.name, start, self._media_s))
        return not self._stop.is_set()

    def _say(self, line: str) -> None:
        self._run.said(line)
        self._on_output()


class FakeEngine:
    name = "fake"

    def __init__(self, sample: Path, segment_wall_s: float = 0.5, sample_seconds: int = 2) -> None:
        """``sample``: made by :func:`sample_command` (``sample_seconds`` long); each segment
        is that sample, written over ``segment_wall_s`` of wall time."""
        self.sample = _Sample(sample)
        self.sample_seconds = sample_seconds
        self.segment_wall_s = segment_wall_s
        self._plans: deque[FakePlan] = deque()
        self._lock = threading.Lock()
        self.started: list[SessionRequest] = []
        self.sessions: list[FakeSession] = []
        self.closed = False

    def script(self, *plans: FakePlan) -> None:
        with self._lock:
            self._plans.extend(plans)

    def start(self, request: SessionRequest, run: RunState, on_output: OnOutput) -> FakeSession:
        with self._lock:
            plan = self._plans.popleft() if self._plans else FakePlan()
        session = FakeSession(self, request, plan, run, on_output)
        with self._lock:  # both lists at once: a test that sees one started sees its session
            self.started.append(request)
            self.sessions.append(session)
        return session

    def close(self) -> None:
        self.closed = True
        for session in list(self.sessions):
            session.terminate()
