"""The export key: Ed25519, signs evidence-package manifests; distinct from the log key.

Kept like the other secrets under ``$CUSTOS_DATA_DIR/keys``:

- ``export/<key id>.key``: the PKCS#8 PEM private key sealed by the secret box, mode 0600;
- ``export-keys.json``: the public index, every key made here with its dates (no secret):
  ``[{"public_key": hex, "created_at": ..., "retired_at": ... | null}, ...]``, newest last.

The first start makes a key. ``rotate`` retires the current one (its ``retired_at`` is set, the
private key stays sealed on disk so nothing else changes) and makes a new one. The index is read
again on every use, so a rotation made by ``custos keys rotate-export`` while the server runs is
seen by the server's next package.
"""

from __future__ import annotations

import json
import os
import stat
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)

from custos.domain.audit_chain import canonical_time, parse_time
from custos.domain.evidence import KeyKind, PublishedKey, fingerprint, key_id
from custos.services.ports import SecretBox

INDEX_FILE = "export-keys.json"
KEY_DIR = "export"


class ExportSigner:
    """The current export key: signs, shows its public half, hides the private one."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self._public = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def public_key(self) -> bytes:
        return self._public

    @property
    def fingerprint(self) -> str:
        return fingerprint(self._public)

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)

    def __repr__(self) -> str:
        return f"ExportSigner(key_id={key_id(self.fingerprint)}, <private key hidden>)"


class ExportKeyring:
    """The :class:`custos.services.evidence.ExportKeys` port, on files."""

    def __init__(self, keys_dir: Path, secrets: SecretBox) -> None:
        self._dir = keys_dir
        self._secrets = secrets
        self._lock = threading.Lock()
        self._cached: tuple[str, ExportSigner] | None = None

    def __repr__(self) -> str:
        return f"ExportKeyring({self._dir})"

    # ---- the port ---------------------------------------------------------------------------
    def ensure(self, now: datetime) -> PublishedKey:
        """The current key, made on first start."""
        with self._lock:
            keys = self._read()
            current = [k for k in keys if k.retired_at is None]
            if current:
                return current[-1]
            return self._make(keys, now)

    def current(self) -> ExportSigner:
        with self._lock:
            keys = [k for k in self._read() if k.retired_at is None]
            if not keys:
                raise RuntimeError("no export key: the first start makes one (custos serve)")
            fp = keys[-1].fingerprint
            if self._cached is None or self._cached[0] != fp:
                self._cached = (fp, ExportSigner(self._load_private(fp)))
            return self._cached[1]

    def published(self) -> list[PublishedKey]:
        with self._lock:
            return self._read()

    def rotate(self, now: datetime) -> PublishedKey:
        """Retire the current key (dated now) and make its successor."""
        with self._lock:
            keys = [
                k
                if k.retired_at is not None
                else PublishedKey(k.kind, k.public_key, k.created_at, now)
                for k in self._read()
            ]
            return self._make(keys, now)

    # ---- files ------------------------------------------------------------------------------
    def _make(self, keys: list[PublishedKey], now: datetime) -> PublishedKey:
        private = Ed25519PrivateKey.generate()
        signer = ExportSigner(private)
        pem = private.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
        _write(self._key_path(signer.fingerprint), self._secrets.seal(pem), 0o600, exclusive=True)
        made = PublishedKey(KeyKind.EXPORT, signer.public_key, now)
        rows = [*keys, made]
        text = json.dumps([_row(k) for k in rows], indent=1) + "\n"
        _write(self._dir / INDEX_FILE, text.encode(), 0o644, exclusive=False)
        return made

    def _read(self) -> list[PublishedKey]:
        path = self._dir / INDEX_FILE
        if not path.exists():
            return []
        rows: list[dict[str, Any]] = json.loads(path.read_text())
        return [
            PublishedKey(
                KeyKind.EXPORT,
                bytes.fromhex(r["public_key"]),
                parse_time(r["created_at"]),
                parse_time(r["retired_at"]) if r.get("retired_at") else None,
            )
            for r in rows
        ]

    def _key_path(self, fp: str) -> Path:
        return self._dir / KEY_DIR / f"{key_id(fp)}.key"

    def _load_private(self, fp: str) -> Ed25519PrivateKey:
        path = self._key_path(fp)
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise PermissionError(f"{path} is readable by others (mode {mode:o}); chmod 600 it")
        key = load_pem_private_key(self._secrets.open(path.read_bytes()).encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} does not hold an Ed25519 private key")
        if ExportSigner(key).fingerprint != fp:
            raise ValueError(f"{path} does not hold the key its index names")
        return key


def _row(k: PublishedKey) -> dict[str, Any]:
    return {
        "public_key": k.public_key.hex(),
        "created_at": canonical_time(k.created_at) if k.created_at else None,
        "retired_at": canonical_time(k.retired_at) if k.retired_at else None,
    }


def _write(path: Path, data: bytes, mode: int, *, exclusive: bool) -> None:
    """Write whole (a temporary file renamed over the old one), fsync file and directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if exclusive and path.exists():
        raise FileExistsError(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, mode)
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def log_key_published(public_key: bytes, key_file: Path) -> PublishedKey:
    """The log key as published: its creation time is its key file's modification time."""
    created = datetime.fromtimestamp(key_file.stat().st_mtime, UTC) if key_file.exists() else None
    return PublishedKey(KeyKind.LOG, public_key, created)
