"""A virtual ONVIF camera that no one here wrote: ``ipycam`` (PyPI), its ONVIF device, media and
PTZ services and its WS-Discovery responder, served in this process on loopback.

Only its video pipeline (go2rtc, ffmpeg pushes) is left out: onboarding never pulls video.
Three small additions, each because ipycam 1.3.0 lacks or gets wrong what a real camera does:

- its ProbeMatch says ``…/discovery/ProbeMatch`` where WS-Discovery (2005/04) says
  ``…/discovery/ProbeMatches``, so a conforming client (``wsdiscovery``) drops it: we send the
  standard action;
- it has no ``SetSystemDateAndTime`` and reports the host's clock: we give it a clock of its own
  (the host's plus an offset the test sets, as a camera's RTC drifts) and the Set operation;
- a PTZ hardware handler (ipycam's own extension point) records what reached the motor.
"""

from __future__ import annotations

import http.server
import re
import threading
import time
import types
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ipycam.config import CameraConfig
from ipycam.discovery import WSDiscoveryServer
from ipycam.http import IPCameraHTTPHandler
from ipycam.onvif import ONVIFService
from ipycam.ptz import PTZController, PTZPreset

USERNAME = "onvif-admin"
PASSWORD = "Peer-s3cret-Pw"


class _Service(ONVIFService):  # type: ignore[misc]
    offset_s: float = 0.0
    sets: list[str]

    def handle_action(self, action: str, body: str) -> str | None:
        if "SetSystemDateAndTime" in action or (not action and "SetSystemDateAndTime" in body):
            return self._set_time(body)
        return super().handle_action(action, body)  # type: ignore[no-any-return]

    def get_system_date_time(self) -> str:
        now = time.gmtime(time.time() + self.offset_s)
        body = self._render("get_system_date_time", hour=now.tm_hour, minute=now.tm_min,
                            second=now.tm_sec, year=now.tm_year, month=now.tm_mon,
                            day=now.tm_mday)  # fmt: skip
        return self._wrap_envelope(body)  # type: ignore[no-any-return]

    def _set_time(self, body: str) -> str:
        values = {k: int(self._extract_xml_value(body, k) or 0)
                  for k in ("Year", "Month", "Day", "Hour", "Minute", "Second")}  # fmt: skip
        wanted = time.strptime(
            "{Year:04d}-{Month:02d}-{Day:02d} {Hour:02d}:{Minute:02d}:{Second:02d}".format(
                **values
            ),
            "%Y-%m-%d %H:%M:%S",
        )
        import calendar

        self.offset_s = calendar.timegm(wanted) - time.time()
        self.sets.append(body)
        return self._wrap_envelope("<tds:SetSystemDateAndTimeResponse/>")  # type: ignore[no-any-return]

    def create_probe_match(self, relates_to: str) -> str:
        text: str = super().create_probe_match(relates_to)
        return re.sub(r"discovery/ProbeMatch<", "discovery/ProbeMatches<", text)


@dataclass
class _Motor:
    calls: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)

    def on_continuous_move(self, pan: float, tilt: float, zoom: float) -> None:
        self.calls.append(("continuous_move", (pan, tilt, zoom)))

    def on_stop(self) -> None:
        self.calls.append(("stop", ()))

    def on_absolute_move(self, pan: Any, tilt: Any, zoom: Any) -> None:
        self.calls.append(("absolute_move", (pan, tilt, zoom)))

    def on_relative_move(self, pan: float, tilt: float, zoom: float) -> None:
        self.calls.append(("relative_move", (pan, tilt, zoom)))

    def on_goto_preset(self, token: str, pan: float, tilt: float, zoom: float) -> None:
        self.calls.append(("goto_preset", (token,)))

    def on_goto_home(self) -> None:
        self.calls.append(("goto_home", ()))


@dataclass
class Peer:
    config: Any
    service: _Service
    motor: _Motor

    @property
    def xaddr(self) -> str:
        return str(self.config.onvif_url)

    def drift_by(self, seconds: float) -> None:
        self.service.offset_s = seconds

    @property
    def sets(self) -> list[str]:
        return self.service.sets


@contextmanager
def ipycam_peer(
    address: str = "127.0.0.1", discovery: bool = True, auth: bool = True
) -> Iterator[Peer]:
    config = CameraConfig(local_ip=address, onvif_port=0, name="ipycam-peer")
    if auth:
        config.set_credentials(USERNAME, PASSWORD)
    ptz = PTZController()
    ptz.presets["gate"] = PTZPreset(token="gate", name="gate", pan=0.5, tilt=0.1, zoom=1.0)
    motor = _Motor()
    ptz.add_hardware_handler(motor)
    service = _Service(config, ptz)
    service.sets = []
    handler = type("Handler", (IPCameraHTTPHandler,), {})
    handler.camera = types.SimpleNamespace(onvif=service, config=config)
    server = http.server.ThreadingHTTPServer((address, 0), handler)
    config.onvif_port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    responder = WSDiscoveryServer(service) if discovery else None
    if responder is not None:
        responder.start()
    try:
        yield Peer(config, service, motor)
    finally:
        if responder is not None:
            responder.stop()
            responder.join(timeout=3)
        server.shutdown()
        server.server_close()
        ptz.stop()
