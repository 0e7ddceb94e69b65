"""Which catalogue items are channels, and how a report updates a known channel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from custos.domain.gb_channel import channel_code_problem, channel_from_item
from custos.domain.manscdp import CatalogItem

T0 = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)
DEVICE = "34020000001180000001"


# the registry's rule: cameras, and the devices that carry camera channels (DVR 111 … NVR 118)
@pytest.mark.parametrize(
    "code", ["34020000001310000001", "34020000001320000002", "34020000001180000002"]
)
def test_video_source_codes_are_channels(code: str) -> None:
    assert channel_code_problem(code) is None


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("34020000002150000001", "215"),  # business group
        ("34020000002160000001", "216"),  # virtual organisation
        ("99020000001310000001", "province"),  # no such province
        ("3402000000131000000", "20"),
    ],
)
def test_other_items_are_not_channels_and_say_why(code: str, words: str) -> None:
    problem = channel_code_problem(code)
    assert problem is not None and words in problem


def test_a_new_item_becomes_a_planned_unattached_channel_named_by_its_id_if_unnamed() -> None:
    channel = channel_from_item(CatalogItem("34020000001310000001"), DEVICE, 3, None, T0)
    assert (channel.name, channel.state, channel.camera_id, channel.present) == (
        "34020000001310000001", "planned", None, True,
    )  # fmt: skip
    assert channel.unit_id == 3 and channel.first_seen_at == T0


def test_a_report_updates_what_it_says_and_keeps_the_rest_and_the_placement() -> None:
    first = CatalogItem("34020000001310000001", name="东门", manufacturer="大华", status="ON")
    known = channel_from_item(first, DEVICE, 3, None, T0)
    known = known.__class__(**{**known.__dict__, "id": 5, "camera_id": 9, "present": False})
    later = T0 + timedelta(hours=1)
    off = channel_from_item(CatalogItem(first.device_id, event="OFF"), DEVICE, 3, known, later)
    assert (off.id, off.camera_id, off.name, off.manufacturer) == (5, 9, "东门", "大华")
    assert (off.status, off.present, off.state) == ("OFF", True, "placed")
    assert (off.first_seen_at, off.last_seen_at) == (T0, later)
    long_name = channel_from_item(
        CatalogItem(first.device_id, name="门" * 500), DEVICE, 3, off, later
    )
    assert len(long_name.name) == 100
