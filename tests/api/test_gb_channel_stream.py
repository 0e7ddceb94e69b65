"""A placed GB/T 28181 channel is a camera whose main stream is the channel
(``gb28181://<device>/<channel>``): stored and shown like any stream, kept through edits,
never typed by a user, and recorded once the camera is in service."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from custos.bootstrap import Container
from custos.domain.calendar import shanghai_date
from custos.domain.gb_media import GbSource
from tests.api.builders import API, camera_body, make_site
from tests.api.test_gb_channels import (
    CATALOGUE,
    DEVICE,
    PRIVATE,
    _channels,
    _place,
    _report_catalogue,
    _world,
)

GB_URL = f"gb28181://{DEVICE}/{PRIVATE}"


def _placed_camera(client: TestClient, admin: dict[str, str], container: Container) -> int:
    _, site = _world(client, admin, container)
    _report_catalogue(container, CATALOGUE)
    placed = _place(client, admin, _channels(client, admin)[PRIVATE]["id"], site)
    assert placed.status_code == 201, placed.text
    return int(placed.json()["camera_id"])


def test_a_placed_channel_is_recorded_once_its_camera_is_in_service(
    client: TestClient, admin: dict[str, str], container: Container
) -> None:
    cam = _placed_camera(client, admin, container)
    shown = client.get(f"{API}/cameras/{cam}", headers=admin).json()
    assert shown["main_stream_url"] == GB_URL and shown["has_stream_credentials"] is False
    assert cam not in [t.camera_id for t in container.recording.targets()]  # planned: not yet

    today = shanghai_date(container.clock.now())
    steps = ["design_reviewed", "built", "accepted", "in_service"]
    for n, state in enumerate(steps):
        on = (today - timedelta(days=len(steps) - n)).isoformat()
        r = client.post(
            f"{API}/cameras/{cam}/transitions", json={"state": state, "on": on}, headers=admin
        )
        assert r.status_code == 200, r.text
    (target,) = [t for t in container.recording.targets() if t.camera_id == cam]
    assert target.stream.with_credentials() == GB_URL  # read back from the database
    assert target.stream.gb_source == GbSource(DEVICE, PRIVATE, "udp")


def test_editing_a_placed_camera_keeps_its_channel_stream(
    client: TestClient, admin: dict[str, str], container: Container
) -> None:
    cam = _placed_camera(client, admin, container)
    url = f"{API}/cameras/{cam}"
    r = client.patch(url, json={"field_of_view": "the gate"}, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["main_stream_url"] == GB_URL
    # the whole camera sent back as it was shown, stream included
    r = client.patch(url, json={"name": "东门", "main_stream_url": GB_URL}, headers=admin)
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["main_stream_url"]) == ("东门", GB_URL)
    # another channel typed in is refused, naming the field
    other = f"gb28181://{DEVICE}/{PRIVATE[:-1]}9"
    r = client.patch(url, json={"main_stream_url": other}, headers=admin)
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"main_stream_url"}
    assert client.get(url, headers=admin).json()["main_stream_url"] == GB_URL


def test_a_user_cannot_type_a_gb28181_stream(
    client: TestClient, admin: dict[str, str], container: Container
) -> None:
    unit, _ = _world(client, admin, container)
    site = make_site(client, admin, unit)
    body = camera_body(site, main_stream_url=GB_URL)
    r = client.post(f"{API}/cameras", json=body, headers=admin)
    assert r.status_code == 422, r.text
    (error,) = r.json()["errors"]
    assert error["field"] == "main_stream_url" and "placing" in error["reason"]
