"""The ONVIF rules that need no device: drift from a reading, PTZ bounds, credentials kept out of
reprs and put into the stream URL the recorder needs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from custos.domain.onvif import (
    ClockReading,
    Credentials,
    Proposal,
    PtzAction,
    PtzCommand,
    check_ptz,
    drift_exceeds,
    with_credentials,
)

T0 = datetime(2026, 3, 1, 4, 0, 0, tzinfo=UTC)


def test_drift_is_taken_at_the_middle_of_the_round_trip() -> None:
    # asked at T0, answered after 2 s; the camera said T0 + 4 s (whole seconds, cut down, so
    # T0 + 4.5 s on average): at the middle (T0 + 1 s) it is 3.5 s ahead
    r = ClockReading(T0, T0 + timedelta(seconds=4), T0 + timedelta(seconds=2))
    assert r.drift_s == 3.5 and r.round_trip_s == 2.0
    behind = ClockReading(T0, T0 - timedelta(seconds=10), T0 + timedelta(milliseconds=200))
    assert behind.drift_s == -9.6


def test_the_limit_binds_both_ways_and_not_at_the_limit_itself() -> None:
    assert drift_exceeds(2.5, 2) and drift_exceeds(-2.5, 2)
    assert not drift_exceeds(2.0, 2) and not drift_exceeds(-1.9, 2)


def test_ptz_speeds_timeout_and_preset_are_checked_naming_the_field() -> None:
    assert check_ptz(PtzCommand(PtzAction.MOVE, pan=1, tilt=-1, zoom=0.5)) == []
    fields = [e.field for e in check_ptz(PtzCommand(PtzAction.MOVE, pan=1.5, zoom=-2))]
    assert fields == ["pan", "zoom"]
    assert [e.field for e in check_ptz(PtzCommand(PtzAction.MOVE, timeout_s=0))] == ["timeout_s"]
    assert [e.field for e in check_ptz(PtzCommand(PtzAction.PRESET, preset=" "))] == ["preset"]


def test_credentials_go_into_the_stream_url_and_never_into_a_repr() -> None:
    c = Credentials("ad min", "p@ss:w/rd")
    assert "p@ss" not in repr(c)
    url = with_credentials("rtsp://192.0.2.5:554/Streaming/101", c)
    assert url == "rtsp://ad%20min:p%40ss%3Aw%2Frd@192.0.2.5:554/Streaming/101"
    assert with_credentials("rtsp://u:p@192.0.2.5/x", c) == "rtsp://u:p@192.0.2.5/x"
    assert with_credentials(None, c) is None
    p = Proposal(None, 1, "urn:uuid:1", "http://192.0.2.5/onvif/device_service", [], None, None,
                 None, None, False, None, "", T0, "someone", credentials=c)  # fmt: skip
    assert "p@ss" not in repr(p) and "p@ss" not in str(p.as_dict())
    assert p.as_dict()["has_credentials"] is True
