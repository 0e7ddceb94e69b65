"""A camera's health and its segment timeline over HTTP."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from custos.bootstrap import Container
from custos.domain.access import Role
from custos.domain.calendar import shanghai_date
from custos.domain.clock import ManualClock
from custos.domain.recording import CameraHealth, OfflineReason, RecorderState, Segment
from custos.domain.users import SYSTEM
from custos.entrypoints.demo.cameras import register_demo_cameras
from tests.api.conftest import LoginAs


def _camera(container: Container) -> int:
    today = shanghai_date(container.clock.now())
    return register_demo_cameras(container.registry, ["rtsp://u:pw@127.0.0.1/c"], today)[0]


def test_health_shows_the_offline_reason(
    container: Container, client: TestClient, admin: dict[str, str], clock: ManualClock
) -> None:
    cam = _camera(container)
    now = clock.now()
    container.recording.publish_health(
        [
            CameraHealth(
                cam,
                RecorderState.OFFLINE,
                OfflineReason.AUTH_FAILED,
                "",
                now,
                None,
                None,
                None,
                now,
            )
        ]
    )
    r = client.get(f"/api/v1/cameras/{cam}/health", headers=admin)
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["reason"]) == ("offline", "auth_failed")
    assert "pw" not in r.text


def test_the_timeline_lists_segments_and_gaps_for_playback_only(
    container: Container, client: TestClient, login_as: LoginAs, clock: ManualClock
) -> None:
    cam = _camera(container)
    end = clock.now()
    container.recording.seal(
        Segment(None, cam, "run", 0, f"{cam}/run/000000.mp4", end - timedelta(seconds=60), end,
                60.0, 10, "d" * 64, "h264", 1920, 1080, end)
    )  # fmt: skip
    clock.advance(timedelta(seconds=5))
    container.recording.open_gap(cam, clock.now(), OfflineReason.UNREACHABLE, "")
    admin = login_as(Role.ADMIN)  # administers the registry, may not play footage
    assert client.get(f"/api/v1/cameras/{cam}/segments", headers=admin).status_code == 403
    _unit, site, _cam = container.registry.camera_context(SYSTEM, cam)
    operator = login_as(Role.OPERATOR, unit_id=site.unit_id)
    r = client.get(f"/api/v1/cameras/{cam}/segments", headers=operator)
    assert r.status_code == 200, r.text
    body = r.json()
    assert [s["sha256"] for s in body["segments"]] == ["d" * 64]
    assert [(g["reason"], g["end_at"]) for g in body["gaps"]] == [("unreachable", None)]
