"""Requests between the servers of a cluster (docs/design/cluster.md, "Live view and playback
from any server"): where a recorder node is reached, and how a request to it is signed with the
shared cluster secret.

A request carries its time (Unix seconds) and the hex HMAC-SHA256, under the secret, of
``METHOD\\nPATH\\nTIME`` (the path with its query). The receiver refuses a time more than
:data:`MAX_AGE_S` from its own clock, either way, and compares signatures in constant time. Pure:
the caller passes the time.
"""

from __future__ import annotations

import enum
import hashlib
import hmac

TIME_HEADER = "X-Custos-Time"
SIGNATURE_HEADER = "X-Custos-Signature"
MAX_AGE_S = 30
MIN_SECRET_CHARS = 32
_MAX_TIME_DIGITS = 12  # Unix seconds until the year 33658: anything longer is not a time


class Verdict(enum.StrEnum):
    ACCEPTED = "accepted"
    UNSIGNED = "unsigned"  # a header missing: 401
    EXPIRED = "expired"  # the time is more than MAX_AGE_S away: 403
    FORGED = "forged"  # the signature does not match: 403


def split_address(address: str) -> tuple[str, int]:
    """``"host:port"`` (``"[::1]:port"`` for IPv6) → ``(host, port)``; ValueError naming the
    rule otherwise."""
    host, sep, port = address.strip().rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port.isdigit() or len(port) > 5 or int(port) > 65535:
        raise ValueError(f"node address {address!r}: host:port, the port 0 to 65535")
    if any(ch in host for ch in "/@?#[] \t"):
        raise ValueError(f"node address {address!r}: a host name or IP address, then :port")
    return host, int(port)


def signature(secret: bytes, method: str, path: str, at: int) -> str:
    """The hex HMAC-SHA256 of ``METHOD\\nPATH\\nTIME`` under ``secret``."""
    message = f"{method.upper()}\n{path}\n{at}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def signed_headers(secret: bytes, method: str, path: str, now: float) -> dict[str, str]:
    """The headers that sign a request made at ``now`` (Unix seconds)."""
    at = int(now)
    return {TIME_HEADER: str(at), SIGNATURE_HEADER: signature(secret, method, path, at)}


def verify(
    secret: bytes,
    method: str,
    path: str,
    time_header: str | None,
    signature_header: str | None,
    now: float,
) -> Verdict:
    """Whether a request's headers sign ``method`` and ``path`` under ``secret`` at a time
    within :data:`MAX_AGE_S` of ``now`` (Unix seconds)."""
    if not time_header or not signature_header:
        return Verdict.UNSIGNED
    text = time_header.strip()
    if not text.isdigit() or len(text) > _MAX_TIME_DIGITS:
        return Verdict.FORGED
    at = int(text)
    if abs(now - at) > MAX_AGE_S:
        return Verdict.EXPIRED
    expected = signature(secret, method, path, at)
    given = signature_header.strip().lower()
    if not hmac.compare_digest(expected.encode(), given.encode("ascii", "replace")):
        return Verdict.FORGED
    return Verdict.ACCEPTED
