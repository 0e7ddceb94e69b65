"""Sign-in throttling per (source address, user name), with exponential back-off.

Replaces account lockout (docs/design/auth.md, "Sign-in throttling"): failures are counted for
every name typed, known or not, from one address; past ``free_failures`` each further failure
pauses that name from that address for twice as long as the last pause, up to ``longest``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass
class SignInAttempts:
    """The failed sign-ins of one user name from one source address."""

    source: str
    username: str
    failures: int = 0
    last_failure_at: datetime | None = None
    paused_until: datetime | None = None


@dataclass(frozen=True)
class BackOff:
    free_failures: int  # failures before the first pause
    forget_after: timedelta  # quiet time after the last failure (or pause) that clears the count
    longest: timedelta  # the longest pause
    first: timedelta = timedelta(seconds=30)

    def paused(self, a: SignInAttempts, now: datetime) -> datetime | None:
        """When sign-in resumes for this name from this address, or None if it is not paused."""
        if a.paused_until is not None and now < a.paused_until:
            return a.paused_until
        return None

    def fail(self, a: SignInAttempts, now: datetime) -> None:
        """Count one failure; pause once past the free failures, doubling each time."""
        if self.forgotten(a, now):
            a.failures, a.paused_until = 0, None
        a.failures += 1
        a.last_failure_at = now
        over = a.failures - self.free_failures
        if over >= 0:
            pause = self.first * (2 ** min(over, 30))
            a.paused_until = now + min(pause, self.longest)

    def forgotten(self, a: SignInAttempts, now: datetime) -> bool:
        """No failure for ``forget_after`` since the last failure or the end of its pause."""
        if a.last_failure_at is None:
            return True
        quiet_since = max(a.last_failure_at, a.paused_until or a.last_failure_at)
        return now - quiet_since > self.forget_after

    def stale_before(self, now: datetime) -> datetime:
        """Rows whose last failure is older than this can be deleted: they are forgotten."""
        return now - self.longest - self.forget_after
