"""The recorder's one port: start a recording session for a source; it reports the segments it
finished (each sealed by the camera worker) and that it exited.

Everything a camera worker decides — probing, sealing, indexing, health, gaps, backoff — sits on
this side of the port and is the same for every engine. The engines behind it
(``custos.recorder.engines``):

- ``ffmpeg``: one ``ffmpeg -c copy -f segment`` per session;
- ``pyav``: a session in a recording shard (a process recording many cameras with PyAV);
- ``gb28181``: a GB/T 28181 channel: INVITE through the SIP server, RTP/PS received and relayed,
  then recorded by one of the two above;
- ``fake``: for tests, writes real fMP4 fragments from a sample without any network.

A cluster's camera leases (docs/design/cluster.md) wrap this port in one place.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from custos.adapters.media.ffmpeg_segmenter import ListedSegment
from custos.recorder.run_state import RunState

#: Called after each thing the session said (the worker promotes the camera to ``recording``
#: when frames flow, and refuses a codec it cannot record).
OnOutput = Callable[[], None]


@dataclass(frozen=True)
class SessionRequest:
    """One connection of one camera to record."""

    camera_id: int
    source: str = field(repr=False)  # the URL, credentials included: never log it
    run_dir: Path
    segment_seconds: int
    io_timeout_s: float
    #: the demuxer to use, when the source does not say (``mpeg`` for a GB/T 28181 relay)
    input_format: str | None = None
    #: where viewers attach to the session's live tap (``<data>/live/<camera>.main.sock``);
    #: None: no tap (the ffmpeg and fake engines have no packet hook and ignore it)
    live_socket: Path | None = None


class RecordingSession(Protocol):
    def poll(self) -> int | None:
        """None while it records; its exit status once it has ended."""

    def terminate(self) -> None:
        """Finish: close the segment in flight (it is listed), then end."""

    def kill(self) -> None:
        """End now; the segment in flight keeps only its written fragments."""

    def listed(self) -> Iterator[ListedSegment]:
        """Event *sealed*: the segments it finished, each once closed; ends when it exits."""

    def wait(self) -> None:
        """Event *exited*: until it has ended and all it said is in the run state."""


class AdoptableSession(RecordingSession, Protocol):
    def bind(self, on_output: OnOutput) -> None:
        """The camera worker that took the session over wants its output."""


@dataclass(frozen=True)
class RunningSession:
    """A session that outlived the recorder that started it (docs/design/recording.md, "Shards
    outlive their supervisor"), for the camera worker that takes it over."""

    camera_id: int
    run_dir: Path
    source_hash: str  # :func:`source_hash` of its URL
    first_sequence: int  # the segment it wrote when found: the ones before were handled
    session: AdoptableSession
    run: RunState


def source_hash(url: str) -> str:
    """What a running session says of its URL: a hash (the URL holds the password)."""
    return hashlib.sha256(url.encode()).hexdigest()


class RecordingEngine(Protocol):
    name: str

    def start(
        self, request: SessionRequest, run: RunState, on_output: OnOutput
    ) -> RecordingSession: ...

    def close(self) -> None: ...
