"""SIP messages (RFC 3261 §7): parse and serialize, small on purpose (docs/design/gb28181.md).

`parse(data)` reads one whole message (a UDP datagram, or one framed from a TCP stream by
`frame_length`) and raises `SipParseError` carrying the status to answer (400, or 513 when too
big). Header names are kept canonical (compact forms expanded); folded header lines are unfolded;
Content-Length must match the body exactly when present (a datagram without one takes the rest).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

MAX_MESSAGE_BYTES = 65_535

COMPACT = {
    "v": "Via",
    "f": "From",
    "t": "To",
    "i": "Call-ID",
    "m": "Contact",
    "l": "Content-Length",
    "c": "Content-Type",
    "k": "Supported",
    "s": "Subject",
    "e": "Content-Encoding",
}
_CANONICAL = {
    name.lower(): name
    for name in (
        "Via",
        "From",
        "To",
        "Call-ID",
        "CSeq",
        "Contact",
        "Content-Length",
        "Content-Type",
        "Max-Forwards",
        "Expires",
        "Min-Expires",
        "WWW-Authenticate",
        "Authorization",
        "User-Agent",
        "Date",
        "Subject",
        "Supported",
        "Allow",
        "Route",
        "Record-Route",
        "Content-Encoding",
        "Server",
    )
}

REASONS = {
    100: "Trying",
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    415: "Unsupported Media Type",
    423: "Interval Too Brief",
    481: "Call/Transaction Does Not Exist",
    500: "Server Internal Error",
    513: "Message Too Large",
}


class SipParseError(ValueError):
    """A message we cannot read; `status` is what to answer (400 Bad Request or 513 Too Large)."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


def canonical(name: str) -> str:
    low = name.strip().lower()
    if low in COMPACT:
        return COMPACT[low]
    return _CANONICAL.get(low, "-".join(p.capitalize() for p in low.split("-")))


@dataclass
class SipMessage:
    """A request (`method` set) or a response (`status` set); headers in order, names canonical."""

    method: str | None = None
    uri: str | None = None
    status: int | None = None
    reason: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    @property
    def is_request(self) -> bool:
        return self.method is not None

    def get(self, name: str) -> str | None:
        key = canonical(name)
        for n, v in self.headers:
            if n == key:
                return v
        return None

    def get_all(self, name: str) -> list[str]:
        key = canonical(name)
        return [v for n, v in self.headers if n == key]

    def add(self, name: str, value: str) -> None:
        self.headers.append((canonical(name), value))

    def set(self, name: str, value: str) -> None:
        key = canonical(name)
        self.headers = [(n, v) for n, v in self.headers if n != key]
        self.headers.append((key, value))

    def remove(self, name: str) -> None:
        key = canonical(name)
        self.headers = [(n, v) for n, v in self.headers if n != key]

    @property
    def call_id(self) -> str:
        return self.get("Call-ID") or ""

    @property
    def cseq(self) -> tuple[int, str]:
        raw = (self.get("CSeq") or "").split()
        if len(raw) != 2 or not raw[0].isdigit():
            return (0, "")
        return (int(raw[0]), raw[1].upper())

    def to_bytes(self) -> bytes:
        if self.method is not None:
            start = f"{self.method} {self.uri} SIP/2.0"
        else:
            start = f"SIP/2.0 {self.status} {self.reason or REASONS.get(self.status or 0, '')}"
        lines = [start]
        lines += [f"{n}: {v}" for n, v in self.headers if n != "Content-Length"]
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + self.body

    def __repr__(self) -> str:  # never the Authorization header's response or the body
        head = self.method or str(self.status)
        return f"SipMessage({head} {self.uri or self.reason!s} call-id={self.call_id!r})"


def response_to(
    req: SipMessage, status: int, reason: str = "", to_tag: str | None = None
) -> SipMessage:
    """A response copying Via, From, To (with a tag), Call-ID and CSeq from the request (§8.2.6)."""
    resp = SipMessage(status=status, reason=reason or REASONS.get(status, ""))
    for name in ("Via", "From", "To", "Call-ID", "CSeq"):
        for value in req.get_all(name):
            if name == "To" and status > 100 and ";tag=" not in value.replace(" ", ""):
                value = f"{value};tag={to_tag or new_tag()}"
            resp.add(name, value)
    return resp


def reason_phrase(text: str, limit: int = 120) -> str:
    """``text`` fit for a status line's reason phrase: control characters (CR, LF …) become
    spaces, runs of white space one, at most ``limit`` characters."""
    clean = "".join(ch if ch.isprintable() else " " for ch in text)
    return " ".join(clean.split())[:limit]


def new_tag() -> str:
    return secrets.token_hex(6)


def new_branch() -> str:
    return "z9hG4bK" + secrets.token_hex(8)


def header_param(value: str, name: str) -> str | None:
    """`;name=value` from a header such as Via or To (`tag`, `branch`, `expires`, `received`)."""
    for part in value.split(";")[1:]:
        key, _, val = part.partition("=")
        if key.strip().lower() == name.lower():
            return val.strip().strip('"')
    return None


def uri_user(value: str) -> str | None:
    """The user part of the SIP URI inside a From/To/Contact value (`<sip:user@host>`)."""
    start = value.find("sip:")
    if start < 0:
        return None
    rest = value[start + 4 :]
    at = rest.find("@")
    end = min((i for i in (rest.find(">"), rest.find(";")) if i >= 0), default=len(rest))
    if at < 0 or at > end:
        return None
    return rest[:at]


def frame_length(buffer: bytes, limit: int = MAX_MESSAGE_BYTES) -> int | None:
    """How many bytes of a TCP stream buffer make the first whole message (None: need more).

    Raises `SipParseError` when the head is over `limit` or Content-Length is missing or bad
    (on a stream, Content-Length is mandatory: RFC 3261 §18.3)."""
    while buffer.startswith(b"\r\n"):  # keepalive CRLFs between messages
        buffer = buffer[2:]
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        if len(buffer) > limit:
            raise SipParseError("message head over the size limit", 513)
        return None
    head = buffer[:end].decode("utf-8", "replace")
    length = _content_length(head.split("\r\n")[1:])
    if length is None:
        raise SipParseError("Content-Length missing on a stream transport")
    total = end + 4 + length
    if total > limit:
        raise SipParseError(f"message of {total} bytes over the limit of {limit}", 513)
    if len(buffer) < total:
        return None
    return total


def _content_length(lines: list[str]) -> int | None:
    for line in lines:
        name, sep, value = line.partition(":")
        if sep and canonical(name) == "Content-Length":
            value = value.strip()
            if not value.isdigit() or len(value) > 9:
                raise SipParseError(f"Content-Length {value!r} is not a number")
            return int(value)
    return None


def parse(data: bytes, limit: int = MAX_MESSAGE_BYTES) -> SipMessage:
    if len(data) > limit:
        raise SipParseError(f"message of {len(data)} bytes over the limit of {limit}", 513)
    data = data.lstrip(b"\r\n")
    end = data.find(b"\r\n\r\n")
    if end < 0:
        raise SipParseError("truncated: no blank line after the headers")
    try:
        head = data[:end].decode("utf-8")
    except UnicodeDecodeError as e:
        raise SipParseError("headers are not UTF-8") from e
    body = data[end + 4 :]
    lines = _unfold(head.split("\r\n"))
    msg = _start_line(lines[0])
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name.strip() or " " in name.strip():
            raise SipParseError(f"malformed header line {line[:40]!r}")
        msg.headers.append((canonical(name), value.strip()))
    length = _content_length(lines[1:])
    if length is not None:
        if length > len(body):
            raise SipParseError(f"truncated: Content-Length {length} but {len(body)} body bytes")
        if length < len(body) and body[length:].strip(b"\r\n"):
            raise SipParseError(f"Content-Length {length} but {len(body)} body bytes")
        body = body[:length]
    msg.body = body
    for required in ("Via", "From", "To", "Call-ID", "CSeq"):
        if msg.get(required) is None:
            raise SipParseError(f"missing {required} header")
    if msg.cseq[0] == 0 and msg.get("CSeq") != "0":
        raise SipParseError("malformed CSeq")
    return msg


def _unfold(lines: list[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        if line[:1] in (" ", "\t"):
            if len(out) < 2:
                raise SipParseError("continuation line before any header")
            out[-1] = out[-1] + " " + line.strip()
        else:
            out.append(line)
    return out


def _start_line(line: str) -> SipMessage:
    parts = line.split(" ", 2)
    if len(parts) == 3 and parts[0] == "SIP/2.0":
        if not (parts[1].isdigit() and len(parts[1]) == 3):
            raise SipParseError(f"bad status code {parts[1]!r}")
        return SipMessage(status=int(parts[1]), reason=parts[2])
    if len(parts) == 3 and parts[2] == "SIP/2.0" and parts[0].isalpha() and parts[0].isupper():
        return SipMessage(method=parts[0], uri=parts[1])
    raise SipParseError(f"malformed start line {line[:60]!r}")
