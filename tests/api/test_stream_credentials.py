"""Stream passwords, wherever the camera's URL carries them, never leave the secret box: not in
a response, the operation log, the server log, nor the database file (issue 11 §5)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from custos.adapters.db import tables
from custos.bootstrap import Container
from custos.services.stream_credentials import seal_clear_stream_credentials
from tests.api.builders import API, camera_body, make_site, make_unit

PASSWORD = "Qx7-Str3am-Pw"
USER = "cam-viewer-9"
URLS = {
    "userinfo": f"rtsp://{USER}:{PASSWORD}@192.0.2.10:554/main",
    "query": f"rtsp://192.0.2.10/ch1?user={USER}&password={PASSWORD}",
    "query, other names": f"rtsp://192.0.2.10/videoMain?USR={USER}&pwd={PASSWORD}&stream=0",
    "path": f"rtsp://192.0.2.10:554/user={USER}&password={PASSWORD}&channel=1&stream=0.sdp?",
}


@pytest.mark.parametrize("carrier", list(URLS))
def test_a_stream_password_is_in_no_response_log_row_or_database_file(
    carrier: str,
    client: TestClient,
    admin: dict[str, str],
    container: Container,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    url = URLS[carrier]
    unit = make_unit(client, admin)
    site = make_site(client, admin, unit)
    seen: list[str] = []
    r = client.post(f"{API}/cameras", json=camera_body(site, main_stream_url=url), headers=admin)
    assert r.status_code == 201, r.text
    camera = r.json()["id"]
    assert r.json()["has_stream_credentials"] is True
    seen.append(r.text)
    patch = {"sub_stream_url": url.replace("main", "sub"), "name": "renamed"}
    seen.append(client.patch(f"{API}/cameras/{camera}", json=patch, headers=admin).text)
    seen.append(client.get(f"{API}/cameras/{camera}", headers=admin).text)
    seen.append(client.get(f"{API}/cameras", headers=admin).text)
    seen.append(client.get(f"{API}/audit/entries", headers=admin).text)
    with container.uow() as uow:
        seen.extend(str(e) for _, e in uow.audit.find(limit=1000))
        stored = uow.cameras.get(camera)
        assert stored is not None
        assert stored.main_stream is not None
        seen.append(repr(stored))
    seen.append(caplog.text)
    for text in seen:
        assert PASSWORD not in text
        assert USER not in text
    assert stored.main_stream.with_credentials() == url, "the recorder still gets the real URL"
    if container.settings.database_url is None:  # SQLite: the file and its write-ahead log
        db = Path(container.settings.resolved_database_url().removeprefix("sqlite:///"))
        files = [p for p in (db, Path(f"{db}-wal")) if p.exists()]
        assert files
        for f in files:
            assert PASSWORD.encode() not in f.read_bytes(), f.name


def test_a_url_copied_back_from_the_api_keeps_the_stored_credentials(
    client: TestClient, admin: dict[str, str], container: Container
) -> None:
    url = URLS["query"]
    unit = make_unit(client, admin)
    site = make_site(client, admin, unit)
    r = client.post(f"{API}/cameras", json=camera_body(site, main_stream_url=url), headers=admin)
    shown = r.json()["main_stream_url"]
    assert shown == "rtsp://192.0.2.10/ch1?user=***&password=***"
    again = {"main_stream_url": shown, "name": "renamed"}
    r = client.patch(f"{API}/cameras/{r.json()['id']}", json=again, headers=admin)
    assert r.status_code == 200, r.text
    with container.uow() as uow:
        stored = uow.cameras.get(r.json()["id"])
    assert stored is not None
    assert stored.main_stream is not None
    assert stored.main_stream.with_credentials() == url


def test_a_new_camera_with_only_masked_credentials_is_refused_naming_the_field(
    client: TestClient, admin: dict[str, str]
) -> None:
    unit = make_unit(client, admin)
    site = make_site(client, admin, unit)
    body = camera_body(site, main_stream_url="rtsp://192.0.2.10/ch1?user=***&password=***")
    r = client.post(f"{API}/cameras", json=body, headers=admin)
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["main_stream_url"]


def test_a_password_an_earlier_version_stored_in_clear_is_sealed_at_start(
    client: TestClient, admin: dict[str, str], container: Container
) -> None:
    unit = make_unit(client, admin)
    site = make_site(client, admin, unit)
    body = camera_body(site, main_stream_url="rtsp://192.0.2.10/ch1")
    camera = client.post(f"{API}/cameras", json=body, headers=admin).json()["id"]
    legacy = URLS["query"]
    with container.engine.begin() as conn:  # as a version before issue 11 wrote it
        conn.execute(
            update(tables.cameras)
            .where(tables.cameras.c.id == camera)
            .values(main_stream_url=legacy)
        )
    shown = client.get(f"{API}/cameras/{camera}", headers=admin).text
    assert PASSWORD not in shown, "split off on reading already"

    assert seal_clear_stream_credentials(container.uow, container.clock) == [camera]
    assert seal_clear_stream_credentials(container.uow, container.clock) == []
    with container.engine.connect() as conn:
        row = conn.execute(select(tables.cameras).where(tables.cameras.c.id == camera)).one()
    assert PASSWORD not in row.main_stream_url
    assert row.main_stream_secret is not None
    with container.uow() as uow:
        stored = uow.cameras.get(camera)
        actions = [e.action for _, e in uow.audit.find(limit=1000)]
    assert stored is not None
    assert stored.main_stream is not None
    assert stored.main_stream.with_credentials() == legacy
    assert "camera.credentials_sealed" in actions
