"""The hourly ONVIF clock check runs off the housekeeper's main tick (an unreachable camera takes
the client's timeout, which must never delay the camera-offline alarms), records an unreachable
camera's attempt so it is not retried at every pass, and skips cameras not in service."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from custos.bootstrap import Container
from custos.domain.clock import ManualClock
from custos.domain.errors import FieldError, ValidationFailed
from custos.domain.onvif import Credentials, OnvifLink
from custos.entrypoints.workers.housekeeper import Housekeeper
from custos.services.camera_time import CameraTimeService
from tests.api.builders import API, camera_body, make_site, make_unit

XIAN = "610113"
IN_SERVICE = [
    {"state": "design_reviewed", "on": "2026-09-01"},
    {"state": "built", "on": "2026-09-10"},
    {"state": "accepted", "on": "2026-09-20"},
    {"state": "in_service", "on": "2026-10-01"},
]


@pytest.fixture
def backend() -> str:
    return "sqlite"


class Unreachable:
    """An ONVIF port whose cameras never answer."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def camera_utc(self, xaddr: str, credentials: Credentials | None) -> datetime:
        self.asked.append(xaddr)
        raise ValidationFailed(FieldError("xaddr", "the device did not answer"))

    def set_camera_utc(self, *a: Any) -> None:
        raise AssertionError("never reached")


def _camera(client: TestClient, admin: dict[str, str], serial: int, **over: Any) -> int:
    unit = make_unit(client, admin, serial)
    site = make_site(client, admin, unit, XIAN, name=f"Site {serial}")
    r = client.post(f"{API}/cameras", json=camera_body(site, XIAN, serial=serial, **over),
                    headers=admin)  # fmt: skip
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _link(c: Container, camera_id: int) -> None:
    with c.uow() as uow:
        uow.onvif_links.add(OnvifLink(camera_id, f"http://192.0.2.{camera_id}/onvif",
                                      f"urn:uuid:{camera_id}", None, None, False))  # fmt: skip
        uow.commit()


def test_an_unreachable_camera_is_tried_once_a_day_and_one_not_in_service_never(
    client: TestClient, admin: dict[str, str], container: Container
) -> None:
    working = _camera(client, admin, 1, history=IN_SERVICE)
    planned = _camera(client, admin, 2)  # no lifecycle yet: planned, not operating
    _link(container, working)
    _link(container, planned)
    port = Unreachable()
    clock = container.clock
    assert isinstance(clock, ManualClock)
    service = CameraTimeService(container.uow, port, container.alarms, clock, 2.0)  # type: ignore[arg-type]

    assert service.check_due() == []
    assert port.asked == [f"http://192.0.2.{working}/onvif"]  # the planned one is skipped
    with container.uow() as uow:
        link = uow.onvif_links.get(working)
    assert link is not None and link.clock_checked_at == clock.now()  # the attempt recorded

    clock.advance(timedelta(hours=1))
    service.check_due()
    assert len(port.asked) == 1, "not retried at the next pass"
    clock.advance(timedelta(days=1))
    service.check_due()
    assert len(port.asked) == 2, "tried again a day later"


class _Blocking:
    """A clock check stuck on a camera that does not answer (until released)."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.threads: list[str] = []

    def check_due(self) -> list[Any]:
        self.threads.append(threading.current_thread().name)
        self.entered.set()
        self.release.wait(10)
        return []


def test_a_slow_clock_check_never_delays_the_main_tick(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow = _Blocking()
    monkeypatch.setattr(container, "camera_time", slow)
    keeper = Housekeeper(container, every_s=0.02)
    started = time.monotonic()
    keeper.tick()  # the first tick, which used to run the hourly clock check itself
    assert time.monotonic() - started < 5
    assert slow.threads == []
    keeper.start()
    try:
        assert slow.entered.wait(5), "the clock check runs on its own thread"
        ticks = keeper._ticks
        deadline = time.monotonic() + 5
        while keeper._ticks < ticks + 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert keeper._ticks >= ticks + 3, "the main tick goes on while the check is stuck"
    finally:
        slow.release.set()
        keeper.stop()
    assert slow.threads == ["clocks"]
