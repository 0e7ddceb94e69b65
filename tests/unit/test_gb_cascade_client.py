"""The cascade client's state machine (issue 12 §2) against a scripted link whose serve() moves
a fake monotonic clock: refresh at half the expiry, keepalives every interval, three missed
keepalives fail the link, back-off doubles to 300 s, stopping unregisters. The SIP side itself
is tested against SIPp (tests/api/test_gb_cascade_sipp.py)."""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, datetime

from custos.domain.clock import ManualClock
from custos.domain.gb_cascade import (
    LinkState,
    PlatformState,
    Transport,
    UpperPlatform,
    check_platform,
)
from custos.services.gb_cascade_client import CascadeClient, LinkAnswer, next_backoff

T0 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


def _platform(expiry: int = 60, keepalive: int = 5) -> UpperPlatform:
    return UpperPlatform(
        1, "50000000002005000001", "5000000000", "192.0.2.1", 5060, Transport.UDP, "pw",
        expiry, keepalive, True, "up", T0,
    )  # fmt: skip


class ScriptedLink:
    def __init__(self, keepalive_ok: bool = True) -> None:
        self.now = 0.0
        self.calls: list[tuple[str, float, int]] = []
        self.keepalive_ok = keepalive_ok
        self.stop_after: float | None = None
        self.stop = threading.Event()

    def ticks(self) -> float:
        return self.now

    def register(self, expires: int) -> LinkAnswer:
        self.calls.append(("register", self.now, expires))
        return LinkAnswer(True)

    def keepalive(self, sn: int) -> LinkAnswer:
        self.calls.append(("keepalive", self.now, sn))
        return LinkAnswer(self.keepalive_ok, "" if self.keepalive_ok else "no answer (timeout)")

    def serve(self, seconds: float) -> None:
        self.now += seconds
        if self.stop_after is not None and self.now >= self.stop_after:
            self.stop.set()

    def close(self) -> None:
        self.calls.append(("close", self.now, 0))


def _run(link: ScriptedLink, platform: UpperPlatform) -> list[PlatformState]:
    seen: list[PlatformState] = []

    def record(s: PlatformState) -> None:
        seen.append(s)
        if s.state is LinkState.FAILED:
            link.stop.set()  # no real back-off wait in a unit test

    client = CascadeClient(platform, link, record, ManualClock(T0), link.ticks)
    client.run(link.stop)
    return seen


def test_back_off_doubles_from_two_seconds_to_at_most_five_minutes() -> None:
    waits = [next_backoff(None)]
    for _ in range(10):
        waits.append(next_backoff(waits[-1]))
    assert waits[:5] == [2, 4, 8, 16, 32] and waits[-1] == 300 and max(waits) == 300


def test_keepalives_every_interval_and_a_refresh_at_half_the_expiry_then_unregister() -> None:
    link = ScriptedLink()
    link.stop_after = 45
    seen = _run(link, _platform(expiry=60, keepalive=20))
    registers = [(t, e) for kind, t, e in link.calls if kind == "register"]
    keepalives = [t for kind, t, _ in link.calls if kind == "keepalive"]
    assert registers[0] == (0.0, 60) and registers[1][0] >= 30 and registers[1][1] == 60
    assert registers[-1][1] == 0  # unregistered on stop
    assert [round(t) for t in keepalives] == [20, 40]
    assert [s.state for s in seen] == [
        LinkState.REGISTERING, LinkState.REGISTERED, LinkState.REGISTERED, LinkState.DISABLED,
    ]  # fmt: skip
    assert link.calls[-1][0] == "close"


def test_three_missed_keepalives_fail_the_link_with_the_reason() -> None:
    link = ScriptedLink(keepalive_ok=False)
    seen = _run(link, _platform(expiry=600, keepalive=5))
    keepalives = [t for kind, t, _ in link.calls if kind == "keepalive"]
    assert [round(t) for t in keepalives] == [5, 10, 15]
    failed = [s for s in seen if s.state is LinkState.FAILED]
    assert len(failed) == 1 and failed[0].last_error.startswith("3 keepalives unanswered")
    assert seen[-1].state is LinkState.DISABLED


def test_the_password_is_in_no_repr_answer_or_log_record_of_a_platform() -> None:
    p = dataclasses.replace(_platform(), password="s3cret-upper")
    for text in (repr(p), str(p), str(p.as_dict()), str(p.audit_dict())):
        assert "s3cret-upper" not in text
    assert p.as_dict()["password_set"] is True


def test_a_platform_id_names_its_network_and_bad_settings_name_their_field() -> None:
    assert _platform().network.value == "public_security"
    bad = dataclasses.replace(
        _platform(), sip_id="123", port=0, keepalive_interval_s=60, register_expiry_s=60
    )
    fields = {e.field for e in check_platform(bad)}
    assert fields == {"sip_id", "port", "keepalive_interval_s"}


def test_an_expiry_the_upper_platform_demanded_times_the_refresh_and_the_registration() -> None:
    class MinExpiresLink(ScriptedLink):
        def register(self, expires: int) -> LinkAnswer:
            super().register(expires)
            return LinkAnswer(True, "", max(expires, 120) if expires else 0)  # as after a 423

    link = MinExpiresLink()
    link.stop_after = 70
    seen = _run(link, _platform(expiry=60, keepalive=50))
    registers = [(round(t), e) for kind, t, e in link.calls if kind == "register"]
    assert registers[:2] == [(0, 60), (60, 60)]  # refreshed at half of 120 s, not of 60 s
    assert seen[1].registered_until == datetime(2026, 12, 7, 8, 2, tzinfo=UTC)
