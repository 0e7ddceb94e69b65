"""Alarm delivery (issue 14 §1) against real peers: an alarm reaches a real SMTP inbox through
Apprise and a local webhook receiver with a valid HMAC signature; a failing channel is retried
with back-off (10 s, doubling, 5 tries) under a manual clock, then ``delivery_failed`` is raised
and visible, and the channel's next success clears it; an unacknowledged alarm goes up the rota
after the escalation time; URLs and secrets never appear in answers, the operation log or logs."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from custos.bootstrap import Container
from custos.domain.access import Role
from custos.domain.alarms import Alarm, AlarmKind, Severity
from custos.domain.clock import ManualClock
from custos.entrypoints.workers.housekeeper import Housekeeper
from tests.api.builders import API, camera_body, make_site, make_unit
from tests.api.conftest import LoginAs
from tests.api.notify_peers import free_port, smtp_inbox, webhook_receiver

SECRET_PW = "TopSecretPw42"
HMAC_KEY = "k3y-for-the-hmac-0123456789"


def _camera(client: TestClient, admin: dict[str, str], n: int = 1) -> tuple[int, int]:
    unit = make_unit(client, admin, n)
    site = make_site(client, admin, unit, name=f"Site {n}")
    r = client.post(f"{API}/cameras", json=camera_body(site, serial=n), headers=admin)
    assert r.status_code == 201, r.text
    return unit, int(r.json()["id"])


def _channel(client: TestClient, who: dict[str, str], unit: int | None, **body: Any) -> int:
    r = client.post(
        f"{API}/notify/channels", json={"unit_id": unit, "name": "duty", **body}, headers=who
    )
    assert r.status_code == 201, r.text
    shown = json.dumps(r.json())
    assert "url" not in r.json() and "secret" not in r.json()
    assert SECRET_PW not in shown and HMAC_KEY not in shown
    return int(r.json()["id"])


def _raise(c: Container, camera: int, message: str = "摄像机离线 Entrance 1") -> Alarm:
    return c.alarms.raise_(
        AlarmKind.CAMERA_OFFLINE, Severity.CRITICAL, f"camera:{camera}", message, camera_id=camera
    )


def _deliveries(client: TestClient, who: dict[str, str], alarm_id: int | None) -> Any:
    r = client.get(f"{API}/alarms/{alarm_id}/deliveries", headers=who)
    assert r.status_code == 200, r.text
    return r.json()


def _leaks(c: Container, *secrets: str) -> list[str]:
    with c.engine.connect() as conn:
        entries = [str(row[0]) for row in conn.execute(text("SELECT entry FROM audit_events"))]
    return [e for e in entries if any(s in e for s in secrets)]


def test_a_raised_alarm_reaches_a_real_smtp_inbox_through_apprise(
    client: TestClient, admin: dict[str, str], login_as: LoginAs, container: Container
) -> None:
    unit, camera = _camera(client, admin)
    manager = login_as(Role.UNIT_MANAGER, unit)
    with smtp_inbox() as inbox:
        channel = _channel(client, manager, unit, kind="apprise", url=inbox.url)
        listed = client.get(f"{API}/notify/channels?unit_id={unit}", headers=manager).json()
        assert [ch["target"] for ch in listed] == ["mailto://127.0.0.1"]
        started = time.monotonic()
        alarm = _raise(container, camera)
        assert Housekeeper(container).notify_tick() == 1
        [mail] = inbox.wait(1)
        latency = inbox.arrived_at[0] - started
    assert "camera_offline" in mail["Subject"] and f"camera:{camera}" in mail["Subject"]
    body = mail.get_body(("plain",))
    assert body is not None and "摄像机离线 Entrance 1" in body.get_content()
    got = _deliveries(client, manager, alarm.id)
    [d] = got["deliveries"]
    assert (d["channel_id"], d["status"], d["attempts"], d["level"]) == (channel, "sent", 1, 0)
    assert d["sent_at"] and d["last_error"] is None and got["escalation_level"] == 0
    assert latency < 2.0, f"raise -> inbox took {latency:.3f} s"
    print(f"delivery latency raise -> SMTP inbox: {latency * 1000:.0f} ms")


def test_a_webhook_delivery_carries_a_valid_hmac_signature(
    client: TestClient, admin: dict[str, str], container: Container
) -> None:
    unit, camera = _camera(client, admin)
    with webhook_receiver() as hook:
        _channel(client, admin, unit, kind="webhook", url=hook.url, secret=HMAC_KEY)
        alarm = _raise(container, camera)
        Housekeeper(container).notify_tick()
    [got] = hook.received
    stamp, signature = got.headers["X-Custos-Timestamp"], got.headers["X-Custos-Signature"]
    expected = hmac.new(HMAC_KEY.encode(), stamp.encode() + b"." + got.body, hashlib.sha256)
    assert signature == "sha256=" + expected.hexdigest()
    forged = hmac.new(b"another key", stamp.encode() + b"." + got.body, hashlib.sha256)
    assert signature != "sha256=" + forged.hexdigest()
    payload = json.loads(got.body)
    assert payload["alarm"]["alarm_id"] == alarm.id and payload["alarm"]["severity"] == "critical"
    assert payload["alarm"]["camera_id"] == camera
    assert _leaks(container, HMAC_KEY) == []


def test_a_failing_channel_is_retried_with_back_off_then_delivery_failed_is_raised_and_cleared(
    client: TestClient,
    admin: dict[str, str],
    container: Container,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    clock = container.clock
    assert isinstance(clock, ManualClock)
    unit, camera = _camera(client, admin)
    dead = f"mailto://duty:{SECRET_PW}@127.0.0.1:{free_port()}?from=a@example.cn&to=b@example.cn"
    channel = _channel(client, admin, unit, kind="apprise", url=dead)
    alarm = _raise(container, camera)
    keeper = Housekeeper(container)
    waits = []
    for attempt in range(1, 6):
        assert keeper.notify_tick() == 0
        [d] = _deliveries(client, admin, alarm.id)["deliveries"]
        assert d["attempts"] == attempt and d["last_error"]
        assert SECRET_PW not in d["last_error"]
        if attempt < 5:
            assert d["status"] == "pending"
            keeper.notify_tick()  # not yet due: no new try
            assert _deliveries(client, admin, alarm.id)["deliveries"][0]["attempts"] == attempt
            wait = timedelta(seconds=10 * 2 ** (attempt - 1))
            waits.append(wait.total_seconds())
            clock.advance(wait)
    assert waits == [10, 20, 40, 80]
    assert d["status"] == "failed"
    open_ = client.get(f"{API}/alarms?severity=warning", headers=admin).json()
    [failed] = [a for a in open_ if a["kind"] == "delivery_failed"]
    assert failed["subject"] == f"channel:{channel}" and failed["camera_id"] is None
    # the channel is repaired: its next success clears the alarm about it
    with smtp_inbox() as inbox:
        r = client.patch(f"{API}/notify/channels/{channel}", json={"url": inbox.url}, headers=admin)
        assert r.status_code == 200, r.text
        container.alarms.raise_(
            AlarmKind.RECORDING_GAP, Severity.CRITICAL, f"camera:{camera}", "gap", camera_id=camera
        )
        assert keeper.notify_tick() == 1
        inbox.wait(1)
    still = client.get(f"{API}/alarms", headers=admin).json()
    assert [a for a in still if a["kind"] == "delivery_failed"] == []
    assert SECRET_PW not in caplog.text
    assert _leaks(container, SECRET_PW) == []


@pytest.mark.slow
def test_an_unacknowledged_alarm_goes_to_the_next_rota_level_after_the_escalation_time(
    client: TestClient, admin: dict[str, str], login_as: LoginAs, container: Container
) -> None:
    clock = container.clock
    assert isinstance(clock, ManualClock)
    unit, camera = _camera(client, admin)
    manager = login_as(Role.UNIT_MANAGER, unit)
    operator = login_as(Role.OPERATOR, unit, name="duty-a")
    login_as(Role.OPERATOR, unit, name="chief-b")
    users = {u.username: u.id for u in container.auth.list_users()}
    with webhook_receiver() as first, webhook_receiver() as second:
        c1 = _channel(client, manager, unit, kind="webhook", url=first.url, secret=HMAC_KEY)
        c2 = _channel(client, manager, unit, kind="webhook", url=second.url, secret=HMAC_KEY)
        rota = {"levels": [[{"user_id": users["duty-a"], "channel_id": c1}],
                           [{"user_id": users["chief-b"], "channel_id": c2}]]}  # fmt: skip
        r = client.put(f"{API}/notify/rota?unit_id={unit}", json=rota, headers=manager)
        assert r.status_code == 200, r.text
        assert r.json()["levels"][1] == [{"user_id": users["chief-b"], "channel_id": c2}]
        keeper = Housekeeper(container)
        alarm = _raise(container, camera)
        keeper.notify_tick()
        assert (len(first.received), len(second.received)) == (1, 0)
        clock.advance(timedelta(seconds=299))
        keeper.notify_tick()
        assert len(second.received) == 0
        clock.advance(timedelta(seconds=2))
        keeper.notify_tick()
        assert (len(first.received), len(second.received)) == (1, 1)
        assert json.loads(second.received[0].body)["alarm"]["level"] == 1
        got = _deliveries(client, operator, alarm.id)
        assert got["escalation_level"] == 1
        assert [(d["level"], d["channel_id"], d["status"]) for d in got["deliveries"]] == [
            (0, c1, "sent"),
            (1, c2, "sent"),
        ]
        # acknowledged in time: it stays where it is
        r = client.post(f"{API}/alarms/{alarm.id}/acknowledge", json={"note": "on it"},
                        headers=operator)  # fmt: skip
        assert r.status_code == 200, r.text
        clock.advance(timedelta(seconds=301))
        keeper.notify_tick()
        assert len(second.received) == 1
    assert _leaks(container, HMAC_KEY, first.url, second.url) == []
    with container.engine.connect() as conn:
        entries = [
            json.loads(str(r[0])) for r in conn.execute(text("SELECT entry FROM audit_events"))
        ]
    assert [e for e in entries if e.get("action") == "alarm.escalate"]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_channels_are_kept_by_the_units_managers_and_refusals_name_the_field(
    client: TestClient, admin: dict[str, str], login_as: LoginAs
) -> None:
    unit, _ = _camera(client, admin, 1)
    other, _ = _camera(client, admin, 2)
    manager = login_as(Role.UNIT_MANAGER, unit)
    operator = login_as(Role.OPERATOR, unit)
    body = {"unit_id": unit, "name": "x", "kind": "webhook", "url": "http://127.0.0.1:9/h",
            "secret": HMAC_KEY}  # fmt: skip
    assert client.post(f"{API}/notify/channels", json=body, headers=operator).status_code == 403
    theirs = client.post(f"{API}/notify/channels", json=body | {"unit_id": other}, headers=manager)
    assert theirs.status_code == 404
    system = client.post(f"{API}/notify/channels", json=body | {"unit_id": None}, headers=manager)
    assert system.status_code == 403
    bad = client.post(
        f"{API}/notify/channels", json=body | {"url": "ftp://x", "kind": "webhook"}, headers=manager
    )
    assert bad.status_code == 422 and "url" in {e["field"] for e in bad.json()["errors"]}
    nonsense = body | {"kind": "apprise", "url": "nosuchservice://abc"}
    bad = client.post(f"{API}/notify/channels", json=nonsense, headers=manager)
    assert bad.status_code == 422 and "url" in {e["field"] for e in bad.json()["errors"]}
    mine = client.post(f"{API}/notify/channels", json=body, headers=manager)
    assert mine.status_code == 201
    admin_sees = client.get(f"{API}/notify/channels?unit_id={unit}", headers=admin).json()
    assert [c["id"] for c in admin_sees] == [mine.json()["id"]]
    rota = {"levels": [[{"channel_id": mine.json()["id"] + 100}]]}
    bad = client.put(f"{API}/notify/rota?unit_id={unit}", json=rota, headers=manager)
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"levels[0][0].channel_id"}


def test_level_0_is_whoever_is_signed_on_duty_in_the_units_monitoring_room(
    client: TestClient, admin: dict[str, str], login_as: LoginAs, container: Container
) -> None:
    unit, camera = _camera(client, admin)
    site = client.get(f"{API}/cameras/{camera}", headers=admin).json()["site_id"]
    manager = login_as(Role.UNIT_MANAGER, unit)
    login_as(Role.OPERATOR, unit, name="duty-a")
    chief = login_as(Role.OPERATOR, unit, name="chief-b")
    users = {u.username: u.id for u in container.auth.list_users()}
    room = client.post(f"{API}/monitoring-rooms", json={"site_id": site, "name": "一号监控室"},
                       headers=manager)  # fmt: skip
    assert room.status_code == 201, room.text
    with webhook_receiver() as first, webhook_receiver() as second:
        c1 = _channel(client, manager, unit, kind="webhook", url=first.url, secret=HMAC_KEY)
        c2 = _channel(client, manager, unit, kind="webhook", url=second.url, secret=HMAC_KEY)
        rota = {"levels": [[{"user_id": users["duty-a"], "channel_id": c1}],
                           [{"user_id": users["chief-b"], "channel_id": c2}]]}  # fmt: skip
        assert client.put(
            f"{API}/notify/rota?unit_id={unit}", json=rota, headers=manager
        ).is_success
        on = client.post(f"{API}/monitoring-rooms/{room.json()['id']}/sign-on", headers=chief)
        assert on.status_code == 201, on.text
        alarm = _raise(container, camera)
        Housekeeper(container).notify_tick()
        assert (len(first.received), len(second.received)) == (0, 1)
    [d] = _deliveries(client, admin, alarm.id)["deliveries"]
    assert (d["level"], d["user_id"], d["channel_id"]) == (0, users["chief-b"], c2)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_test_message_reaches_the_inbox_and_a_dead_channel_says_why_without_its_secret(
    client: TestClient, admin: dict[str, str], container: Container
) -> None:
    unit, _ = _camera(client, admin)
    with smtp_inbox() as inbox:
        channel = _channel(client, admin, unit, kind="apprise", url=inbox.url)
        r = client.post(f"{API}/notify/channels/{channel}/test", headers=admin)
        assert r.json() == {"channel_id": channel, "ok": True, "error": None}
        [mail] = inbox.wait(1)
        assert "test" in mail["Subject"]
    dead = f"mailto://duty:{SECRET_PW}@127.0.0.1:{free_port()}?from=a@example.cn&to=b@example.cn"
    patched = client.patch(f"{API}/notify/channels/{channel}", json={"url": dead}, headers=admin)
    assert patched.status_code == 200 and SECRET_PW not in patched.text
    r = client.post(f"{API}/notify/channels/{channel}/test", headers=admin)
    assert r.json()["ok"] is False and r.json()["error"] and SECRET_PW not in r.text
    assert client.delete(f"{API}/notify/channels/{channel}", headers=admin).status_code == 204
    assert client.get(f"{API}/notify/channels?unit_id={unit}", headers=admin).json() == []
    assert _leaks(container, SECRET_PW, inbox.url) == []
