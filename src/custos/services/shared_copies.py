"""The object store's copies of files one server writes and every server reads: uploaded
documents and export packages (docs/design/cluster.md, "Stateless servers"). The adapter is
``custos.adapters.storage.shared_files.SharedFiles``; None where no object store is configured,
and a file is then only on the disk of the server that wrote it."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol


class SharedCopies(Protocol):
    def keep(self, relative: str, path: Path, sha256: str) -> None:
        """Copy ``path`` into the store; raises while the store cannot take it."""
        ...

    def bring(self, relative: str, dest: Path, sha256: str) -> bool:
        """Fetch the copy to ``dest`` if the store has one hashing to ``sha256``."""
        ...


def local_or_shared(root: Path, relative: str, sha256: str, shared: SharedCopies | None) -> Path:
    """``root / relative``, fetched from the store first when this server lacks it (the path is
    returned either way: a caller that opens a missing file gets FileNotFoundError)."""
    path = root / relative
    if shared is not None and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        shared.bring(relative, path, sha256)
    return path
