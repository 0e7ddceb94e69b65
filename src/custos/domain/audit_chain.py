"""What exactly is hashed and signed in the operation log (运行记录).

The canonical form of an entry
------------------------------
An entry is the JSON object with exactly these ten members, and its canonical form is the UTF-8
encoding of that object written with

* keys sorted by code point, at every depth (so the top level reads ``action``, ``actor``,
  ``after``, ``at``, ``before``, ``detail``, ``object_id``, ``object_type``, ``outcome``, ``seq``);
* no whitespace at all (separators ``,`` and ``:``);
* strings as JSON strings with only ``"``, ``\\`` and control characters escaped (``\\n``-style
  where JSON has a short form, ``\\u00xx`` with lower-case hex otherwise), every other character
  written as itself, UTF-8 encoded: Python's ``json.dumps(..., ensure_ascii=False)``;
* numbers as Python's ``json`` writes them (integers in decimal, floats as the shortest repr that
  round-trips; NaN and infinities refused);
* ``at`` as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``: UTC, always six fractional digits, always ``Z``;
* ``before`` and ``after`` as ``null`` when absent; ``object_id`` as ``null`` when absent.

``seq`` is inside the entry, so an entry cannot be moved to another position unnoticed.

Hashes
------
``leaf = SHA-256(0x00 ‖ canonical entry)`` (RFC 6962), and the running chain
``chain_0 = GENESIS`` (32 zero bytes), ``chain_i = SHA-256(chain_{i-1} ‖ leaf_i)``.
A checkpoint signs the canonical JSON of :meth:`Checkpoint.statement`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from json.encoder import encode_basestring
from typing import Any

from custos.domain.audit import AuditEvent, Outcome

GENESIS = bytes(32)
LOG_ORIGIN = "custos-audit/1"  # named inside every signed statement (domain separation)
_sha256 = hashlib.sha256
_ENTRY = (
    '{"action":%s,"actor":%s,"after":%s,"at":"%s","before":%s,"detail":%s,'
    '"object_id":%s,"object_type":%s,"outcome":%s,"seq":%d}'
)


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, UTF-8 characters as themselves, no NaN."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def canonical_time(at: datetime) -> str:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("the operation log records aware UTC times only")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def entry_text(
    seq: int,
    at: str,
    actor: str,
    action: str,
    object_type: str,
    object_id: str | None,
    outcome: str,
    before: str | None,
    after: str | None,
    detail: str,
) -> str:
    """Assemble the canonical entry from its parts; JSON-valued parts come already canonical.

    This is the hot path of verification, hence a format string rather than ``json.dumps`` of a
    dict; a unit test holds the two to the same bytes.
    """
    return _ENTRY % (
        encode_basestring(action),
        encode_basestring(actor),
        "null" if after is None else after,
        at,
        "null" if before is None else before,
        detail,
        "null" if object_id is None else encode_basestring(object_id),
        encode_basestring(object_type),
        encode_basestring(outcome),
        seq,
    )


def canonical_entry(seq: int, e: AuditEvent) -> bytes:
    return entry_text(
        seq,
        canonical_time(e.at),
        e.actor,
        e.action,
        e.object_type,
        e.object_id,
        Outcome(e.outcome).value,
        None if e.before is None else canonical_json(e.before),
        None if e.after is None else canonical_json(e.after),
        canonical_json(e.detail),
    ).encode()


def entry_as_dict(seq: int, e: AuditEvent) -> dict[str, Any]:
    """The entry as a JSON object (the export writes this; canonical_json of it is the entry)."""
    return {
        "seq": seq,
        "at": canonical_time(e.at),
        "actor": e.actor,
        "action": e.action,
        "object_type": e.object_type,
        "object_id": e.object_id,
        "outcome": Outcome(e.outcome).value,
        "before": e.before,
        "after": e.after,
        "detail": e.detail,
    }


def event_of(entry: str | bytes) -> tuple[int, AuditEvent]:
    """Read a stored canonical entry back: its seq and the event it records."""
    d = json.loads(entry)
    event = AuditEvent(
        parse_time(d["at"]),
        d["actor"],
        d["action"],
        d["object_type"],
        d["object_id"],
        Outcome(d["outcome"]),
        d["before"],
        d["after"],
        d["detail"],
    )
    return int(d["seq"]), event


def next_chain(previous: bytes, leaf: bytes) -> bytes:
    return _sha256(previous + leaf).digest()


@dataclass(frozen=True)
class ChainedEntry:
    """An entry as the log stores it: position, canonical bytes, and the two hashes."""

    seq: int
    entry: bytes
    leaf: bytes
    chain: bytes


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement: "the first ``tree_size`` entries have this root and this chain"."""

    tree_size: int
    root: bytes
    chain: bytes
    signed_at: datetime
    key_id: str
    signature: bytes

    def statement(self) -> bytes:
        return checkpoint_statement(
            self.tree_size, self.root, self.chain, self.signed_at, self.key_id
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "tree_size": self.tree_size,
            "root": self.root.hex(),
            "chain": self.chain.hex(),
            "signed_at": canonical_time(self.signed_at),
            "key_id": self.key_id,
            "signature": self.signature.hex(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Checkpoint:
        return cls(
            int(d["tree_size"]),
            bytes.fromhex(d["root"]),
            bytes.fromhex(d["chain"]),
            parse_time(d["signed_at"]),
            str(d["key_id"]),
            bytes.fromhex(d["signature"]),
        )


def checkpoint_statement(
    tree_size: int, root: bytes, chain: bytes, signed_at: datetime, key_id: str
) -> bytes:
    """The exact bytes a checkpoint signature covers."""
    return canonical_json(
        {
            "log": LOG_ORIGIN,
            "tree_size": tree_size,
            "root": root.hex(),
            "chain": chain.hex(),
            "signed_at": canonical_time(signed_at),
            "key_id": key_id,
        }
    ).encode()


def key_id_of(public_key: bytes) -> str:
    """First 16 hex digits of SHA-256 of the raw public key."""
    return _sha256(public_key).hexdigest()[:16]
