"""Which engine records a source: by its URL's scheme (``gb28181://`` to the GB/T 28181
engine), else the configured one. Itself a :class:`~custos.recorder.port.RecordingEngine`, so
the camera worker never knows which engine runs."""

from __future__ import annotations

from urllib.parse import urlsplit

from custos.recorder.port import OnOutput, RecordingEngine, RecordingSession, SessionRequest
from custos.recorder.run_state import RunState


class EngineRouter:
    def __init__(
        self, default: RecordingEngine, by_scheme: dict[str, RecordingEngine] | None = None
    ) -> None:
        self._default = default
        self._by_scheme = {k.lower(): v for k, v in (by_scheme or {}).items()}
        self.name = default.name

    def engine_for(self, source: str) -> RecordingEngine:
        return self._by_scheme.get(urlsplit(source).scheme.lower(), self._default)

    def start(
        self, request: SessionRequest, run: RunState, on_output: OnOutput
    ) -> RecordingSession:
        return self.engine_for(request.source).start(request, run, on_output)

    def close(self) -> None:
        """Close each engine once (the GB engine closes before the one it records through)."""
        seen: set[int] = set()
        for engine in [*self._by_scheme.values(), self._default]:
            if id(engine) not in seen:
                seen.add(id(engine))
                engine.close()
