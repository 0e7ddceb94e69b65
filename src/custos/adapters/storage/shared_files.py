"""Files one server writes and every server must be able to read (docs/design/cluster.md,
"Stateless servers"): with an object store configured, uploaded documents and export packages
are copied into it, each under a folder of its own, and a server that lacks one fetches it back,
served only if it hashes to the SHA-256 the database (or the document's name) gives it.

The copy follows the object store's rules (``object_store.S3SegmentStore``): never overwritten,
checked by the server against its SHA-256, the same content twice is fine."""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

from custos.adapters.storage.object_store import DOCUMENT_FOLDER, EXPORT_FOLDER, S3SegmentStore

log = logging.getLogger(__name__)

SHARED_FOLDERS = (DOCUMENT_FOLDER, EXPORT_FOLDER)  # not segments: ``custos check`` skips them
_CHUNK = 1 << 20


class SharedFiles:
    """One folder of the bucket: ``keep`` a file there, ``bring`` it back to a path."""

    def __init__(self, store: S3SegmentStore, folder: str, content_type: str) -> None:
        if folder not in SHARED_FOLDERS:
            raise ValueError(f"not a shared folder: {folder!r}")
        self._store = store
        self._folder = folder
        self._content_type = content_type

    def key_of(self, relative: str) -> str:
        rel = relative.lstrip("/")
        if not rel or ".." in rel.split("/"):
            raise ValueError(f"not a relative path: {relative!r}")
        return self._store.prefix + self._folder + rel

    def keep(self, relative: str, path: Path, sha256: str) -> None:
        """Copy ``path`` (which hashes to ``sha256``) into the store; raises while the store
        cannot take it, so a file is never left on one server alone without anyone knowing."""
        key = self.key_of(relative)
        self._store.upload(key, path, sha256, path.stat().st_size, content_type=self._content_type)

    def bring(self, relative: str, dest: Path, sha256: str) -> bool:
        """Fetch the copy to ``dest`` if the store has one that hashes to ``sha256``."""
        key = self.key_of(relative)
        aside = dest.with_name(f"{dest.name}.{os.getpid()}.fetched")
        try:
            self._store.fetch(key, aside)
        except FileNotFoundError:
            return False
        if _sha256(aside) != sha256:
            aside.unlink(missing_ok=True)
            log.error("the stored copy %s does not hash to %s: not served", key, sha256)
            return False
        aside.chmod(0o440)
        os.replace(aside, dest)
        return True


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
