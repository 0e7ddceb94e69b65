"""Loopback ports for the tests' servers and peers, from outside the kernel's ephemeral range.

A port found by binding port 0 comes from the ephemeral range (32768-60999 on Linux), the range
every outgoing connection and unbound UDP socket on the machine draws its local port from. Between
a test releasing such a port and its server binding it, any client socket may take it: CI saw a
GB/T 28181 SIP server's TCP bind fail on a port a connection had just been given. The ports here
come from below that range, each pytest-xdist worker from a block of its own, and are free for
both UDP and TCP when handed out. SeaweedFS's blocks (S3 port + 10000 for gRPC) sit below these.
"""

from __future__ import annotations

import os
import random
import socket

LOWEST = 24000
BLOCK = 900  # ports per worker: gw0..gw7 and one for a run without xdist (24000-32099)
SEAWEED_LOWEST = 12000  # S3 ports 12000-13999, their gRPC ports 22000-23999


def _worker() -> int:
    name = os.environ.get("PYTEST_XDIST_WORKER", "")
    digits = name.removeprefix("gw")
    return int(digits) % 8 if digits.isdigit() else 8


_start = LOWEST + _worker() * BLOCK
_cursor = random.randrange(BLOCK)


def _free(port: int) -> bool:
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A loopback port free for TCP and UDP alike (`kind` is accepted for the callers' clarity)."""
    del kind
    global _cursor
    for _ in range(BLOCK):
        _cursor = (_cursor + 1) % BLOCK
        port = _start + _cursor
        if _free(port):
            return port
    raise RuntimeError(f"no free loopback port in {_start}-{_start + BLOCK - 1}")


def seaweed_base(span: int) -> int:
    """The S3 port of a SeaweedFS block: this worker's own 200 ports below the free_port range."""
    first = SEAWEED_LOWEST + (_worker() * 200)
    return first + random.randrange(0, 200 - span)
