"""Segment wall-clock times come from the server clock at arrival, anchored per run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from custos.domain.recording import WallClockAnchor

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def test_consecutive_segments_of_a_run_abut_exactly() -> None:
    anchor = WallClockAnchor()
    s1, e1, _ = anchor.place(0.0, 10.0, T0)
    s2, e2, drift = anchor.place(10.0, 20.0, T0 + timedelta(seconds=10.3))
    assert e1 == T0 and s1 == T0 - timedelta(seconds=10)
    assert s2 == e1 and e2 == T0 + timedelta(seconds=10)
    assert abs(drift - 0.3) < 1e-6


def test_a_clock_step_beyond_the_allowed_drift_re_anchors_at_arrival() -> None:
    anchor = WallClockAnchor(max_drift=timedelta(seconds=2))
    anchor.place(0.0, 10.0, T0)
    arrived = T0 + timedelta(seconds=70)  # server clock stepped by a minute
    start, end, drift = anchor.place(10.0, 20.0, arrived)
    assert end == arrived and start == arrived - timedelta(seconds=10)
    assert drift == 60.0
