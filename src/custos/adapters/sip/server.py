"""The GB/T 28181 SIP server: devices REGISTER and send MESSAGE here (docs/design/gb28181.md).

Runs its own asyncio loop in a thread (`start()` returns once the sockets are bound, `stop()`
closes them). REGISTER goes to `GbDeviceService.register` with the digest check handed in as a
function of the password; a Keepalive MESSAGE to `GbDeviceService.keepalive`; any other MANSCDP
body to the `on_message` hooks (the catalog service). The offline check runs on the same loop.
`send_message(device_id, body)` sends a MESSAGE (e.g. a Catalog query) to a registered device.
Media: `invite(offer, timeout_s)` / `bye(call_id)` (thread-safe; the dialogs are
`invite.DeviceMedia`'s, on this loop), also awaited on the loop by the media control socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TypeVar

from custos.adapters.sip import digest
from custos.adapters.sip.invite import DeviceMedia, LocalParty
from custos.adapters.sip.message import (
    SipMessage,
    header_param,
    new_branch,
    new_tag,
    reason_phrase,
    response_to,
    uri_user,
)
from custos.adapters.sip.transport import Peer, SipEndpoint
from custos.domain import manscdp
from custos.domain.gb_device import parse_gb_date
from custos.domain.gb_media import MediaAnswer, MediaOffer, MediaRefused
from custos.services.gb_devices import GbDeviceService, RegisterAttempt

log = logging.getLogger(__name__)

DEFAULT_EXPIRES = 3600
MANSCDP_TYPE = "Application/MANSCDP+xml"
T = TypeVar("T")


@dataclass(frozen=True)
class SipListen:
    host: str
    port: int
    udp: bool = True
    tcp: bool = True
    limit: int = 65_535
    check_every_s: float = 1.0


class GbSipServer:
    def __init__(
        self,
        devices: GbDeviceService,
        listen: SipListen,
        channel_known: Callable[[str, str], bool] | None = None,
    ) -> None:
        self._devices = devices
        self._listen = listen
        self._platform_id = devices.settings.platform_id
        self._domain = devices.settings.domain
        self._endpoint = SipEndpoint(self._handle, listen.limit)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stopping: asyncio.Event | None = None
        self._failure: BaseException | None = None
        self._peers: dict[str, Peer] = {}  # device ID → where it registered from
        self._cseq = 0
        me = LocalParty(self._platform_id, self._domain, listen.host)
        known = channel_known or (lambda _device, _channel: False)
        self.media = DeviceMedia(self._endpoint, me, self._online_peer, known)
        #: called with (device ID, parsed MANSCDP message) for every body but Keepalive
        self.on_message: list[Callable[[str, manscdp.Message], None]] = []
        #: run with the offline check (e.g. giving up catalogues that never completed)
        self.on_tick: list[Callable[[], object]] = []

    @property
    def port(self) -> int:
        return self._endpoint.port

    def start(self, timeout_s: float = 10.0) -> None:
        self._thread = threading.Thread(target=self._run, name="gb-sip", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout_s):
            raise RuntimeError("the GB/T 28181 SIP server did not start in time")
        if self._failure is not None:
            raise RuntimeError(f"the GB/T 28181 SIP server cannot listen: {self._failure}")

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread is not None:
            self._thread.join(10)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        try:
            await self._endpoint.start(self._listen.host, self._listen.port,
                                       self._listen.udp, self._listen.tcp)  # fmt: skip
        except Exception as e:  # reported to start(), which raises it
            self._failure = e
            self._ready.set()
            return
        self._ready.set()
        log.info("GB/T 28181 SIP server on port %d", self._endpoint.port)
        try:
            while not self._stopping.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self._listen.check_every_s)
                try:
                    for device_id in self._devices.check_offline():
                        self.media.end_device(device_id, "device offline")
                except Exception:  # the loop's boundary: keep serving
                    log.exception("GB offline check failed")
                self.media.forget_finished()
                for tick in self.on_tick:
                    try:
                        tick()
                    except Exception:  # the loop's boundary: keep serving
                        log.exception("GB periodic hook failed")
        finally:
            self.media.close()
            await self._endpoint.close()

    # --- requests from devices -------------------------------------------------------------

    def _handle(self, msg: SipMessage, peer: Peer) -> SipMessage | None:
        if not msg.is_request:
            if self.media.on_response(msg):
                return None
            if (msg.status or 0) >= 300:
                log.warning("GB peer %s answered %s %s", peer.address, msg.status, msg.reason)
            return None
        if msg.method == "REGISTER":
            return self._register(msg, peer)
        if msg.method == "MESSAGE":
            return self._message(msg, peer)
        if msg.method == "ACK":
            return None
        if msg.method == "BYE":
            return self.media.on_bye(msg)
        if msg.method == "OPTIONS":
            return response_to(msg, 200)
        resp = response_to(msg, 405)
        resp.add("Allow", "REGISTER, MESSAGE, OPTIONS, ACK, BYE")
        return resp

    def _register(self, msg: SipMessage, peer: Peer) -> SipMessage:
        device_id = uri_user(msg.get("To") or "") or uri_user(msg.get("From") or "") or ""
        expires = _expires(msg)
        if expires is None:
            return response_to(msg, 400, "Bad Expires")
        auth = digest.parse_digest(msg.get("Authorization") or "")
        realm_ok = auth.get("realm") == self._domain and auth.get("username") == device_id
        raw_date = msg.get("Date")
        answer = self._devices.register(
            RegisterAttempt(
                device_id=device_id,
                nonce=auth.get("nonce") if auth else None,
                digest_ok=lambda password: realm_ok and digest.verify(auth, "REGISTER", password),
                expires_s=expires,
                address=peer.address,
                transport=peer.transport,
                device_date=parse_gb_date(raw_date) if raw_date else None,
            )
        )
        resp = response_to(msg, answer.status, answer.reason)
        if answer.status == 401 and answer.nonce is not None:
            resp.add("WWW-Authenticate",
                     digest.challenge(self._domain, answer.nonce, stale=answer.stale))  # fmt: skip
        elif answer.status == 423:
            resp.add("Min-Expires", str(answer.min_expires_s))
        elif answer.status == 200:
            for contact in msg.get_all("Contact"):
                resp.add("Contact", contact)
            resp.add("Expires", str(answer.expires_s))
            resp.add("Date", answer.date)
            if answer.expires_s:
                self._peers[device_id] = peer
            else:
                self._peers.pop(device_id, None)
                self.media.end_device(device_id, "device unregistered")
        return resp

    def _message(self, msg: SipMessage, peer: Peer) -> SipMessage:
        device_id = uri_user(msg.get("From") or "") or ""
        if not self._devices.is_registered(device_id):
            log.warning("GB MESSAGE from unregistered device %r at %s", device_id[:40],
                        peer.address)  # fmt: skip
            return response_to(msg, 403, "Not registered")
        charset = header_param(msg.get("Content-Type") or "", "charset")
        try:
            body = manscdp.parse(msg.body, charset)
        except manscdp.ManscdpError as e:
            log.warning("GB MESSAGE from %s at %s refused: %s", device_id, peer.address, e)
            try:
                self._devices.bad_message(device_id, peer.address, e.field, e.reason)
            except Exception:  # the answer goes out all the same
                log.exception("cannot log the bad MANSCDP body of %s", device_id)
            return response_to(msg, 400, reason_phrase(f"Bad MANSCDP body: {e.field}: {e.reason}"))
        if isinstance(body, manscdp.Keepalive):
            if not self._devices.keepalive(device_id, peer.address):
                return response_to(msg, 403, "Not registered")
            return response_to(msg, 200)
        for hook in self.on_message:
            try:
                hook(device_id, body)
            except Exception:
                log.exception("GB on_message hook failed for %s", device_id)
        return response_to(msg, 200)

    # --- media (thread-safe) -------------------------------------------------------------------

    def invite(self, offer: MediaOffer, timeout_s: float) -> MediaAnswer:
        """INVITE the device from any thread (:class:`custos.domain.gb_media.MediaSignalling`)."""
        if self._loop is None:
            raise MediaRefused("no_signalling", "the GB/T 28181 SIP server is not running")
        try:
            return self.submit(self.media.invite(offer, timeout_s)).result(timeout_s + 5)
        except TimeoutError:
            raise MediaRefused("timeout", "the SIP server's loop did not answer") from None

    def bye(self, call_id: str) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.media.bye, call_id)

    def submit(self, coro: Coroutine[object, object, T]) -> Future[T]:
        """Run ``coro`` on the server's loop (e.g. the media control socket's start)."""
        if self._loop is None:
            coro.close()
            raise RuntimeError("the GB/T 28181 SIP server is not running")
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def _online_peer(self, device_id: str) -> Peer | None:
        """Where an online device is: the address it registered from (UDP: also after a restart,
        from its row; TCP: only on the connection it registered on)."""
        device = self._devices.online(device_id)
        if device is None:
            return None
        peer = self._peers.get(device_id)
        if peer is None and device.transport == "UDP" and device.address:
            host, _, port = device.address.rpartition(":")
            if port.isdigit() and 0 < int(port) < 65536:
                peer = Peer(host, int(port), "UDP")
        return peer

    # --- requests to devices ---------------------------------------------------------------

    def send_message(self, device_id: str, body: bytes) -> None:
        """Send a MANSCDP MESSAGE (e.g. a Catalog query) to a registered device; thread-safe.

        Queued on the server's loop, so a hook run while a REGISTER is answered sends after the
        200 OK. A device that is not registered (or gone) is logged and skipped."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._send_message, device_id, body)

    def _send_message(self, device_id: str, body: bytes) -> None:
        peer = self._peers.get(device_id)
        if peer is None:
            log.warning("GB MESSAGE to %s not sent: the device is not registered", device_id)
            return
        self._cseq += 1
        msg = SipMessage(method="MESSAGE", uri=f"sip:{device_id}@{peer.address}")
        msg.add("Via", f"SIP/2.0/{peer.transport} {self._listen.host}:{self.port};rport;"
                       f"branch={new_branch()}")  # fmt: skip
        msg.add("From", f"<sip:{self._platform_id}@{self._domain}>;tag={new_tag()}")
        msg.add("To", f"<sip:{device_id}@{self._domain}>")
        msg.add("Call-ID", f"{new_tag()}{new_tag()}@{self._domain}")
        msg.add("CSeq", f"{self._cseq} MESSAGE")
        msg.add("Max-Forwards", "70")
        msg.add("Content-Type", MANSCDP_TYPE)
        msg.body = body
        if not self._endpoint.send(msg, peer):
            log.warning("GB MESSAGE to %s at %s not sent: connection gone", device_id,
                        peer.address)  # fmt: skip


def _expires(msg: SipMessage) -> int | None:
    """The REGISTER's expiry: the Contact's `expires` parameter, else the header, else 3600."""
    raw = None
    contact = msg.get("Contact")
    if contact is not None:
        raw = header_param(contact, "expires")
    if raw is None:
        raw = msg.get("Expires")
    if raw is None:
        return DEFAULT_EXPIRES
    raw = raw.strip()
    if not raw.isdigit() or len(raw) > 10:
        return None
    return int(raw)
