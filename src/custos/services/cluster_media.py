"""Footage that is on another machine of the cluster (docs/design/cluster.md, "Live view and
playback from any server"): which recorder node holds a camera's live view, and a verified local
copy of a segment whose file is on the node that recorded it.

A segment row with no node is a one-machine recorder's and is never fetched from a node; a row
with one is remote unless its file is here (:class:`~custos.services.footage.FootageService`
looks here first, then in the object store, then asks :meth:`ClusterMedia.fetch`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from pathlib import Path
from time import monotonic
from typing import Protocol

from custos.domain.errors import Conflict
from custos.domain.recording import Segment
from custos.services.footage import SegmentFetch

log = logging.getLogger(__name__)

CACHE_KEEP_S = 3600.0  # a fetched copy unused for this long is removed
_PRUNE_EVERY_S = 60.0
_CHUNK = 1 << 20


@dataclass(frozen=True)
class NodeAt:
    """A recorder node and where it serves its footage (``host:port``)."""

    name: str
    address: str


class NodeDirectory(Protocol):
    def holder_of(self, camera_id: int) -> NodeAt | None: ...
    def address_of(self, node: str) -> str | None: ...


class NodeMediaFetcher(Protocol):
    """A recorder node's media server, reached with the cluster secret."""

    def fetch_segment(self, address: str, path: str, dest: Path, size: int) -> None:
        """Write the node's sealed file at index ``path`` to ``dest``: FileNotFoundError when the
        node has none, OSError when it cannot be reached or refuses."""
        ...

    def live(self, address: str, camera_id: int) -> AsyncGenerator[bytes, None]:
        """The node's live tail of the camera, as it comes; OSError when it breaks."""
        ...


class ClusterMedia:
    def __init__(
        self,
        directory: NodeDirectory,
        client: NodeMediaFetcher | None,
        cache_dir: Path,
        keep_s: float = CACHE_KEEP_S,
    ) -> None:
        """``client`` None: no cluster secret here, so nothing can be asked of a node."""
        self._directory = directory
        self._client = client
        self._cache_dir = cache_dir
        self._keep_s = keep_s
        self._locks: dict[Path, threading.Lock] = {}
        self._locks_lock = threading.Lock()
        self._pruned_at = monotonic()
        self._said_no_secret = False

    # ---- live view ------------------------------------------------------------------------------
    def live_source(self, camera_id: int) -> NodeAt | None:
        """The node recording the camera now (None: none, or no secret to ask it with)."""
        holder = self._directory.holder_of(camera_id)
        if holder is None or not self._can_ask(f"camera {camera_id}'s live view", holder.name):
            return None
        return holder

    def live(self, source: NodeAt, camera_id: int) -> AsyncGenerator[bytes, None]:
        if self._client is None:
            raise OSError("no cluster secret: a node cannot be asked")
        return self._client.live(source.address, camera_id)

    # ---- playback and export --------------------------------------------------------------------
    def fetch(self, seg: Segment) -> Path | None:
        """A local copy of a segment recorded on another node, served only if it has the index's
        size and SHA-256; None when the row names no node, the node is unknown or cannot give it.
        No transaction is held (an export calls this inside its own)."""
        if seg.node is None or not self._can_ask(f"segment {seg.id}", seg.node):
            return None
        assert self._client is not None
        dest = self._cache_dir / seg.node / seg.path
        with self._lock_for(dest):
            if dest.exists() and _matches(dest, seg):
                os.utime(dest)
                return dest
            address = self._directory.address_of(seg.node)
            if address is None:
                log.warning("segment %s: recorded by node %s, which is not registered",
                            seg.id, seg.node)  # fmt: skip
                return None
            partial = dest.with_name(dest.name + ".partial")
            dest.unlink(missing_ok=True)
            try:
                self._client.fetch_segment(address, seg.path, partial, seg.bytes)
            except FileNotFoundError:
                log.warning("segment %s: node %s has no file %s", seg.id, seg.node, seg.path)
                partial.unlink(missing_ok=True)
                return None
            except OSError as exc:
                log.warning("segment %s: not fetched from node %s at %s: %s",
                            seg.id, seg.node, address, exc)  # fmt: skip
                partial.unlink(missing_ok=True)
                return None
            if not _matches(partial, seg):
                partial.unlink(missing_ok=True)
                log.error("segment %s: the copy from node %s does not match the index", seg.id,
                          seg.node)  # fmt: skip
                raise Conflict(
                    "segment_id",
                    f"the copy of segment {seg.id} from node {seg.node} does not match its "
                    "indexed SHA-256; it is not served",
                )
            partial.chmod(0o444)
            partial.replace(dest)
            log.info("segment %s fetched from node %s", seg.path, seg.node)
        self._prune()
        return dest

    # ---- inside -----------------------------------------------------------------------------------
    def _can_ask(self, what: str, node: str) -> bool:
        if self._client is not None:
            return True
        if not self._said_no_secret:
            self._said_no_secret = True
            log.warning("%s is on recorder node %s, but CUSTOS_CLUSTER_SECRET is not set here: "
                        "footage on other nodes is not fetched", what, node)  # fmt: skip
        return False

    def _lock_for(self, dest: Path) -> threading.Lock:
        with self._locks_lock:
            if len(self._locks) > 1024:  # bounded: drop the locks no one holds
                self._locks = {p: k for p, k in self._locks.items() if k.locked()}
            return self._locks.setdefault(dest, threading.Lock())

    def _prune(self) -> None:
        """Remove copies unused for ``keep_s`` (at most once a minute)."""
        now = monotonic()
        if now - self._pruned_at < _PRUNE_EVERY_S:
            return
        self._pruned_at = now
        horizon = self._cache_walltime() - self._keep_s
        for path in self._cache_dir.rglob("*.mp4"):
            try:
                if path.stat().st_mtime < horizon:
                    path.unlink()
            except FileNotFoundError:
                continue

    def _cache_walltime(self) -> float:
        """The file system's idea of now (files' times are compared with it, not with a clock)."""
        probe = self._cache_dir / ".now"
        probe.parent.mkdir(parents=True, exist_ok=True)
        probe.touch()
        return probe.stat().st_mtime


def _matches(path: Path, seg: Segment) -> bool:
    try:
        if path.stat().st_size != seg.bytes:
            return False
        digest = hashlib.sha256()
        with path.open("rb") as f:
            while block := f.read(_CHUNK):
                digest.update(block)
    except FileNotFoundError:
        return False
    return digest.hexdigest() == seg.sha256


def first_found(*fetches: SegmentFetch | None) -> SegmentFetch | None:
    """One fetch that asks each of ``fetches`` in turn (None ones left out) until one has it."""
    chosen = [f for f in fetches if f is not None]
    if len(chosen) <= 1:
        return chosen[0] if chosen else None

    def fetch(seg: Segment) -> Path | None:
        for f in chosen:
            if (path := f(seg)) is not None:
                return path
        return None

    return fetch
