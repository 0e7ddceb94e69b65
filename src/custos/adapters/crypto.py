"""Password hashing (Argon2id) and the secret box for credentials at rest (Fernet)."""

from __future__ import annotations

import functools
import os
import secrets
from pathlib import Path

from argon2 import PasswordHasher as _Argon2
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet


class Argon2PasswordHasher:
    def __init__(self) -> None:
        self._h = _Argon2()  # argon2id with the library's current recommended parameters

    def hash(self, password: str) -> str:
        return self._h.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._h.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._h.check_needs_rehash(password_hash)

    def dummy_hash(self) -> str:
        return _dummy_hash()


@functools.cache
def _dummy_hash() -> str:
    """One per process (each hash costs ~0.1 s; every container made would pay it again)."""
    return _Argon2().hash(secrets.token_urlsafe(16))


def load_or_create_key(path: Path) -> bytes:
    """Read a key file, or create it with mode 0600 on first start."""
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
        f.flush()
        os.fsync(f.fileno())
    return key


class FernetSecretBox:
    def __init__(self, key: bytes) -> None:
        self._f = Fernet(key)

    def seal(self, plaintext: str) -> bytes:
        return self._f.encrypt(plaintext.encode())

    def open(self, token: bytes) -> str:
        return self._f.decrypt(token).decode()

    def __repr__(self) -> str:
        return "FernetSecretBox(<key hidden>)"
