"""A recorder node's instance id, kept in its data directory (docs/design/cluster.md, "A node
restarted on its own data directory is the same instance"): read and written only while the
process holds ``recorder.lock``, so a restarted node keeps its name's instance, and its tokens."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from pathlib import Path

INSTANCE_FILE = "node-instance"


def kept_instance(data_dir: Path, node: str) -> str:
    """The instance id this data directory used under ``node``; a new one (and written) when it
    has none or kept another name's. The caller holds the data directory's ``recorder.lock``."""
    path = data_dir / INSTANCE_FILE
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        data = json.loads(path.read_text(encoding="utf-8"))
        if data["node"] == node and isinstance(data["instance"], str) and data["instance"]:
            return data["instance"]
    instance = secrets.token_hex(8)
    _write_atomically(path, json.dumps({"node": node, "instance": instance}))
    return instance


def _write_atomically(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, content.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(part, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
