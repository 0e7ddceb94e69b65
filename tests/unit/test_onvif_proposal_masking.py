"""A device's stream URIs may carry credentials (user:password@, ?password=…): a proposal shows
and logs them masked, and keeps them whole only for accept (where the registry seals them)."""

from __future__ import annotations

from datetime import UTC, datetime

from custos.domain.onvif import Proposal
from custos.services.onvif_onboarding import Placement, _camera_input

MAIN = "rtsp://admin:Hunter2pw@10.0.0.9:554/video_main"
SUB = "rtsp://10.0.0.9/video_sub?user=admin&password=Hunter3pw"


def _proposal() -> Proposal:
    return Proposal(
        id=7, unit_id=1, endpoint="urn:uuid:1", xaddr="http://10.0.0.9/onvif/device_service",
        scopes=[], identity=None, main_stream_uri=MAIN, sub_stream_uri=SUB,
        profile_token="p0", has_ptz=False, clock_drift_s=None,
        probe_error="GetStreamUri rtsp://admin:Hunter4pw@10.0.0.9/x failed",
        discovered_at=datetime(2026, 1, 1, tzinfo=UTC), discovered_by="mgr",
    )  # fmt: skip


def test_answers_and_log_entries_show_the_uris_masked() -> None:
    shown = _proposal().as_dict()
    text = str(shown)
    for secret in ("Hunter2pw", "Hunter3pw", "Hunter4pw"):
        assert secret not in text
    assert shown["main_stream_uri"] == "rtsp://***@10.0.0.9:554/video_main"
    assert shown["sub_stream_uri"] == "rtsp://10.0.0.9/video_sub?user=***&password=***"
    assert "Hunter2pw" not in repr(_proposal()) and "Hunter3pw" not in repr(_proposal())


def test_accept_still_gets_the_whole_uri() -> None:
    placement = Placement(site_id=1, address_code="x", name="door", location_categories=[])
    camera = _camera_input(_proposal(), placement)
    assert camera.main_stream_url == MAIN
    assert camera.sub_stream_url == SUB
