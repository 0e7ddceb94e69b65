"""The SIP endpoint over real UDP and TCP sockets: a truncated message gets 400, an oversized one
513, garbage is dropped, and the endpoint keeps answering afterwards."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator

import pytest

from custos.adapters.sip.message import SipMessage, response_to
from custos.adapters.sip.transport import Peer, SipEndpoint
from tests.ports import free_port

OPTIONS = (
    "OPTIONS sip:34020000002000000001@3402000000 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKt1\r\n"
    "From: <sip:34020000001180000001@3402000000>;tag=1\r\n"
    "To: <sip:34020000002000000001@3402000000>\r\n"
    "Call-ID: t1\r\nCSeq: 1 OPTIONS\r\nContent-Length: {n}\r\n\r\n"
)


HANDLED: list[str] = []


def _ok(msg: SipMessage, peer: Peer) -> SipMessage | None:
    HANDLED.append(msg.call_id)
    return response_to(msg, 200) if msg.is_request else None


@pytest.fixture
def endpoint() -> Iterator[int]:
    ep = SipEndpoint(_ok, limit=4096)
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(ep.start("127.0.0.1", 0))
        ready.set()
        loop.run_forever()
        loop.run_until_complete(ep.close())
        loop.close()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    assert ready.wait(5)
    yield ep.port
    loop.call_soon_threadsafe(loop.stop)
    t.join(5)


def _udp(port: int, data: bytes) -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(1.0)
        s.sendto(data, ("127.0.0.1", port))
        try:
            return s.recv(65535).decode()
        except TimeoutError:
            return None


def _status(answer: str | None) -> str:
    return (answer or "").split("\r\n", 1)[0]


def test_udp_truncated_oversized_and_garbage(endpoint: int) -> None:
    whole = OPTIONS.format(n=10).encode() + b"0123456789"
    assert _status(_udp(endpoint, whole)) == "SIP/2.0 200 OK"
    assert _status(_udp(endpoint, whole[:-4])).startswith("SIP/2.0 400 truncated")
    big = OPTIONS.format(n=5000).encode() + b"x" * 5000
    assert _status(_udp(endpoint, big)).startswith("SIP/2.0 513")
    assert _udp(endpoint, b"\x16\x03\x01 not sip at all\r\n\r\n") is None  # no Via: dropped
    assert _status(_udp(endpoint, whole)) == "SIP/2.0 200 OK"  # still serving


def test_tcp_framing_pipelining_and_oversize(endpoint: int) -> None:
    one = OPTIONS.format(n=3).encode() + b"abc"
    with socket.create_connection(("127.0.0.1", endpoint), timeout=2) as s:
        s.sendall(b"\r\n\r\n" + one + one[:20])  # a CRLF keepalive, one whole, one partial
        s.sendall(one[20:])
        got = b""
        while got.count(b"SIP/2.0 200 OK") < 2:
            got += s.recv(65535)
    with socket.create_connection(("127.0.0.1", endpoint), timeout=2) as s:
        s.sendall(OPTIONS.format(n=9000).encode())
        answer = s.recv(65535).decode()
        assert _status(answer).startswith("SIP/2.0 513")
        assert s.recv(100) == b""  # and the connection is closed


def test_a_retransmitted_request_gets_the_same_answer_without_being_handled_again(
    endpoint: int,
) -> None:
    again = OPTIONS.format(n=0).replace("Call-ID: t1", "Call-ID: retrans-1").encode()
    first, second = _udp(endpoint, again), _udp(endpoint, again)
    assert first is not None and first == second  # the same To tag: one transaction
    assert HANDLED.count("retrans-1") == 1


def test_a_start_whose_tcp_port_is_taken_fails_and_leaves_the_udp_port_free() -> None:
    """CI once saw the UDP half of a failed start left bound until garbage collection."""
    port = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        ep = SipEndpoint(_ok)
        with pytest.raises(OSError, match="address already in use"):
            asyncio.run(ep.start("127.0.0.1", port))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind(("127.0.0.1", port))  # raises EADDRINUSE if the failed start kept it
