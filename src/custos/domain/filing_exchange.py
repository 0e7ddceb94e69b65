"""The files two systems exchange for a filing (docs/design/filing.md D3, "Across systems").

Two formats, one layout: a zip holding the content members, ``manifest.json`` (canonical JSON:
the format, what the file is about, and each content member's SHA-256 and size),
``signature`` (the Ed25519 signature over ``manifest.json``'s bytes, hex) and
``public_key.pem`` (the signing key, SubjectPublicKeyInfo PEM; its fingerprint is what a reader
checks against the sender's published keys, ``GET /api/v1/keys``).

- ``custos-filing/1``: ``package.json`` (the canonical package) and ``package.pdf``; the
  manifest's ``submission`` names the receipt number and hashes the unit's system gave it.
- ``custos-filing-decision/1``: ``decision.json`` (the bureau's decision on one submission,
  naming its receipt number and package hash).

Pure: packing and unpacking work on bytes in memory; signing and checking the signature are the
caller's (a port: the domain holds no cryptography). Every refusal names the member at fault.
"""

from __future__ import annotations

import enum
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from custos.domain.filing_case import CaseEvent

FILING_FORMAT = "custos-filing/1"
DECISION_FORMAT = "custos-filing-decision/1"
MANIFEST = "manifest.json"
SIGNATURE = "signature"
PUBLIC_KEY = "public_key.pem"
PACKAGE_JSON = "package.json"
PACKAGE_PDF = "package.pdf"
DECISION_JSON = "decision.json"
CONTENT: dict[str, tuple[str, ...]] = {
    FILING_FORMAT: (PACKAGE_JSON, PACKAGE_PDF),
    DECISION_FORMAT: (DECISION_JSON,),
}
MAX_FILE_BYTES = 48 * 1024 * 1024  # the whole zip, as uploaded
MAX_MEMBER_BYTES = 40 * 1024 * 1024  # one member, uncompressed
_FIXED_TIME = (2000, 1, 1, 0, 0, 0)  # members' zip timestamps: the same file for the same content


class ExchangeRefused(Exception):  # noqa: N818 (the domain's word; mapped to ValidationFailed)
    """The file is not what it claims; ``member`` names the part at fault."""

    def __init__(self, member: str, reason: str) -> None:
        super().__init__(f"{member}: {reason}")
        self.member = member
        self.reason = reason


@dataclass(frozen=True)
class Opened:
    """A file whose structure and member hashes were checked (the signature is not yet)."""

    format: str
    manifest: dict[str, Any]
    manifest_bytes: bytes
    signature: bytes
    public_key_pem: bytes
    members: dict[str, bytes]


def canonical(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def manifest_of(fmt: str, members: dict[str, bytes], about: dict[str, Any]) -> bytes:
    """The manifest's bytes: the format, ``about`` (what the file concerns) and every member."""
    if tuple(sorted(members)) != tuple(sorted(CONTENT[fmt])):
        raise ValueError(f"{fmt} holds exactly {', '.join(CONTENT[fmt])}")
    files = [{"name": n, "sha256": sha256(d), "size": len(d)} for n, d in sorted(members.items())]
    return canonical({**about, "format": fmt, "files": files})


def pack(
    members: dict[str, bytes], manifest: bytes, signature: bytes, public_key_pem: bytes
) -> bytes:
    """The zip: content members, then manifest, signature and key (fixed order and times)."""
    out = io.BytesIO()
    fixed = {
        MANIFEST: manifest,
        SIGNATURE: signature.hex().encode() + b"\n",
        PUBLIC_KEY: public_key_pem,
    }
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in [*sorted(members.items()), *fixed.items()]:
            info = zipfile.ZipInfo(name, _FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return out.getvalue()


def unpack(data: bytes, fmt: str) -> Opened:
    """Read a ``fmt`` file: exactly its members, each no larger than the limit, the manifest's
    format and hashes matching. Raises :class:`ExchangeRefused` naming the member at fault."""
    if len(data) > MAX_FILE_BYTES:
        raise ExchangeRefused("file", f"larger than {MAX_FILE_BYTES} bytes")
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
        infos = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ExchangeRefused("file", f"not a zip file ({exc})") from None
    expected = {*CONTENT[fmt], MANIFEST, SIGNATURE, PUBLIC_KEY}
    names = [i.filename for i in infos]
    if len(names) != len(set(names)):
        raise ExchangeRefused("file", "a member name appears twice")
    for name in sorted(set(names) - expected):
        raise ExchangeRefused(name, f"not a member of {fmt}")
    for name in sorted(expected - set(names)):
        raise ExchangeRefused(name, f"missing: {fmt} holds {', '.join(sorted(expected))}")
    raw: dict[str, bytes] = {}
    for info in infos:
        if info.file_size > MAX_MEMBER_BYTES:
            raise ExchangeRefused(info.filename, f"larger than {MAX_MEMBER_BYTES} bytes")
        try:
            raw[info.filename] = z.read(info)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise ExchangeRefused(info.filename, f"cannot be read ({exc})") from None
    manifest = _json_object(MANIFEST, raw[MANIFEST])
    if manifest.get("format") != fmt:
        raise ExchangeRefused(MANIFEST, f"format is {manifest.get('format')!r}, not {fmt}")
    files = manifest.get("files", [])
    if not isinstance(files, list):
        raise ExchangeRefused(MANIFEST, "files is not a list")
    listed = {f["name"]: f for f in files if isinstance(f, dict) and isinstance(f.get("name"), str)}
    for name in CONTENT[fmt]:
        entry = listed.get(name)
        if entry is None:
            raise ExchangeRefused(MANIFEST, f"does not list {name}")
        if entry.get("sha256") != sha256(raw[name]) or entry.get("size") != len(raw[name]):
            raise ExchangeRefused(name, "its SHA-256 is not the one manifest.json names")
    try:
        signature = bytes.fromhex(raw[SIGNATURE].decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        raise ExchangeRefused(SIGNATURE, "not a hex Ed25519 signature") from None
    if len(signature) != 64:
        raise ExchangeRefused(SIGNATURE, "an Ed25519 signature is 64 bytes")
    members = {n: raw[n] for n in CONTENT[fmt]}
    return Opened(fmt, manifest, raw[MANIFEST], signature, raw[PUBLIC_KEY], members)


def json_member(opened: Opened, name: str) -> dict[str, Any]:
    return _json_object(name, opened.members[name])


def _json_object(name: str, data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ExchangeRefused(name, "not UTF-8 JSON") from None
    if not isinstance(value, dict):
        raise ExchangeRefused(name, "not a JSON object")
    return value


# ---- a filing received from another system (the bureau's side) -------------------------------
class ReceivedState(enum.StrEnum):
    RECEIVED = "received"  # imported, waiting for the bureau's decision
    ACCEPTED = "accepted"
    RETURNED = "returned"


@dataclass
class ReceivedFiling:
    """A ``custos-filing/1`` file a bureau imported: no site of its registry, the package's
    facts instead (stored by hash in the document store)."""

    id: int | None
    division_code: str  # the site's, from the package (in the GB/T 2260 table)
    state: ReceivedState
    receipt_number: str  # the sender's submission receipt
    package_sha256: str
    pdf_sha256: str
    received_at: datetime
    sender_key: str  # fingerprint of the key that signed the manifest
    kind: str  # initial, change, relocation, removal
    site: dict[str, Any]  # the package's system_profile
    unit: dict[str, Any]  # the package's user unit
    recipient: dict[str, Any]  # as the sender addressed it
    due: str | None = None
    history: list[CaseEvent] = field(default_factory=list)
    filing_number: str = ""
    reasons: list[str] = field(default_factory=list)
    decided_on: date | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "division_code": self.division_code,
            "state": self.state.value,
            "receipt_number": self.receipt_number,
            "package_sha256": self.package_sha256,
            "pdf_sha256": self.pdf_sha256,
            "received_at": self.received_at.isoformat(),
            "sender_key": self.sender_key,
            "kind": self.kind,
            "site": self.site,
            "unit": self.unit,
            "recipient": self.recipient,
            "due": self.due,
            "history": [e.as_dict() for e in self.history],
            "filing_number": self.filing_number,
            "reasons": list(self.reasons),
            "decided_on": self.decided_on.isoformat() if self.decided_on else None,
        }
