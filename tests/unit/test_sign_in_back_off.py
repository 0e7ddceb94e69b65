"""The back-off of sign-in throttling, on its own (docs/design/auth.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from custos.domain.sign_in import BackOff, SignInAttempts

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
POLICY = BackOff(free_failures=3, forget_after=timedelta(minutes=15), longest=timedelta(minutes=4))


def test_the_free_failures_never_pause_then_each_pause_doubles_up_to_the_longest() -> None:
    a = SignInAttempts("10.0.0.1", "admin")
    pauses = []
    now = T0
    for _ in range(8):
        POLICY.fail(a, now)
        until = POLICY.paused(a, now)
        pauses.append(None if until is None else until - now)
        now = until or now
    s = timedelta(seconds=1)
    assert pauses == [None, None, 30 * s, 60 * s, 120 * s, 240 * s, 240 * s, 240 * s]


def test_a_quiet_window_after_the_last_pause_forgets_the_failures() -> None:
    a = SignInAttempts("10.0.0.1", "admin")
    for _ in range(3):
        POLICY.fail(a, T0)
    until = POLICY.paused(a, T0)
    assert until is not None
    assert not POLICY.forgotten(a, until + timedelta(minutes=14))
    later = until + timedelta(minutes=16)
    assert POLICY.forgotten(a, later)
    POLICY.fail(a, later)
    assert a.failures == 1
    assert POLICY.paused(a, later) is None
