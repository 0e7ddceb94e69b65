"""The format ``custos-evidence/1`` as a verifier needs it, re-stated from custos' own modules
(``custos.domain.evidence``, ``audit_chain``, ``merkle``) so that nothing of Custos is imported.

Keys and fingerprints
    A key file holds the raw 32-byte Ed25519 public key in hex, one line. Its fingerprint is the
    SHA-256 of those 32 bytes, lower-case hex; the first 16 digits are its key id.
The checkpoint statement
    The log key signs the UTF-8 bytes of the canonical JSON (sorted keys, no whitespace,
    characters as themselves) of ``{"chain", "key_id", "log": "custos-audit/1", "root",
    "signed_at", "tree_size"}``: hex for the hashes, ``signed_at`` as
    ``YYYY-MM-DDTHH:MM:SS.ffffffZ``, ``tree_size`` an integer.
RFC 6962 (RFC 9162 §2.1)
    leaf = SHA-256(0x00 ‖ entry), node = SHA-256(0x01 ‖ left ‖ right); entry ``seq`` is leaf
    ``seq - 1``; a proof's path runs from the leaf's sibling up to the root's child.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from typing import Any

FORMAT = "custos-evidence/1"
LOG_ORIGIN = "custos-audit/1"
EXPORT_ACTION = "export.package"

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
EXPORT_KEY = "keys/export.pub"
LOG_KEY = "keys/log.pub"
LOG_ENTRY = "log/entry.bin"
LOG_PROOF = "log/proof.json"
LOG_CHECKPOINT = "log/checkpoint.json"
CUSTODY = "custody.pdf"
VIDEO_DIR = "video/"
# Made after the manifest, hence outside its ``files``; each is bound by the chain itself. The
# custody sheet prints the manifest's SHA-256: the export's log entry names the sheet's SHA-256
# (``custody_sha256``).
FIXED_NAMES = (
    MANIFEST,
    SIGNATURE,
    EXPORT_KEY,
    LOG_KEY,
    LOG_ENTRY,
    LOG_PROOF,
    LOG_CHECKPOINT,
    CUSTODY,
)
# Fixed names a package may lack (a package made without a sheet: no renderer installed).
OPTIONAL_NAMES = (CUSTODY,)

HEX64 = re.compile(r"\A[0-9a-f]{64}\Z")
CANONICAL_TIME = re.compile(r"\A\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z\Z")
MAX_TREE_SIZE = 1 << 62
MAX_PATH = 64  # a path is at most one hash per level of a tree of 2**64 leaves


def canonical_json(value: Any) -> str:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def fingerprint(public_key_raw: bytes) -> str:
    return hashlib.sha256(public_key_raw).hexdigest()


def grouped(fp: str) -> str:
    """``ab12 cd34 …``: how a fingerprint is printed on the sheet and read aloud."""
    return " ".join(fp[i : i + 4] for i in range(0, len(fp), 4))


def normalise_fingerprint(text: str) -> str | None:
    """A fingerprint as a person typed it (groups, colons, capitals) → 64 hex digits, or None."""
    fp = re.sub(r"[\s:]", "", text).lower()
    return fp if HEX64.match(fp) else None


def checkpoint_statement(
    tree_size: int, root_hex: str, chain_hex: str, signed_at: str, key_id: str
) -> bytes:
    """The exact bytes a checkpoint signature covers (``audit_chain.checkpoint_statement``)."""
    return canonical_json(
        {
            "log": LOG_ORIGIN,
            "tree_size": tree_size,
            "root": root_hex,
            "chain": chain_hex,
            "signed_at": signed_at,
            "key_id": key_id,
        }
    ).encode()


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes]) -> bytes | None:
    """The root an inclusion path leads to (RFC 9162 §2.1.3.2), or None if it cannot be right."""
    if not 0 <= index < size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = _node(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = _node(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None
