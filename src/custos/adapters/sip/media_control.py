"""The media control socket between the recorder and the GB/T 28181 SIP server (docs/design/
gb28181.md, "Recorder ↔ SIP server: the media control socket").

A Unix socket ``<data-dir>/run/gb-media.sock`` (mode 0600, its folder 0700), one JSON object per
line, at most 4 KiB a line::

    → {"op":"invite","device":"…","channel":"…","ip":"127.0.0.1","port":40000,"transport":"udp"}
      (optionally "timeout_s": 0.5–60, default 10)
    ← {"ok":true,"call":"<Call-ID>","ssrc":"0200000001","ip":"…","port":…,"transport":"udp"}
    ← {"ok":false,"reason":"device_offline|unknown_channel|refused|timeout|bad_answer","detail":"…"}
    → {"op":"bye","call":"<Call-ID>"}          ← {"ok":true}

A line that is not such a request gets ``{"ok":false,"reason":"bad_request","detail":…}`` and the
connection stays open. :class:`MediaControlServer` serves it on the SIP server's own loop (each
connection's requests one after another; connections side by side); :class:`MediaControlClient`
is the recorder's :class:`~custos.domain.gb_media.MediaSignalling` (one connection per call).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import socket
from pathlib import Path
from typing import Any

from custos.adapters.sip.server import GbSipServer
from custos.domain.gb_media import MediaAnswer, MediaOffer, MediaRefused, RefusalReason

log = logging.getLogger(__name__)

MAX_LINE_BYTES = 4096
DEFAULT_TIMEOUT_S = 10.0
MIN_TIMEOUT_S, MAX_TIMEOUT_S = 0.5, 60.0
MAX_UNIX_PATH = 107  # sun_path less its NUL
REASONS: tuple[RefusalReason, ...] = (
    "device_offline", "unknown_channel", "refused", "timeout", "bad_answer",
)  # fmt: skip
TRANSPORTS = ("udp", "tcp-passive", "tcp-active")
_ID20 = re.compile(r"[0-9]{20}")
_IPV4 = re.compile(r"(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}")
_OVERLONG = object()


def socket_path(data_dir: Path) -> Path:
    return data_dir / "run" / "gb-media.sock"


class BadControlRequestError(ValueError):
    """A control request we cannot read; the message names the field."""


def read_offer(request: dict[str, Any]) -> tuple[MediaOffer, float]:
    """The offer and time-out of an ``invite`` request; :class:`BadControlRequestError` naming the field."""
    device, channel = request.get("device"), request.get("channel")
    if not isinstance(device, str) or not _ID20.fullmatch(device):
        raise BadControlRequestError("device: must be a 20-digit ID")
    if not isinstance(channel, str) or not _ID20.fullmatch(channel):
        raise BadControlRequestError("channel: must be a 20-digit ID")
    ip = request.get("ip")
    if not isinstance(ip, str) or not _IPV4.fullmatch(ip):
        raise BadControlRequestError("ip: must be an IPv4 address")
    port = request.get("port")
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        raise BadControlRequestError("port: must be 1..65535")
    transport = request.get("transport", "udp")
    if transport not in TRANSPORTS:
        raise BadControlRequestError("transport: must be udp, tcp-passive or tcp-active")
    timeout = request.get("timeout_s", DEFAULT_TIMEOUT_S)
    if (
        not isinstance(timeout, int | float)
        or isinstance(timeout, bool)
        or not MIN_TIMEOUT_S <= timeout <= MAX_TIMEOUT_S
    ):
        raise BadControlRequestError(f"timeout_s: must be {MIN_TIMEOUT_S:g}..{MAX_TIMEOUT_S:g}")
    return MediaOffer(device, channel, ip, port, transport), float(timeout)


class MediaControlServer:
    """The socket's server side, on ``server``'s asyncio loop; start after the SIP server."""

    def __init__(self, server: GbSipServer, path: Path) -> None:
        if len(os.fsencode(path)) > MAX_UNIX_PATH:
            raise ValueError(f"the media control socket path is too long for Unix: {path}")
        self._sip = server
        self._path = path
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.Task[object]] = set()

    @property
    def path(self) -> Path:
        return self._path

    def start(self, timeout_s: float = 10.0) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self._path.parent, 0o700)
        _remove_stale(self._path)
        self._sip.submit(self._open()).result(timeout_s)
        log.info("GB/T 28181 media control socket at %s", self._path)

    def stop(self, timeout_s: float = 10.0) -> None:
        if self._server is not None:
            with contextlib.suppress(RuntimeError, TimeoutError):
                self._sip.submit(self._close()).result(timeout_s)
        with contextlib.suppress(FileNotFoundError):
            self._path.unlink()

    async def _open(self) -> None:
        self._server = await asyncio.start_unix_server(
            self._client, path=str(self._path), limit=MAX_LINE_BYTES
        )
        os.chmod(self._path, 0o600)

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for _ in range(3):  # a connection accepted just now takes a few turns to start its task
            await asyncio.sleep(0.01)
            for task in list(self._clients):  # a request waiting on a device is dropped
                task.cancel()
            await asyncio.gather(*self._clients, return_exceptions=True)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._clients.add(task)
        try:
            while True:
                line = await _read_line(reader)
                if line is None:
                    return
                reply = await self._answer(line)
                writer.write(json.dumps(reply, ensure_ascii=True).encode() + b"\n")
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            return
        finally:
            writer.close()
            if task is not None:
                self._clients.discard(task)

    async def _answer(self, line: bytes | object) -> dict[str, Any]:
        if not isinstance(line, bytes):
            return _bad(f"a line is at most {MAX_LINE_BYTES} bytes")
        try:
            request = json.loads(line)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return _bad("not a JSON object")
        if not isinstance(request, dict):
            return _bad("not a JSON object")
        op = request.get("op")
        if op == "bye":
            call = request.get("call")
            if not isinstance(call, str) or not 0 < len(call) <= 200:
                return _bad("call: must be a Call-ID")
            self._sip.media.bye(call)
            return {"ok": True}
        if op != "invite":
            return _bad("op: must be invite or bye")
        try:
            offer, timeout_s = read_offer(request)
        except BadControlRequestError as e:
            return _bad(str(e))
        try:
            answer = await self._sip.media.invite(offer, timeout_s)
        except MediaRefused as refusal:
            return {"ok": False, "reason": refusal.reason, "detail": refusal.detail}
        return {"ok": True, "call": answer.call_id, "ssrc": answer.ssrc, "ip": answer.ip,
                "port": answer.port, "transport": answer.transport}  # fmt: skip


async def _read_line(reader: asyncio.StreamReader) -> bytes | object | None:
    """One line; ``_OVERLONG`` for a line over the limit (skipped to its end); None at the end."""
    overlong = False
    while True:
        try:
            line = await reader.readuntil(b"\n")
        except asyncio.IncompleteReadError:
            return None
        except asyncio.LimitOverrunError as e:
            overlong = True
            await reader.readexactly(max(e.consumed, 1))
            continue
        return _OVERLONG if overlong else line


def _bad(detail: str) -> dict[str, Any]:
    return {"ok": False, "reason": "bad_request", "detail": detail}


def _remove_stale(path: Path) -> None:
    """A socket file left by a server that died; refuses if a live server still answers on it."""
    if not path.exists():
        return
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        try:
            probe.connect(str(path))
        except OSError:
            path.unlink()
            return
    raise RuntimeError(f"another server answers on the media control socket {path}")


class MediaControlClient:
    """The recorder's side (:class:`~custos.domain.gb_media.MediaSignalling`): one connection per
    request. No socket, or nobody on it: ``no_signalling``; no answer in time: ``timeout``."""

    def __init__(self, path: Path, grace_s: float = 5.0) -> None:
        self._path = path
        self._grace_s = grace_s  # how much longer than the INVITE's time-out to wait for a line

    def invite(self, offer: MediaOffer, timeout_s: float) -> MediaAnswer:
        if offer.playback is not None:
            raise MediaRefused("refused", "playback from a device's storage is not built")
        timeout_s = min(max(timeout_s, MIN_TIMEOUT_S), MAX_TIMEOUT_S)
        request = {"op": "invite", "device": offer.device_id, "channel": offer.channel_id,
                   "ip": offer.ip, "port": offer.port, "transport": offer.transport,
                   "timeout_s": timeout_s}  # fmt: skip
        reply = self._ask(request, timeout_s + self._grace_s)
        if reply.get("ok") is True:
            try:
                return MediaAnswer(
                    call_id=str(reply["call"]),
                    ssrc=str(reply["ssrc"]),
                    ip=str(reply["ip"]),
                    port=int(reply["port"]),
                    transport=offer.transport,
                )
            except (KeyError, TypeError, ValueError):
                raise MediaRefused(
                    "no_signalling", "the SIP server's answer is malformed"
                ) from None
        detail = str(reply.get("detail", ""))[:300]
        reason = _reason(reply.get("reason"))
        if reason is None:  # bad_request: a defect on our side, the SIP server would not take it
            raise MediaRefused("refused", f"{reply.get('reason')}: {detail}")
        raise MediaRefused(reason, detail)

    def bye(self, call_id: str) -> None:
        try:
            self._ask({"op": "bye", "call": call_id}, 5.0)
        except MediaRefused as e:
            log.warning("GB BYE for call %s not sent: %s", call_id, e)

    def _ask(self, request: dict[str, Any], wait_s: float) -> dict[str, Any]:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(min(wait_s, 5.0))
            try:
                sock.connect(str(self._path))
            except (FileNotFoundError, ConnectionRefusedError) as e:
                raise MediaRefused("no_signalling", f"no SIP server on {self._path}: {e}") from None
            except OSError as e:
                raise MediaRefused("no_signalling", f"cannot reach {self._path}: {e}") from None
            sock.settimeout(wait_s)
            try:
                sock.sendall(json.dumps(request).encode() + b"\n")
                line = _recv_line(sock)
            except TimeoutError:
                raise MediaRefused("timeout", f"no answer in {wait_s:g} s") from None
            except OSError as e:
                raise MediaRefused("no_signalling", f"the SIP server went away: {e}") from None
        try:
            reply = json.loads(line)
        except (UnicodeDecodeError, json.JSONDecodeError):
            reply = None
        if not isinstance(reply, dict):
            raise MediaRefused("no_signalling", "the SIP server's answer is not JSON")
        return reply


def _recv_line(sock: socket.socket) -> bytes:
    data = b""
    while b"\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionResetError("closed before an answer")
        data += chunk
        if len(data) > 16 * MAX_LINE_BYTES:
            raise ConnectionResetError("answer too long")
    return data.split(b"\n", 1)[0]


def _reason(value: object) -> RefusalReason | None:
    return next((r for r in REASONS if r == value), None)
