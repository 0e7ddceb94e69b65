"""Small rules of the device side: the GB Date with and without milliseconds (2016 / 2022
editions), the REGISTER's expiry from the Contact parameter or the header, a reason phrase made
safe for a status line, and the health row a device going offline writes for its cameras."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from custos.adapters.sip.message import SipMessage, reason_phrase
from custos.adapters.sip.server import _expires
from custos.domain.calendar import SHANGHAI
from custos.domain.gb_device import GbDevice, gb_date, parse_gb_date
from custos.domain.recording import CameraHealth, OfflineReason, RecorderState
from custos.services.gb_device_cameras import device_of, offline_health

NOW = datetime(2026, 12, 7, 8, 0, 0, 250_000, tzinfo=UTC)
DEVICE = "34020000001180000001"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-07T16:00:00.250", datetime(2026, 12, 7, 16, 0, 0, 250_000, tzinfo=SHANGHAI)),
        ("2026-12-07T16:00:00", datetime(2026, 12, 7, 16, 0, 0, tzinfo=SHANGHAI)),  # 2022
        (" 2026-12-07T16:00:00 ", datetime(2026, 12, 7, 16, 0, 0, tzinfo=SHANGHAI)),
        ("2026-12-07 16:00:00", None),
        ("Mon, 07 Dec 2026 08:00:00 GMT", None),
        ("", None),
    ],
)
def test_a_devices_date_is_read_with_or_without_milliseconds(
    text: str, expected: datetime | None
) -> None:
    assert parse_gb_date(text) == expected


def test_our_date_is_beijing_time_with_milliseconds_and_reads_back() -> None:
    assert gb_date(NOW) == "2026-12-07T16:00:00.250"
    assert parse_gb_date(gb_date(NOW)) == NOW


def _register(*headers: tuple[str, str]) -> SipMessage:
    msg = SipMessage(method="REGISTER", uri="sip:34020000002000000001@3402000000")
    for name, value in headers:
        msg.add(name, value)
    return msg


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ((("Contact", "<sip:d@10.0.0.2:5060>;expires=120"),), 120),  # 2022: in the Contact
        ((("Contact", "<sip:d@10.0.0.2:5060>;expires=120"), ("Expires", "3600")), 120),
        ((("Contact", "<sip:d@10.0.0.2:5060>"), ("Expires", "600")), 600),
        ((("Contact", "<sip:d@10.0.0.2:5060>"), ("Expires", "0")), 0),
        ((("Contact", "<sip:d@10.0.0.2:5060>"),), 3600),  # neither: the default
        ((("Expires", "-1"),), None),
        ((("Expires", "12345678901"),), None),
        ((("Contact", "<sip:d@10.0.0.2:5060>;expires=soon"),), None),
    ],
)
def test_the_register_expiry_comes_from_the_contact_then_the_header(
    headers: tuple[tuple[str, str], ...], expected: int | None
) -> None:
    assert _expires(_register(*headers)) == expected


def test_a_reason_phrase_carries_no_line_breaks_and_is_bounded() -> None:
    assert reason_phrase("Bad MANSCDP body: xml: not\r\nwell-formed\t(x)") == (
        "Bad MANSCDP body: xml: not well-formed (x)"
    )
    assert reason_phrase("名称" * 100, limit=10) == "名称" * 5
    assert (
        SipMessage(status=400, reason=reason_phrase("a\r\nb"))
        .to_bytes()
        .startswith(b"SIP/2.0 400 a b\r\n")
    )


def _device(seen: datetime) -> GbDevice:
    return GbDevice(1, DEVICE, 1, "NVR", seen, "admin", registered_at=seen, last_seen_at=seen)


def _health(state: RecorderState, updated: datetime, **over: object) -> CameraHealth:
    fields: dict[str, object] = {
        "camera_id": 7, "state": state, "reason": None, "detail": "", "since": NOW - timedelta(hours=1),
        "last_frame_at": None, "fps": None, "bitrate_kbps": None, "updated_at": updated,
    }  # fmt: skip
    return CameraHealth(**(fields | over))  # type: ignore[arg-type]


def test_an_offline_device_marks_an_unreported_camera_offline_since_it_was_last_heard() -> None:
    seen = NOW - timedelta(seconds=181)
    row = offline_health(7, _device(seen), None, NOW)
    assert row is not None
    assert (row.state, row.reason, row.since, row.updated_at) == (
        RecorderState.OFFLINE, OfflineReason.UNREACHABLE, seen, NOW
    )  # fmt: skip
    assert device_of(row) == DEVICE and f"since {seen.isoformat()}" in row.detail


def test_the_recorders_own_fresh_word_that_it_is_not_recording_stands() -> None:
    seen = NOW - timedelta(seconds=181)
    fresh = _health(RecorderState.OFFLINE, NOW - timedelta(seconds=2))
    assert offline_health(7, _device(seen), fresh, NOW) is None
    assert device_of(fresh) is None  # not ours: never taken away
    stale = _health(RecorderState.CONNECTING, NOW - timedelta(minutes=5))
    row = offline_health(7, _device(seen), stale, NOW)
    assert row is not None and row.since == stale.since  # not recording since then already


def test_a_camera_recording_until_lately_is_offline_from_its_last_frame() -> None:
    seen = NOW - timedelta(seconds=181)
    last_frame = NOW - timedelta(seconds=20)
    recording = _health(RecorderState.RECORDING, NOW - timedelta(seconds=1),
                        last_frame_at=last_frame)  # fmt: skip
    row = offline_health(7, _device(seen), recording, NOW)
    assert row is not None and row.since == last_frame and row.last_frame_at == last_frame
