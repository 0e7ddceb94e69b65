"""Uploaded approval documents, stored by their SHA-256 (content-addressed, read-only).

With an object store configured every document is also copied into it (``documents/``), and a
server that lacks one fetches it back (docs/design/cluster.md, "Stateless servers")."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from custos.services.shared_copies import SharedCopies


class DocumentStore:
    def __init__(self, root: Path, shared: SharedCopies | None = None) -> None:
        self.root = root
        self._shared = shared

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        path = self.root / digest[:2] / digest
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(".partial")
            with partial.open("wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            partial.chmod(stat.S_IRUSR | stat.S_IRGRP)
            os.replace(partial, path)
        if self._shared is not None:  # idempotent: the same content is already there or added
            self._shared.keep(f"{digest[:2]}/{digest}", path, digest)
        return digest

    def path_of(self, digest: str) -> Path | None:
        if len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest):
            return None
        path = self.root / digest[:2] / digest
        if path.exists():
            return path
        if self._shared is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            if self._shared.bring(f"{digest[:2]}/{digest}", path, digest):
                return path
        return None

    def read(self, digest: str) -> bytes | None:
        """The document's bytes, or None when it is not stored (or not as its name says)."""
        path = self.path_of(digest)
        if path is None:
            return None
        data = path.read_bytes()
        return data if hashlib.sha256(data).hexdigest() == digest else None
