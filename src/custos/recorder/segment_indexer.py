"""Indexing a camera's sealed segments (the worker's last step, docs/design/recording.md "Seal
order"), and what waits when the index cannot be reached (docs/design/cluster.md: a restart of
PostgreSQL, or a recorder node cut off from it).

A busy database (hundreds of cameras ending segments at the same instant) is waited out with
backoff. One that cannot be reached even then leaves the segment waiting, indexed in order
before the next one; its file is sealed on disk meanwhile, and a start-up reconcile adopts it
should the recorder stop first. A segment the index refuses for a stale lease token is moved
aside by the store (``refused/``), never dropped."""

from __future__ import annotations

import logging
import random
import time

from custos.adapters.storage.segment_files import SegmentStore
from custos.domain.recording import Segment
from custos.services.fencing import RefusedSegment
from custos.services.recording import RecordingService

log = logging.getLogger(__name__)

SEAL_ATTEMPTS = 6  # ≈ 30 s of backoff before a segment waits for the database


class SegmentIndexer:
    def __init__(self, camera_id: int, service: RecordingService, store: SegmentStore) -> None:
        self.camera_id = camera_id
        self._service = service
        self._store = store
        self._waiting: list[Segment] = []
        self.refused = 0  # refused for a stale lease token, set aside

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def index(self, segment: Segment) -> None:
        if self._waiting:  # the database was unreachable a moment ago: one try, no waiting
            self._waiting.append(segment)
            self.flush()
            return
        delay = 0.25
        for attempt in range(SEAL_ATTEMPTS):
            try:
                self._index_once(segment)
                return
            except Exception:  # the database's boundary: retried, then kept for later
                if attempt == SEAL_ATTEMPTS - 1:
                    log.warning(
                        "camera %s: the index is unreachable; %s is kept to index later",
                        self.camera_id,
                        segment.path,
                    )
                    self._waiting.append(segment)
                    return
                log.warning(
                    "camera %s: indexing %s failed (try %d), retrying",
                    self.camera_id,
                    segment.path,
                    attempt + 1,
                )
                time.sleep(delay + random.uniform(0, delay))  # noqa: S311 - jitter, not crypto
                delay = min(delay * 2, 8.0)

    def flush(self) -> int:
        """Index what waited for the database, oldest first; stop at the first failure.
        Returns how many still wait."""
        while self._waiting:
            try:
                self._index_once(self._waiting[0])
            except Exception:  # the database's boundary: still unreachable, tried again later
                return len(self._waiting)
            done = self._waiting.pop(0)
            log.info("camera %s: %s indexed late", self.camera_id, done.path)
        return 0

    def _index_once(self, segment: Segment) -> None:
        done = self._service.seal(segment, self._store.refused_path)
        if isinstance(done, RefusedSegment):
            self._store.set_aside(segment.path)
            self.refused += 1
