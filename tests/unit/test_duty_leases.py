"""Duty leases (services/duty_leases.py) against an in-memory store that keeps PostgreSQL's rules
(tests/integration/cluster/test_duty_leases.py runs the real one), with a clock the tests move
for the store's ``now()`` and another for each server's monotonic clock."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from custos.domain.clock import ManualClock
from custos.domain.duty_leases import Duty, DutyHolder, HeldDuty, holder_id
from custos.services.duty_leases import DutyLeases

TTL, RENEW, MARGIN = 15.0, 5.0, 1.0
DUTIES = ("housekeeping", "notifier")


@dataclass
class _Row:
    holder: str | None
    expires_at: datetime
    token: int


class FakeStore:
    """The SQL store's rules: renew one's own live lease (same token), take a free or expired
    one (token + 1), release, list."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.rows: dict[str, _Row] = {}
        self.down = False

    def claim(self, duties: Sequence[str], holder: str, ttl_s: float) -> list[HeldDuty]:
        if self.down:
            raise ConnectionError("database unreachable")
        now = self.clock.now()
        out = []
        for d in duties:
            row = self.rows.setdefault(d, _Row(None, now, 0))
            mine = row.holder == holder and row.expires_at > now
            if not mine and row.holder is not None and row.expires_at > now:
                continue
            row.token += 0 if mine else 1
            row.holder, row.expires_at = holder, now + timedelta(seconds=ttl_s)
            out.append(HeldDuty(d, row.token, row.expires_at))
        return out

    def release(self, duties: Sequence[str], holder: str) -> None:
        for d in duties:
            row = self.rows.get(d)
            if row is not None and row.holder == holder:
                row.holder, row.expires_at = None, self.clock.now()

    def holders(self) -> list[DutyHolder]:
        now = self.clock.now()
        return [
            DutyHolder(d, r.holder, r.expires_at, r.token, None, r.holder is not None and r.expires_at > now)
            for d, r in sorted(self.rows.items())
        ]  # fmt: skip


class Mono:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def pg_clock() -> ManualClock:
    return ManualClock(datetime(2026, 11, 20, 2, 0, tzinfo=UTC))


def _leases(store: FakeStore | None, name: str, mono: Mono) -> DutyLeases:
    return DutyLeases(store, name, DUTIES, TTL, RENEW, MARGIN, monotonic=mono)


def _elapse(seconds: float, pg_clock: ManualClock, *monos: Mono) -> None:
    pg_clock.advance(timedelta(seconds=seconds))
    for m in monos:
        m.t += seconds


def test_one_machine_holds_every_duty_without_a_store() -> None:
    leases = _leases(None, "h:1:a", Mono())
    leases.start()
    assert leases.local and all(leases.held(d) for d in Duty)
    assert leases.renew() == [] and leases.holders() == []
    leases.stop()
    assert leases.held(Duty.HOUSEKEEPING)


def test_the_first_server_takes_every_duty_and_the_second_none(pg_clock: ManualClock) -> None:
    store, ma, mb = FakeStore(pg_clock), Mono(), Mono()
    a, b = _leases(store, "a:1:x", ma), _leases(store, "b:2:y", mb)
    assert [h.duty for h in a.renew()] == list(DUTIES)
    assert b.renew() == []
    assert all(a.held(d) for d in DUTIES) and not any(b.held(d) for d in DUTIES)
    assert {h.duty: (h.holder, h.token, h.live) for h in b.holders()} == {
        d: ("a:1:x", 1, True) for d in DUTIES
    }
    assert b.token("notifier") is None and a.token("notifier") == 1


def test_renewing_keeps_the_token_and_the_lease(pg_clock: ManualClock) -> None:
    store, ma, mb = FakeStore(pg_clock), Mono(), Mono()
    a, b = _leases(store, "a:1:x", ma), _leases(store, "b:2:y", mb)
    a.renew()
    for _ in range(10):  # 50 s of renewals every 5 s: far beyond one TTL
        _elapse(RENEW, pg_clock, ma, mb)
        assert [h.token for h in a.renew()] == [1, 1]
        assert b.renew() == []
    assert all(a.held(d) for d in DUTIES)


def test_a_released_duty_moves_at_the_next_renewal_with_a_higher_token(
    pg_clock: ManualClock,
) -> None:
    store, ma, mb = FakeStore(pg_clock), Mono(), Mono()
    a, b = _leases(store, "a:1:x", ma), _leases(store, "b:2:y", mb)
    a.renew()
    b.renew()
    a.stop()  # releases
    assert not any(a.held(d) for d in DUTIES)
    assert {h.duty: h.live for h in b.holders()} == {d: False for d in DUTIES}
    _elapse(0.1, pg_clock, ma, mb)
    assert [(h.duty, h.token) for h in b.renew()] == [(d, 2) for d in DUTIES]
    assert all(b.held(d) for d in DUTIES)


def test_a_dead_servers_duties_move_only_after_expiry(pg_clock: ManualClock) -> None:
    store, ma, mb = FakeStore(pg_clock), Mono(), Mono()
    a, b = _leases(store, "a:1:x", ma), _leases(store, "b:2:y", mb)
    a.renew()
    a.stop(release=False)  # dies: no renewal, no release
    waited = 0.0
    while not b.renew():
        _elapse(RENEW, pg_clock, ma, mb)
        waited += RENEW
        assert waited <= TTL + RENEW
    assert waited >= TTL  # never before the dead one's lease ended
    assert [h.token for h in b.renew()] == [2, 2]


def test_a_server_that_cannot_renew_stops_its_passes_before_its_lease_ends(
    pg_clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    store, ma, mb = FakeStore(pg_clock), Mono(), Mono()
    a, b = _leases(store, "a:1:x", ma), _leases(store, "b:2:y", mb)
    a.renew()
    store.down = True
    with caplog.at_level(logging.WARNING):
        for _ in range(2):
            _elapse(RENEW, pg_clock, ma, mb)
            a._renew_logged()  # what the renewer thread does: a failure is logged, not raised
    assert sum("not renewed" in r.message for r in caplog.records) == 1  # once, not every try
    assert all(a.held(d) for d in DUTIES)  # 10 s after the last renewal: still its own
    _elapse(TTL - MARGIN - 2 * RENEW, pg_clock, ma, mb)
    assert not any(a.held(d) for d in DUTIES)  # 14 s: it stops a second before the row ends
    assert store.rows["notifier"].expires_at > pg_clock.now()  # the row has not ended yet
    store.down = False
    _elapse(MARGIN, pg_clock, ma, mb)
    assert [h.token for h in b.renew()] == [2, 2]
    assert a.renew() == [] and not a.held("notifier")


def test_a_server_regaining_its_own_expired_lease_starts_a_new_term(
    pg_clock: ManualClock,
) -> None:
    store, ma = FakeStore(pg_clock), Mono()
    a = _leases(store, "a:1:x", ma)
    a.renew()
    _elapse(TTL + 1, pg_clock, ma)
    assert [h.token for h in a.renew()] == [2, 2]


def test_renewal_must_come_well_within_the_ttl() -> None:
    with pytest.raises(ValueError, match="within its TTL"):
        DutyLeases(None, "h:1:a", DUTIES, ttl_s=5.0, renew_every_s=5.0)


def test_holder_names_host_process_and_a_random_part() -> None:
    assert holder_id("rec-1.example", 4242, "9f3a") == "rec-1.example:4242:9f3a"
    long = holder_id("h" * 300 + ":x", 1, "a")
    assert len(long) <= 120 and long.count(":") == 2
    with pytest.raises(ValueError, match="not a process id"):
        holder_id("h", 0, "a")
    with pytest.raises(ValueError, match="no ':'"):
        holder_id("h", 1, "a:b")
