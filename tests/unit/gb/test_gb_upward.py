"""``t=`` of an upper platform's Playback INVITE as a range Custos can serve."""

from __future__ import annotations

from datetime import UTC, datetime

from custos.domain.gb_cascade import Transport, UpperPlatform
from custos.services.gb_upward import span_of, upper_principal

NOW = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
T = int(NOW.timestamp())


def test_a_past_range_is_taken_and_one_running_into_the_future_is_cut_at_now() -> None:
    assert span_of(T - 60, T - 30, NOW) == (
        datetime(2026, 12, 7, 7, 59, tzinfo=UTC),
        datetime(2026, 12, 7, 7, 59, 30, tzinfo=UTC),
    )
    assert span_of(T - 60, T + 3600, NOW) == (datetime(2026, 12, 7, 7, 59, tzinfo=UTC), NOW)


def test_ranges_outside_2000_2099_backwards_empty_or_in_the_future_are_refused() -> None:
    assert span_of(0, 10, NOW) is None  # NTP-less "0 0" or 1970
    assert span_of(T - 10, T - 10, NOW) is None
    assert span_of(T - 10, T - 20, NOW) is None
    assert span_of(T + 10, T + 20, NOW) is None
    assert span_of(T - 10, 5_000_000_000, NOW) is None  # past 2099


def test_the_upper_platform_acts_as_a_system_principal_named_for_its_id() -> None:
    p = UpperPlatform(
        1, "50000000002005000001", "5000000000", "127.0.0.1", 5060, Transport.UDP, "pw",
        3600, 60, True, "市公安局平台", NOW,
    )  # fmt: skip
    who = upper_principal(p)
    assert who.is_system and who.username == "gb:50000000002005000001"
    assert who.full_name == "市公安局平台"
