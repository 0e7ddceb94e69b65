"""Ed25519 keys for the operation log's checkpoints (``cryptography``).

The private key lives in ``$CUSTOS_DATA_DIR/keys/audit-ed25519.key`` (PKCS#8 PEM), created with
mode 0600 at first start and refused if anyone but its owner can read it. Beside it,
``audit-ed25519.pub`` holds the raw public key in hex, for auditors to pin.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
    load_pem_public_key,
)

from custos.domain.audit_chain import Checkpoint, key_id_of

KEY_FILE = "audit-ed25519.key"
PUBLIC_FILE = "audit-ed25519.pub"


class Ed25519Signer:
    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self._public = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self._key_id = key_id_of(self._public)

    @classmethod
    def generate(cls) -> Ed25519Signer:
        return cls(Ed25519PrivateKey.generate())

    @property
    def key_id(self) -> str:
        return self._key_id

    @property
    def public_key(self) -> bytes:
        return self._public

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)

    def __repr__(self) -> str:
        return f"Ed25519Signer(key_id={self._key_id}, <private key hidden>)"


def load_or_create_signer(keys_dir: Path) -> Ed25519Signer:
    """The checkpoint signing key: read it, or create it (0600) on first start."""
    path = keys_dir / KEY_FILE
    if path.exists():
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise PermissionError(
                f"{path} is readable by others (mode {mode:o}); run: chmod 600 {path}"
            )
        key = load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} does not hold an Ed25519 private key")
        return Ed25519Signer(key)
    key = Ed25519PrivateKey.generate()
    signer = Ed25519Signer(key)
    _write_new(path, key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()), 0o600)
    _write_new(keys_dir / PUBLIC_FILE, f"{signer.public_key.hex()}\n".encode(), 0o644)
    return signer


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Write a file that must not exist yet, fsync it and its directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def read_public_key(text: str) -> bytes:
    """A raw public key from its hex, or from a file holding the hex (``audit-ed25519.pub``)."""
    candidate = text.strip()
    if len(candidate) != 64 and Path(candidate).is_file():
        candidate = Path(candidate).read_text().strip()
    key = bytes.fromhex(candidate)
    if len(key) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes (64 hex digits)")
    return key


def read_sender_key(text: str) -> bytes:
    """A unit system's log public key as the bureau is given it: an Ed25519 public key in PEM
    (SubjectPublicKeyInfo), or its 64 hex digits (``audit-ed25519.pub``); ValueError if neither."""
    candidate = text.strip()
    if len(candidate) > 4096:
        raise ValueError("too long for an Ed25519 public key")
    if not candidate.startswith("-----BEGIN"):
        try:
            raw = bytes.fromhex(candidate)
        except ValueError:
            raw = b""
        if len(raw) != 32:
            raise ValueError("an Ed25519 public key in PEM, or its 64 hex digits")
        return raw
    try:
        key = load_pem_public_key(candidate.encode())
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ValueError("not a readable PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


class TrustedKeys:
    """Checks checkpoint signatures against the public keys an auditor trusts."""

    def __init__(self, public_keys: Mapping[str, bytes]) -> None:
        self._keys = {kid: Ed25519PublicKey.from_public_bytes(k) for kid, k in public_keys.items()}

    @classmethod
    def of(cls, *public_keys: bytes) -> TrustedKeys:
        return cls({key_id_of(k): k for k in public_keys})

    @property
    def key_ids(self) -> list[str]:
        return sorted(self._keys)

    def verify(self, message: bytes, signature: bytes, key_id: str) -> bool:
        """Does ``signature`` over ``message`` verify with the trusted key ``key_id``?"""
        key = self._keys.get(key_id)
        if key is None:
            return False
        try:
            key.verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def __call__(self, cp: Checkpoint) -> str | None:
        key = self._keys.get(cp.key_id)
        if key is None:
            trusted = ", ".join(self.key_ids) or "none"
            return f"signed by key {cp.key_id}, which is not trusted (trusted: {trusted})"
        try:
            key.verify(cp.signature, cp.statement())
        except InvalidSignature:
            return f"the signature does not verify with key {cp.key_id}"
        return None
