"""What records one connection of one camera, whichever engine does it (see
docs/design/recording.md, "Engines").

A camera worker starts a :class:`RecordingProcess` for each connection and reads from it: the
segments it finished (:meth:`RecordingProcess.listed`), and, through the :class:`RunState` it
feeds, the input it found, its frame count and what it said when it ended. Two engines:

- ``ffmpeg``: one ``ffmpeg -c copy -f segment`` process per connection (:class:`FfmpegProcess`);
- ``pyav``: a session in a recording shard, a process shared by many cameras
  (:class:`custos.recorder.shard_pool.ShardSession`).
"""

from __future__ import annotations

import signal
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

from custos.adapters.media.ffmpeg_segmenter import (
    ListedSegment,
    parse_list_line,
    segmenter_command,
)
from custos.recorder.lifeline import dies_with_parent
from custos.recorder.run_state import RunState

#: Called after each thing the process said (the worker promotes the camera to ``recording``
#: when frames flow, and refuses a codec it cannot record).
OnOutput = Callable[[], None]


class RecordingProcess(Protocol):
    def poll(self) -> int | None:
        """None while it records; its exit status once it has ended."""

    def terminate(self) -> None:
        """Finish: close the segment in flight (it is listed), then end."""

    def kill(self) -> None:
        """End now; the segment in flight keeps only its written fragments."""

    def listed(self) -> Iterator[ListedSegment]:
        """The segments it finished, each once it is closed; ends when the process ends."""

    def wait(self) -> None:
        """Until it has ended and all it said is in the run state."""


class RecordingEngine(Protocol):
    name: str

    def start(
        self,
        url: str,
        run_dir: Path,
        segment_seconds: int,
        io_timeout_s: float,
        run: RunState,
        on_output: OnOutput,
    ) -> RecordingProcess: ...

    def close(self) -> None: ...


class FfmpegProcess:
    """One ``ffmpeg`` per connection: the segment list on standard output, the log and the
    progress on standard error (read by a thread of its own)."""

    def __init__(self, argv: list[str], run: RunState, on_output: OnOutput) -> None:
        self._proc = subprocess.Popen(  # noqa: S603 - argv is built by us, no shell
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            preexec_fn=dies_with_parent(signal.SIGKILL),  # ffmpeg never outlives us
            start_new_session=True,  # signals reach ffmpeg from this worker only
        )
        self._run = run
        self._on_output = on_output
        self._reader = threading.Thread(target=self._read_log, daemon=True)
        self._reader.start()

    def _read_log(self) -> None:
        assert self._proc.stderr is not None
        for raw in self._proc.stderr:
            self._run.feed(raw.decode("utf-8", "replace"))
            self._on_output()
        self._run.mark_exited()

    def poll(self) -> int | None:
        return self._proc.poll()

    def terminate(self) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()

    def kill(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()

    def listed(self) -> Iterator[ListedSegment]:
        assert self._proc.stdout is not None
        for raw in self._proc.stdout:
            listed = parse_list_line(raw.decode("utf-8", "replace"))
            if listed is not None:
                yield listed

    def wait(self) -> None:
        self._proc.wait()
        self._reader.join(5)


class FfmpegEngine:
    name = "ffmpeg"

    def __init__(self, ffmpeg: str = "ffmpeg") -> None:
        self._ffmpeg = ffmpeg

    def start(
        self,
        url: str,
        run_dir: Path,
        segment_seconds: int,
        io_timeout_s: float,
        run: RunState,
        on_output: OnOutput,
    ) -> RecordingProcess:
        argv = segmenter_command(url, run_dir, segment_seconds, io_timeout_s, self._ffmpeg)
        return FfmpegProcess(argv, run, on_output)

    def close(self) -> None:
        """Nothing shared to close: each ffmpeg ends with its worker."""
