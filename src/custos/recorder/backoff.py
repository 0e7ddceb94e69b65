"""How long a camera worker waits before its next try (docs/design/recording.md, "Backoff").

Goal: media on disk within 3 s of a camera's return. A try that ends before an engine start (no
TCP connection, no volume with room) costs a SYN or a statvfs, so it is repeated soon; a try
that starts an engine and fails backs off; a refusal backs off far.
"""

from __future__ import annotations

from dataclasses import dataclass

from custos.domain.recording import OfflineReason

#: Reasons that say the camera answered and refused (or cannot be recorded as it is set up).
REFUSALS = frozenset({OfflineReason.AUTH_FAILED, OfflineReason.UNSUPPORTED_CODEC})


@dataclass(frozen=True)
class Backoff:
    #: A camera with no TCP connection (the probe failed) is probed again this soon for the
    #: first ``fast_window_s`` of its outage, then every ``probe_slow_s``: a probe is a SYN, and
    #: the short outages (flaps) are the common ones.
    probe_fast_s: float = 0.25
    probe_slow_s: float = 1.0
    fast_window_s: float = 60.0
    #: A try that got a TCP connection but no stream waits ``first_s``, doubling to
    #: ``fast_max_s`` within the window and to ``max_s`` after it (each costs an engine start).
    first_s: float = 0.5
    fast_max_s: float = 1.0
    max_s: float = 3.0
    #: After a refusal (wrong password, no recordable video) retrying fast cannot help and may
    #: lock the camera's account; a registry change restarts the worker at once anyway.
    refused_max_s: float = 30.0

    def next(
        self,
        previous_s: float,
        recorded: bool,
        reason: OfflineReason | None,
        *,
        before_engine: bool = False,
        outage_s: float = 0.0,
    ) -> float:
        """The wait before the next try: at once (one probe interval) after a run that
        recorded; after a refusal doubled up to its long cap; after a try that ended
        ``before_engine`` one probe interval, short in the first minute of the outage
        (``outage_s``, since frames last flowed); otherwise doubled from ``first_s`` to a cap
        that is short in the first minute."""
        fast = outage_s < self.fast_window_s
        if recorded:
            return self.probe_fast_s
        if reason in REFUSALS:
            return min(max(previous_s * 2, self.first_s), self.refused_max_s)
        if before_engine:
            return self.probe_fast_s if fast else self.probe_slow_s
        cap = self.fast_max_s if fast else self.max_s
        return min(max(previous_s * 2, self.first_s), cap)
