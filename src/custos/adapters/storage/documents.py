"""Uploaded approval documents, stored by their SHA-256 (content-addressed, read-only)."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path


class DocumentStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        path = self.root / digest[:2] / digest
        if path.exists():
            return digest
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        with partial.open("wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        partial.chmod(stat.S_IRUSR | stat.S_IRGRP)
        os.replace(partial, path)
        return digest

    def path_of(self, digest: str) -> Path | None:
        if len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest):
            return None
        path = self.root / digest[:2] / digest
        return path if path.exists() else None

    def read(self, digest: str) -> bytes | None:
        """The document's bytes, or None when it is not stored (or not as its name says)."""
        path = self.path_of(digest)
        if path is None:
            return None
        data = path.read_bytes()
        return data if hashlib.sha256(data).hexdigest() == digest else None
