"""When a checkpoint is due: every N entries, or T seconds after the last, and at once at first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from custos.domain.clock import ManualClock
from custos.services.audit_log import Checkpointer, CheckpointPolicy
from tests.unit.audit.fakes import TRUSTED

START = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


class _Signer:
    key_id = TRUSTED.key_id
    public_key = b"\x00" * 32

    def sign(self, message: bytes) -> bytes:
        return TRUSTED.sign(message)


def _checkpointer(clock: ManualClock) -> Checkpointer:
    return Checkpointer(_Signer(), clock, CheckpointPolicy(every_entries=100, every_seconds=30))


def test_the_first_entries_are_signed_at_once() -> None:
    assert _checkpointer(ManualClock(START)).due(1, 0, None)


def test_a_checkpoint_is_due_after_n_entries_or_t_seconds_and_not_before() -> None:
    clock = ManualClock(START)
    cp = _checkpointer(clock)
    assert not cp.due(150, 51, START)
    assert cp.due(151, 51, START)
    clock.advance(timedelta(seconds=29))
    assert not cp.due(60, 51, START)
    clock.advance(timedelta(seconds=1))
    assert cp.due(60, 51, START)
    assert not cp.due(51, 51, START)  # nothing new to sign, however long it has been


def test_a_signed_checkpoint_verifies_and_carries_the_clock_time() -> None:
    clock = ManualClock(START)
    cp = _checkpointer(clock).sign(5, b"\x01" * 32, b"\x02" * 32)
    assert cp.signed_at == START
    assert TRUSTED.check(cp) is None


@pytest.mark.parametrize(("every", "seconds"), [(0, 10.0), (10, 0.0)])
def test_intervals_must_be_positive(every: int, seconds: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        CheckpointPolicy(every, seconds)
