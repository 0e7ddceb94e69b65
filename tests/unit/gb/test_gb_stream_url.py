"""A GB/T 28181 channel as a camera's stream: built from its source, stored and read back like
any stream, never parsed from what a user typed."""

from __future__ import annotations

import pytest

from custos.domain.errors import ValidationFailed
from custos.domain.gb_media import GbSource
from custos.domain.stream_url import StreamUrl

DEVICE = "34020000001320000001"
CHANNEL = "34020000001310000001"


def test_a_channel_source_is_a_stream_without_credentials() -> None:
    url = StreamUrl.gb(GbSource(DEVICE, CHANNEL))
    assert url.with_credentials() == url.redacted() == f"gb28181://{DEVICE}/{CHANNEL}"
    assert not url.has_credentials and url.secret_values() == []
    assert url.gb_source == GbSource(DEVICE, CHANNEL, "udp")


def test_a_stored_channel_stream_loads_and_round_trips_its_transport() -> None:
    public = f"gb28181://{DEVICE}/{CHANNEL}?transport=tcp-active"
    url = StreamUrl.stored(public, None, None, ())
    assert url.with_credentials() == public
    assert url.gb_source == GbSource(DEVICE, CHANNEL, "tcp-active")


def test_a_camera_stream_is_no_channel() -> None:
    assert StreamUrl.parse("rtsp://u:p@10.0.0.9/main", "main_stream_url").gb_source is None


@pytest.mark.parametrize("scheme", ["gb28181", "GB28181"])
def test_typing_a_gb28181_url_is_refused_naming_the_field(scheme: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        StreamUrl.parse(f"{scheme}://{DEVICE}/{CHANNEL}", "sub_stream_url")
    (error,) = refused.value.errors
    assert error.field == "sub_stream_url" and "placing" in error.reason
