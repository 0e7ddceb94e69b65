"""The cascade's SIP link to one upper platform over UDP or TCP (issue 12 §2): the
:class:`UpperLink` port of :mod:`custos.services.gb_cascade_client`.

Custos is the UAC for REGISTER (answering a 401 with digest) and the keepalive MESSAGE, and the
UAS for what the upper platform sends on the same socket: a Catalog query (200, then the shared
cameras as Catalog response MESSAGEs of a few items each, carrying ``SumNum``), a DeviceInfo query
(about Custos itself), and INVITE / ACK / BYE for live video and playback of shared cameras
(:mod:`custos.adapters.sip.cascade_media`; without its configuration a shared camera's INVITE
gets 488). A camera not shared with the platform gets 403. Every INVITE and query answered is in
the operation log.
"""

from __future__ import annotations

import logging
import secrets
import socket
import time
from typing import Any, Protocol

from custos.adapters.sip import digest
from custos.adapters.sip.cascade_catalog import (
    LocalIdentity as LocalIdentity,  # re-exported: where callers have always found it
)
from custos.adapters.sip.cascade_catalog import (
    catalog_pages,
    device_info,
    encode_gb2312,
)
from custos.adapters.sip.cascade_media import UpwardDialogs, UpwardMediaConfig
from custos.adapters.sip.message import (
    SipMessage,
    SipParseError,
    frame_length,
    new_branch,
    new_tag,
    parse,
    reason_phrase,
    response_to,
    uri_user,
)
from custos.domain import manscdp
from custos.domain.gb_cascade import MAX_EXPIRY_S, Transport, UpperPlatform
from custos.domain.manscdp_build import build_keepalive
from custos.services.gb_cascade import CatalogEntry
from custos.services.gb_cascade_client import LinkAnswer

log = logging.getLogger(__name__)

RETRANSMIT_S = (0.5, 1.0, 2.0)  # RFC 3261 timer E doubling, ~3.5 s until timeout
MAX_DATAGRAM = 65_535


class CascadeAnswers(Protocol):
    def catalog(self, platform_id: int) -> list[CatalogEntry]: ...
    def is_shared(self, platform_id: int, device_id: str) -> bool: ...
    def log_link_event(
        self, platform: UpperPlatform, action: str, detail: dict[str, Any], refused: bool
    ) -> None: ...


class UdpUpperLink:
    transport = "UDP"

    def __init__(
        self,
        platform: UpperPlatform,
        me: LocalIdentity,
        answers: CascadeAnswers,
        bind_host: str,
        contact_host: str | None = None,
        retransmit_s: tuple[float, ...] = RETRANSMIT_S,
        media: UpwardMediaConfig | None = None,
    ) -> None:
        self._p = platform
        self._me = me
        self._answers = answers
        self._retransmit = retransmit_s
        self._peer = (platform.host, platform.port)
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            probe.connect(self._peer)  # no packet: only asks the kernel for the route's address
            local_ip = probe.getsockname()[0]
            self._peer_ip: str = probe.getpeername()[0]
        finally:
            probe.close()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind((bind_host, 0))
        self._port: int = self._sock.getsockname()[1]
        self._host = contact_host or local_ip
        self._call_id = f"{secrets.token_hex(8)}@{self._host}"
        self._tag = new_tag()
        self._cseq = 0
        self._pending: list[tuple[SipMessage, tuple[str, int]]] = []
        self._min_expires = 0  # the upper platform's Min-Expires, once it has sent a 423
        self._dialogs = (
            UpwardDialogs(platform, me.sip_id, answers, media, self._host) if media else None
        )

    @property
    def local_port(self) -> int:
        return self._port

    # --- Custos as UAC -------------------------------------------------------------------------

    def register(self, expires: int) -> LinkAnswer:
        """REGISTER (with the digest round); a 423 Interval Too Brief is answered at once by a
        REGISTER with ``Expires`` = its ``Min-Expires`` (at most our maximum, 86,400 s), logged,
        and remembered for the refreshes. The answer carries the expiry sent."""
        if expires:
            expires = max(expires, self._min_expires)
        resp = self._register_round(expires)
        if isinstance(resp, LinkAnswer):
            return resp
        if resp is not None and resp.status == 423 and expires:
            floor = _min_expires(resp)
            if floor is None or floor <= expires:
                return LinkAnswer(False, f"423 without a Min-Expires above {expires}")
            if floor > MAX_EXPIRY_S:
                return LinkAnswer(False, f"423: Min-Expires {floor} above our {MAX_EXPIRY_S} s")
            self._answers.log_link_event(
                self._p, "gb_cascade.interval_too_brief",
                {"expires": expires, "min_expires": floor}, refused=False,
            )  # fmt: skip
            log.info("upper platform %s: Min-Expires %d, registering again", self._p.sip_id, floor)
            self._min_expires = expires = floor
            resp = self._register_round(expires)
            if isinstance(resp, LinkAnswer):
                return resp
        answer = _answer(resp)
        return LinkAnswer(answer.ok, answer.error, expires) if answer.ok else answer

    def _register_round(self, expires: int) -> SipMessage | LinkAnswer | None:
        """The final answer to REGISTER (after the digest round); a LinkAnswer when a challenge
        cannot be answered."""
        req = self._register_request(expires)
        resp = self._transact(req)
        if resp is not None and resp.status in (401, 407):
            header = "WWW-Authenticate" if resp.status == 401 else "Proxy-Authenticate"
            challenge = resp.get(header)
            if challenge is None:
                return LinkAnswer(False, f"{resp.status} without {header}")
            req = self._register_request(expires)
            req.add(
                "Authorization" if resp.status == 401 else "Proxy-Authorization",
                digest.authorization(
                    challenge, method="REGISTER", uri=req.uri or "",
                    username=self._me.sip_id, password=self._p.password,
                ),
            )  # fmt: skip
            resp = self._transact(req)
        return resp

    def keepalive(self, sn: int) -> LinkAnswer:
        return _answer(self._transact(self._message(build_keepalive(sn, self._me.sip_id))))

    def serve(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while self._pending:
            self._handle(*self._pending.pop(0))
        while (left := deadline - time.monotonic()) > 0:
            got = self._receive(left)
            if got is not None and got[0].is_request:
                self._handle(*got)
        if self._dialogs is not None:
            self._dialogs.tick()
            for request in self._dialogs.requests(self._via()):
                self._transact(request)  # MediaStatus at a playback's end, or our BYE

    @property
    def dialogs(self) -> UpwardDialogs | None:
        return self._dialogs

    def close(self) -> None:
        self._close_media()
        self._sock.close()

    def _close_media(self) -> None:
        if self._dialogs is not None:
            self._dialogs.close()

    # --- Custos as UAS -------------------------------------------------------------------------

    def _handle(self, req: SipMessage, addr: tuple[str, int]) -> None:
        method = req.method or ""
        if method == "MESSAGE":
            self._on_message(req, addr)
        elif method == "INVITE" and self._dialogs is not None:
            contact = f"<sip:{self._me.sip_id}@{self._host}:{self._port}>"
            self._dialogs.on_invite(req, contact, lambda resp: self._send(resp, addr))
        elif method == "INVITE":
            self._on_invite(req, addr)
        elif method == "ACK":
            if self._dialogs is not None:
                self._dialogs.on_ack(req)
        elif method == "OPTIONS":
            self._send(response_to(req, 200), addr)
        elif method == "BYE":
            bye = self._dialogs.on_bye(req) if self._dialogs else response_to(req, 481)
            self._send(bye, addr)
        else:
            resp = response_to(req, 405)
            resp.add("Allow", "MESSAGE, INVITE, ACK, BYE, OPTIONS")
            self._send(resp, addr)

    def _on_message(self, req: SipMessage, addr: tuple[str, int]) -> None:
        charset = _charset(req.get("Content-Type"))
        try:
            msg = manscdp.parse(req.body, charset)
        except manscdp.ManscdpError as exc:
            reason = reason_phrase(f"Bad MANSCDP: {exc.field}: {exc.reason}")
            self._send(response_to(req, 400, reason), addr)
            detail = {"field": exc.field, "reason": exc.reason[:300], "call_id": req.call_id,
                      "address": f"{addr[0]}:{addr[1]}"}  # fmt: skip
            self._answers.log_link_event(self._p, "gb_cascade.bad_message", detail, refused=True)
            return
        if not isinstance(msg, manscdp.Query):
            self._send(response_to(req, 200), addr)
            return
        self._send(response_to(req, 200), addr)
        cmd, sn = msg.header.cmd_type, msg.header.sn
        if cmd == "Catalog":
            entries = self._answers.catalog(self._p.id or 0)
            for page in catalog_pages(self._me.sip_id, sn, entries):
                self._transact(self._message(page))  # each part waits for its 200
            self._answers.log_link_event(
                self._p, "gb_cascade.catalog", {"sn": sn, "sum_num": len(entries)}, refused=False
            )
        elif cmd == "DeviceInfo":
            self._transact(self._message(encode_gb2312(device_info(self._me, sn))))
        else:
            log.info("upper platform %s: query %s not answered", self._p.sip_id, cmd)

    def _on_invite(self, req: SipMessage, addr: tuple[str, int]) -> None:
        channel = uri_user(req.uri or "") or ""
        shared = self._answers.is_shared(self._p.id or 0, channel)
        detail = {"channel_id": channel, "call_id": req.call_id}
        if not shared:
            self._send(response_to(req, 403, "Camera not shared with this platform"), addr)
            self._answers.log_link_event(self._p, "gb_cascade.invite", detail, refused=True)
            log.warning("upper platform %s INVITEd unshared %s", self._p.sip_id, channel)
            return
        self._send(response_to(req, 488, "Media not served yet (issue 12 later round)"), addr)
        self._answers.log_link_event(
            self._p, "gb_cascade.invite", {**detail, "answer": 488}, refused=True
        )

    # --- transactions ------------------------------------------------------------------------

    def _register_request(self, expires: int) -> SipMessage:
        self._cseq += 1
        me = f"<sip:{self._me.sip_id}@{self._me.domain}>"
        req = SipMessage(method="REGISTER", uri=f"sip:{self._p.sip_id}@{self._p.domain}")
        req.add("Via", self._via())
        req.add("From", f"{me};tag={self._tag}")
        req.add("To", me)
        req.add("Call-ID", self._call_id)
        req.add("CSeq", f"{self._cseq} REGISTER")
        req.add("Contact", f"<sip:{self._me.sip_id}@{self._host}:{self._port}>")
        req.add("Max-Forwards", "70")
        req.add("User-Agent", "Custos")
        req.add("Expires", str(expires))
        return req

    def _message(self, body: bytes) -> SipMessage:
        self._cseq += 1
        req = SipMessage(method="MESSAGE", uri=f"sip:{self._p.sip_id}@{self._p.domain}")
        req.add("Via", self._via())
        req.add("From", f"<sip:{self._me.sip_id}@{self._me.domain}>;tag={new_tag()}")
        req.add("To", f"<sip:{self._p.sip_id}@{self._p.domain}>")
        req.add("Call-ID", f"{secrets.token_hex(8)}@{self._host}")
        req.add("CSeq", f"{self._cseq} MESSAGE")
        req.add("Max-Forwards", "70")
        req.add("Content-Type", "Application/MANSCDP+xml")
        req.body = body
        return req

    def _via(self) -> str:
        return f"SIP/2.0/{self.transport} {self._host}:{self._port};rport;branch={new_branch()}"

    def _waits(self) -> tuple[float, ...]:
        return self._retransmit  # timer E: retransmit after each

    def _transact(self, req: SipMessage) -> SipMessage | None:
        """Send (retransmitting over UDP) until a final response; None on timeout or when the
        connection cannot be made."""
        cseq = req.cseq
        for wait in self._waits():
            try:
                self._write(req.to_bytes(), self._peer)
            except OSError as exc:
                log.info("upper platform %s: %s", self._p.sip_id, exc)
                return None
            deadline = time.monotonic() + wait
            while (left := deadline - time.monotonic()) > 0:
                got = self._receive(left)
                if got is None:
                    continue
                msg, addr = got
                if msg.is_request:
                    self._pending.append((msg, addr))
                elif msg.call_id == req.call_id and msg.cseq == cseq and (msg.status or 0) >= 200:
                    return msg
        return None

    def _read(self, timeout: float) -> tuple[bytes, tuple[str, int]] | None:
        self._sock.settimeout(max(timeout, 0.001))
        try:
            data, addr = self._sock.recvfrom(MAX_DATAGRAM)
        except (TimeoutError, ConnectionRefusedError):
            return None
        except OSError as exc:
            log.info("upper platform %s: %s", self._p.sip_id, exc)
            return None
        return data, (addr[0], addr[1])

    def _write(self, data: bytes, addr: tuple[str, int]) -> None:
        self._sock.sendto(data, addr)

    def _receive(self, timeout: float) -> tuple[SipMessage, tuple[str, int]] | None:
        got = self._read(timeout)
        if got is None:
            return None
        data, addr = got
        if addr[0] != self._peer_ip:  # only the upper platform speaks on this link
            log.warning("upper platform %s: message from %s dropped", self._p.sip_id, addr[0])
            return None
        try:
            return parse(data), addr
        except SipParseError as exc:
            log.warning("upper platform %s sent an unreadable message: %s", self._p.sip_id, exc)
            return None

    def _send(self, msg: SipMessage, addr: tuple[str, int]) -> None:
        try:
            self._write(msg.to_bytes(), addr)
        except OSError as exc:
            log.info("upper platform %s: answer not sent: %s", self._p.sip_id, exc)


class TcpUpperLink(UdpUpperLink):
    """The same link over one TCP connection (RFC 3261 §18: no retransmission; messages framed
    by Content-Length), made on the first request and again after it is lost."""

    transport = "TCP"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._udp = self._sock
        self._conn: socket.socket | None = None
        self._buffer = b""

    def _waits(self) -> tuple[float, ...]:
        return (sum(self._retransmit),)

    def _connected(self) -> socket.socket:
        if self._conn is None:
            conn = socket.create_connection(self._peer, timeout=sum(self._retransmit))
            self._port = conn.getsockname()[1]
            self._conn, self._buffer = conn, b""
        return self._conn

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = None

    def _write(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            self._connected().sendall(data)
        except OSError:
            self._drop()
            raise

    def _read(self, timeout: float) -> tuple[bytes, tuple[str, int]] | None:
        deadline = time.monotonic() + timeout
        while True:
            self._buffer = self._buffer.lstrip(b"\r\n")
            try:
                size = frame_length(self._buffer)
            except SipParseError as exc:
                log.warning("upper platform %s: unframeable stream: %s", self._p.sip_id, exc)
                self._drop()
                return None
            if size is not None:
                data, self._buffer = self._buffer[:size], self._buffer[size:]
                return data, (self._peer_ip, self._peer[1])
            left = deadline - time.monotonic()
            if self._conn is None or left <= 0:
                if self._conn is None:
                    time.sleep(max(0.0, min(left, 0.05)))
                return None
            self._conn.settimeout(max(left, 0.001))
            try:
                chunk = self._conn.recv(65_536)
            except TimeoutError:
                return None
            except OSError:
                self._drop()
                return None
            if not chunk:
                self._drop()
                return None
            self._buffer += chunk

    def close(self) -> None:
        self._close_media()
        self._drop()
        self._udp.close()


def open_link(
    platform: UpperPlatform,
    me: LocalIdentity,
    answers: CascadeAnswers,
    bind_host: str,
    retransmit_s: tuple[float, ...] = RETRANSMIT_S,
    media: UpwardMediaConfig | None = None,
) -> UdpUpperLink:
    """The link for the platform's configured transport (serving media when ``media`` is
    given)."""
    kind = TcpUpperLink if platform.transport is Transport.TCP else UdpUpperLink
    return kind(platform, me, answers, bind_host, retransmit_s=retransmit_s, media=media)


def _charset(content_type: str | None) -> str | None:
    for part in (content_type or "").split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip('"')
    return None


def _min_expires(resp: SipMessage) -> int | None:
    value = (resp.get("Min-Expires") or "").strip()
    return int(value) if value.isdigit() and len(value) <= 9 else None


def _answer(resp: SipMessage | None) -> LinkAnswer:
    if resp is None:
        return LinkAnswer(False, "no answer (timeout)")
    if resp.status == 200:
        return LinkAnswer(True)
    return LinkAnswer(False, f"{resp.status} {resp.reason}")
