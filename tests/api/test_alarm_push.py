"""Server push (GET /ui/events): a Server-Sent Events stream, authenticated by the session
cookie, tells a listener at once of each new or changed alarm it may see, and nothing of the
alarms outside its reach. Read from a real HTTP server (uvicorn) with a streaming client."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from custos.bootstrap import Container
from custos.domain.access import Role
from custos.domain.alarms import AlarmKind, Severity
from custos.domain.users import SYSTEM
from custos.entrypoints.web.paths import SESSION_COOKIE
from tests.api.builders import API, PASSWORD, camera_body, make_site, make_unit
from tests.api.notify_peers import free_port


@pytest.fixture
def server(app: FastAPI) -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert srv.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(5)
    assert not thread.is_alive(), "a stream outlived its client"


def _listen(
    base: str, token: str, into: queue.Queue[dict[str, Any]], ready: threading.Event
) -> None:
    cookies = {SESSION_COOKIE: token}
    timeout = httpx.Timeout(5, read=30)
    with (
        httpx.Client(base_url=base, cookies=cookies, timeout=timeout) as http,
        http.stream("GET", "/ui/events") as r,
    ):
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        event, n = "", 0
        for line in r.iter_lines():
            if line.startswith(": connected"):
                ready.set()
            elif line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: ") and event == "alarm":
                into.put(json.loads(line.removeprefix("data: ")))
                n += 1
                if n == 2:  # raised, then acknowledged: leave
                    return


def test_a_new_alarm_and_its_acknowledgement_are_pushed_at_once_to_who_may_see_it(
    client: TestClient, admin: dict[str, str], container: Container, server: str
) -> None:
    mine_unit, theirs_unit = make_unit(client, admin, 1), make_unit(client, admin, 2)
    cams = []
    for n, unit in ((1, mine_unit), (2, theirs_unit)):
        site = make_site(client, admin, unit, name=f"Site {n}")
        r = client.post(f"{API}/cameras", json=camera_body(site, serial=n), headers=admin)
        assert r.status_code == 201, r.text
        cams.append(int(r.json()["id"]))
    container.auth.create_user(SYSTEM, "duty", Role.OPERATOR, PASSWORD, mine_unit)
    login = client.post(f"{API}/auth/login", json={"username": "duty", "password": PASSWORD})
    token = login.json()["access_token"]
    got: queue.Queue[dict[str, Any]] = queue.Queue()
    ready = threading.Event()
    listener = threading.Thread(target=_listen, args=(server, token, got, ready), daemon=True)
    listener.start()
    assert ready.wait(10), "the stream did not open"
    # out of the operator's reach: never pushed to them
    container.alarms.raise_(AlarmKind.CAMERA_OFFLINE, Severity.CRITICAL, f"camera:{cams[1]}",
                            "other unit", camera_id=cams[1])  # fmt: skip
    raised_at = time.monotonic()
    alarm = container.alarms.raise_(AlarmKind.CAMERA_OFFLINE, Severity.CRITICAL,
                                    f"camera:{cams[0]}", "摄像机离线", camera_id=cams[0])  # fmt: skip
    first = got.get(timeout=5)
    latency = time.monotonic() - raised_at
    assert first == {
        "id": alarm.id, "kind": "camera_offline", "severity": "critical",
        "subject": f"camera:{cams[0]}", "message": "摄像机离线", "camera_id": cams[0],
        "raised_at": alarm.raised_at.isoformat(), "state": "open",
    }  # fmt: skip
    assert latency < 2.5, f"pushed after {latency:.2f} s"
    headers = {"Authorization": f"Bearer {token}"}
    r = client.post(f"{API}/alarms/{alarm.id}/acknowledge", json={"note": "seen"}, headers=headers)
    assert r.status_code == 200, r.text
    second = got.get(timeout=5)
    assert (second["id"], second["state"]) == (alarm.id, "acknowledged")
    listener.join(5)
    assert not listener.is_alive() and got.empty()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_stream_needs_a_session_with_alarm_read(
    client: TestClient, container: Container
) -> None:
    container.auth.create_user(SYSTEM, "approver", Role.APPROVER, PASSWORD, None)
    r = client.get("/ui/events", follow_redirects=False)
    assert r.status_code == 303 and "/ui/login" in r.headers["location"]
    login = client.post(f"{API}/auth/login", json={"username": "approver", "password": PASSWORD})
    client.cookies.set(SESSION_COOKIE, login.json()["access_token"])
    assert client.get("/ui/events", follow_redirects=False).status_code == 403
