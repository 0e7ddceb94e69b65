"""The ONVIF client port, on ``onvif-zeep-async`` (no hand-written SOAP).

The library is async; each call here runs its own event loop (``asyncio.run``) so the services
stay synchronous. Everything has a time-out, and what a device can do wrong (unreachable, refuses
the credentials, answers something that is not ONVIF, lacks a service) becomes a
:class:`ValidationFailed` naming the device: no traceback, no password.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import aiohttp
import zeep.exceptions
from onvif import ONVIFCamera  # type: ignore[import-untyped]
from onvif.exceptions import ONVIFAuthError, ONVIFError  # type: ignore[import-untyped]

from custos.adapters.onvif import discovery
from custos.domain.errors import FieldError, ValidationFailed
from custos.domain.onvif import (
    Credentials,
    DeviceIdentity,
    DeviceReport,
    DiscoveredDevice,
    PtzAction,
    PtzCommand,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

_STREAM_SETUP = {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}


class ZeepOnvifClient:
    def __init__(self, timeout_s: float = 10.0) -> None:
        self._timeout_s = timeout_s

    # ---- the port ------------------------------------------------------------------------
    def discover(
        self, interface: str | None, address: str | None, timeout_s: float
    ) -> list[DiscoveredDevice]:
        return discovery.probe(discovery.local_address(interface, address), timeout_s)

    def report(self, xaddr: str, credentials: Credentials | None) -> DeviceReport:
        async def work(cam: ONVIFCamera) -> DeviceReport:
            dev = await cam.create_devicemgmt_service()
            info = await dev.GetDeviceInformation()
            identity = DeviceIdentity(
                str(info.Manufacturer or ""),
                str(info.Model or ""),
                str(info.SerialNumber or ""),
                str(info.FirmwareVersion or ""),
            )
            media = await cam.create_media_service()
            profiles = list(await media.GetProfiles() or [])
            uris: list[str | None] = []
            for profile in profiles[:2]:  # the first is the main stream, the second the sub
                got = await media.GetStreamUri({"StreamSetup": _STREAM_SETUP,
                                                "ProfileToken": profile.token})  # fmt: skip
                uris.append(str(got.Uri) if got is not None and got.Uri else None)
            uris += [None] * (2 - len(uris))
            main = profiles[0] if profiles else None
            has_ptz = main is not None and getattr(main, "PTZConfiguration", None) is not None
            token = str(main.token) if main is not None else None
            return DeviceReport(identity, uris[0], uris[1], token, has_ptz)

        return self._run(xaddr, credentials, work)

    def camera_utc(self, xaddr: str, credentials: Credentials | None) -> datetime:
        async def work(cam: ONVIFCamera) -> datetime:
            dev = await cam.create_devicemgmt_service()
            got = await dev.GetSystemDateAndTime()
            utc = got.UTCDateTime
            if utc is None:
                raise ValidationFailed(
                    FieldError(
                        "device",
                        "not ONVIF: it gave no UTC time",
                        key="onvif.not_onvif",
                        params={"device": xaddr},
                    )
                )
            d, t = utc.Date, utc.Time
            return datetime(d.Year, d.Month, d.Day, t.Hour, t.Minute, t.Second, tzinfo=UTC)

        return self._run(xaddr, credentials, work, adjust_time=False)

    def set_camera_utc(self, xaddr: str, credentials: Credentials | None, utc: datetime) -> None:
        utc = utc.astimezone(UTC)
        request = {
            "DateTimeType": "Manual",
            "DaylightSavings": False,
            "TimeZone": {"TZ": "UTC0"},
            "UTCDateTime": {
                "Date": {"Year": utc.year, "Month": utc.month, "Day": utc.day},
                "Time": {"Hour": utc.hour, "Minute": utc.minute, "Second": utc.second},
            },
        }

        async def work(cam: ONVIFCamera) -> None:
            dev = await cam.create_devicemgmt_service()
            await dev.SetSystemDateAndTime(request)

        self._run(xaddr, credentials, work)

    def ptz(
        self, xaddr: str, credentials: Credentials | None, profile: str, cmd: PtzCommand
    ) -> None:
        async def work(cam: ONVIFCamera) -> None:
            ptz = await cam.create_ptz_service()
            if cmd.action is PtzAction.STOP:
                await ptz.Stop({"ProfileToken": profile, "PanTilt": True, "Zoom": True})
            elif cmd.action is PtzAction.PRESET:
                await ptz.GotoPreset({"ProfileToken": profile, "PresetToken": cmd.preset})
            else:
                velocity = {"PanTilt": {"x": cmd.pan, "y": cmd.tilt}, "Zoom": {"x": cmd.zoom}}
                await ptz.ContinuousMove({"ProfileToken": profile, "Velocity": velocity,
                                          "Timeout": f"PT{cmd.timeout_s:g}S"})  # fmt: skip

        self._run(xaddr, credentials, work)

    def presets(self, xaddr: str, credentials: Credentials | None, profile: str) -> list[str]:
        async def work(cam: ONVIFCamera) -> list[str]:
            ptz = await cam.create_ptz_service()
            got = await ptz.GetPresets({"ProfileToken": profile})
            return [str(p.token) for p in got or []]

        return self._run(xaddr, credentials, work)

    # ---- one call, its own loop -------------------------------------------------------------
    def _run(
        self,
        xaddr: str,
        credentials: Credentials | None,
        work: Callable[[ONVIFCamera], Awaitable[T]],
        adjust_time: bool = True,
    ) -> T:
        parts = urlsplit(xaddr)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValidationFailed(
                FieldError("xaddr", "must be the device's http(s) URL", key="onvif.bad_xaddr")
            )
        host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)

        async def main() -> T:
            user = credentials.username if credentials else None
            password = credentials.password if credentials else None
            cam = ONVIFCamera(host, port, user, password, adjust_time=adjust_time)
            try:
                await cam.update_xaddrs()
                return await work(cam)
            finally:
                await cam.close()

        async def bounded() -> T:
            return await asyncio.wait_for(main(), self._timeout_s)

        try:
            return asyncio.run(bounded())
        except ValidationFailed:
            raise
        except Exception as exc:  # each is mapped to a reason below
            key, reason = _reason(exc, self._timeout_s)
            device = f"{host}:{port}"
            log.warning("ONVIF device %s: %s", device, reason)
            params = {"device": device, "timeout_s": f"{self._timeout_s:g}"}
            raise ValidationFailed(
                FieldError("device", f"{device}: {reason}", key=f"onvif.{key}", params=params)
            ) from None


def _reason(exc: BaseException, timeout_s: float) -> tuple[str, str]:
    """The message key and a short English reason for a device failure; never the credentials."""
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return "timeout", f"no answer within {timeout_s:g} s"
    if isinstance(exc, ONVIFAuthError) or _says_unauthorized(exc):
        return "auth_failed", "the device refused the user name or password"
    if isinstance(exc, aiohttp.ClientConnectionError | OSError):
        return "unreachable", "unreachable (connection refused or no route)"
    if isinstance(exc, zeep.exceptions.Fault):
        return "refused", f"the device refused the request: {_short(exc.message)}"
    if isinstance(exc, SyntaxError | zeep.exceptions.Error | ValueError):
        return "not_onvif", "not an ONVIF device (its answer is not ONVIF SOAP)"
    if isinstance(exc, ONVIFError):
        return "refused", f"ONVIF error: {_short(str(exc))}"
    return "refused", f"unexpected failure ({type(exc).__name__})"


def _says_unauthorized(exc: BaseException) -> bool:
    text = str(getattr(exc, "message", "") or exc).lower()
    return any(w in text for w in ("not authorized", "unauthorized", "notauthorized", "401"))


def _short(text: Any) -> str:
    return " ".join(str(text or "").split())[:200]
