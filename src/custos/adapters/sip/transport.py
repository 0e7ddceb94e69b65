"""SIP over UDP and TCP on asyncio (RFC 3261 §18), for the server and the client side.

One `SipEndpoint` listens on UDP and/or TCP at one port and hands each whole message to a
handler; what the handler returns is sent back to the peer. A datagram is one message; a TCP
stream is framed by Content-Length (`message.frame_length`). A message over the size limit is
answered 513, a truncated or garbled one 400 (when its Via can be read — else it is dropped), and
each is logged with the peer's address. Nothing a peer sends stops the endpoint.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

from custos.adapters.sip.message import (
    MAX_MESSAGE_BYTES,
    SipMessage,
    SipParseError,
    canonical,
    frame_length,
    header_param,
    parse,
    response_to,
)

log = logging.getLogger(__name__)

#: how long an answer is re-sent to retransmissions (64 x T1, Timer J), and how many are kept
ANSWER_KEPT_S = 32.0
ANSWERS_KEPT = 50_000


@dataclass
class Peer:
    host: str
    port: int
    transport: str  # "UDP" or "TCP"
    _writer: asyncio.StreamWriter | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


Handler = Callable[[SipMessage, Peer], SipMessage | None]


def bad_message_answer(data: bytes, error: SipParseError) -> SipMessage | None:
    """A 400/513 answer to a message we cannot parse, if its transaction headers can be read."""
    head = data[:8192].split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace").split("\r\n")
    if not head or head[0].startswith("SIP/2.0"):
        return None  # never answer a response
    resp = SipMessage(status=error.status, reason=error.reason[:100].replace("\r", " "))
    for line in head[1:]:
        name, sep, value = line.partition(":")
        if sep and canonical(name) in ("Via", "From", "To", "Call-ID", "CSeq"):
            resp.add(name, value.strip())
    if resp.get("Via") is None or resp.get("CSeq") is None:
        return None
    return resp


def _transaction_key(msg: SipMessage) -> tuple[str, str, str] | None:
    """A server transaction's key (RFC 3261 §17.2.3): top Via branch, Call-ID, CSeq (ACK none)."""
    if not msg.is_request or msg.method == "ACK":
        return None
    branch = header_param(msg.get("Via") or "", "branch") or ""
    return (branch, msg.call_id, msg.get("CSeq") or "")


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, endpoint: SipEndpoint) -> None:
        self._endpoint = endpoint
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if not data.strip(b"\r\n"):
            return  # a CRLF keepalive
        peer = Peer(addr[0], addr[1], "UDP")
        self._endpoint.received(data, peer)


class SipEndpoint:
    """Listens on `host:port` (UDP, TCP or both); `port=0` picks a free one (see `port`)."""

    def __init__(self, handler: Handler, limit: int = MAX_MESSAGE_BYTES) -> None:
        self._handler = handler
        self._limit = limit
        self._udp: _Udp | None = None
        self._tcp: asyncio.Server | None = None
        self._tcp_peers: dict[tuple[str, int], asyncio.StreamWriter] = {}
        #: answers to requests by transaction, re-sent to retransmissions (insertion-ordered)
        self._answered: dict[tuple[str, str, str], tuple[float, SipMessage]] = {}
        self.port = 0

    async def start(self, host: str, port: int, udp: bool = True, tcp: bool = True) -> None:
        loop = asyncio.get_running_loop()
        if udp:
            _, proto = await loop.create_datagram_endpoint(
                lambda: _Udp(self), local_addr=(host, port)
            )
            self._udp = proto
            assert proto.transport is not None
            port = proto.transport.get_extra_info("sockname")[1]
        if tcp:
            try:
                self._tcp = await asyncio.start_server(self._tcp_client, host, port)
            except OSError:
                await self.close()  # the UDP half bound: it must not outlive the failed start
                raise
            port = self._tcp.sockets[0].getsockname()[1]
        self.port = port

    async def close(self) -> None:
        if self._udp is not None and self._udp.transport is not None:
            self._udp.transport.close()
            self._udp = None
        for writer in list(self._tcp_peers.values()):
            writer.close()
        if self._tcp is not None:
            self._tcp.close()
            await self._tcp.wait_closed()

    def received(self, data: bytes, peer: Peer) -> None:
        try:
            msg = parse(data, self._limit)
            key = _transaction_key(msg)
        except SipParseError as e:
            log.warning("SIP %s from %s refused (%d): %s", peer.transport, peer.address,
                        e.status, e.reason)  # fmt: skip
            answer = bad_message_answer(data, e)
            if answer is not None:
                self.send(answer, peer)
            return
        if key is not None and key in self._answered:  # a retransmission (§17.2.2): same answer
            self.send(self._answered[key][1], peer)
            return
        try:
            reply = self._handler(msg, peer)
        except Exception:  # the endpoint's boundary: answer 500, keep serving
            log.exception("SIP handler failed on %r from %s", msg, peer.address)
            reply = None
            if msg.is_request and msg.method != "ACK":
                reply = response_to(msg, 500)
        if reply is not None:
            if key is not None:
                self._remember(key, reply)
            self.send(reply, peer)

    def _remember(self, key: tuple[str, str, str], reply: SipMessage) -> None:
        now = time.monotonic()
        self._answered[key] = (now + ANSWER_KEPT_S, reply)
        while self._answered:
            oldest_key, (until, _) = next(iter(self._answered.items()))
            if until > now and len(self._answered) <= ANSWERS_KEPT:
                break
            del self._answered[oldest_key]

    def send(self, msg: SipMessage, peer: Peer) -> bool:
        """Send to a peer: UDP datagram, or on its TCP connection (False if that is gone)."""
        data = msg.to_bytes()
        if peer.transport == "UDP":
            if self._udp is None or self._udp.transport is None:
                return False
            self._udp.transport.sendto(data, (peer.host, peer.port))
            return True
        writer = peer._writer or self._tcp_peers.get((peer.host, peer.port))
        if writer is None or writer.is_closing():
            return False
        writer.write(data)
        return True

    async def _tcp_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        host, port = writer.get_extra_info("peername")[:2]
        peer = Peer(host, port, "TCP", writer)
        self._tcp_peers[(host, port)] = writer
        buffer = b""
        try:
            while True:
                chunk = await reader.read(65536)
                if not chunk:
                    return
                buffer += chunk
                while True:
                    while buffer.startswith(b"\r\n"):  # CRLF keepalives between messages
                        buffer = buffer[2:]
                    try:
                        size = frame_length(buffer, self._limit)
                    except SipParseError as e:
                        log.warning("SIP TCP from %s refused (%d): %s; closing", peer.address,
                                    e.status, e.reason)  # fmt: skip
                        answer = bad_message_answer(buffer, e)
                        if answer is not None:
                            self.send(answer, peer)
                        await writer.drain()
                        return
                    if size is None:
                        break
                    message, buffer = buffer[:size], buffer[size:]
                    self.received(message, peer)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            self._tcp_peers.pop((host, port), None)
            writer.close()
