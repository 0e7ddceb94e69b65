"""The ``ffmpeg`` engine: one ``ffmpeg -c copy -f segment`` process per session (see
docs/design/recording.md, "Engines")."""

from __future__ import annotations

import signal
import subprocess
import threading
from collections.abc import Iterator

from custos.adapters.media.ffmpeg_segmenter import (
    ListedSegment,
    parse_list_line,
    segmenter_command,
)
from custos.recorder.lifeline import dies_with_parent
from custos.recorder.port import OnOutput, RecordingSession, SessionRequest
from custos.recorder.run_state import RunState


class FfmpegProcess:
    """One ``ffmpeg`` per session: the segment list on standard output, the log and the
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
        try:
            for raw in self._proc.stdout:
                listed = parse_list_line(raw.decode("utf-8", "replace"))
                if listed is not None:
                    yield listed
        except ValueError:  # wait() closed the pipe under a reader in another thread: it ended
            return

    def wait(self) -> None:
        self._proc.wait()
        self._reader.join(5)
        for pipe in (self._proc.stdout, self._proc.stderr):
            if pipe is not None and not self._reader.is_alive():
                pipe.close()


class FfmpegEngine:
    name = "ffmpeg"

    def __init__(self, ffmpeg: str = "ffmpeg") -> None:
        self._ffmpeg = ffmpeg

    def start(
        self, request: SessionRequest, run: RunState, on_output: OnOutput
    ) -> RecordingSession:
        argv = segmenter_command(
            request.source,
            request.run_dir,
            request.segment_seconds,
            request.io_timeout_s,
            self._ffmpeg,
            request.input_format,
        )
        return FfmpegProcess(argv, run, on_output)

    def close(self) -> None:
        """Nothing shared to close: each ffmpeg ends with its worker."""
