"""The timed duties a recorder node runs on its own files (docs/design/cluster.md, "Timed
duties"): in a cluster each node has its own disk, and a segment's file is only where its row's
``segments.node`` says. So a node, not the server holding the shared duty leases:

- uploads its sealed segments to the object store (``OffloadService.run_once(node=…)``), on a
  thread of its own so a slow store never delays the rest;
- re-hashes a batch of its segments every ten minutes (the scrub);
- finishes the retention purge's deletions of its files (the purge itself, which decides what
  goes, runs once per cluster under the ``housekeeping`` lease and only marks them);
- projects its disk against the retention of the footage on it (``retention_projection`` on
  ``volume:<node>:<media dir>``).

No lease: a node's name is its own (the camera leases make sure two processes never record under
one name), so exactly one process does each of these for each disk."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable

from custos.bootstrap import Container, segment_files
from custos.services.storage_watch import StorageWatch

log = logging.getLogger(__name__)

NAME_MAX = 40  # recorder_nodes.name


class NodeDuties:
    SCRUB_EVERY = 120  # ticks: every 10 minutes at 5 s, a batch of the node's segments re-hashed
    STORAGE_EVERY = 12  # once a minute
    OFFLOAD_BATCH = 50

    def __init__(self, container: Container, node_name: str, every_s: float = 5.0) -> None:
        if not node_name or len(node_name) > NAME_MAX:
            raise ValueError(f"node name {node_name!r}: 1 to {NAME_MAX} characters")
        self._c = container
        self.node = node_name
        self._every_s = every_s
        self._ticks = 0
        self.passes: Counter[str] = Counter()  # passes run, per duty
        settings = container.settings
        self._storage = StorageWatch(
            container.uow,
            container.clock,
            container.retention,
            container.alarms,
            f"{node_name}:{settings.resolved_media_dir()}",
            segment_files(settings).disk_usage,
            node=node_name,
        )
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._loop, name="node-duties", daemon=True)]
        if container.offload is not None:
            self._threads.append(
                threading.Thread(target=self._offload_loop, name="node-offload", daemon=True)
            )

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            if t.is_alive():
                t.join(30)

    # ---- one pass of each, callable from tests -----------------------------------------------
    def offload_tick(self) -> int:
        """Upload this node's sealed segments not yet in the store, batch by batch, until none
        is left or the node stops; how many were uploaded."""
        offload = self._c.offload
        if offload is None:
            return 0
        total = 0
        while not self._stop.is_set():
            report = offload.run_once(self.OFFLOAD_BATCH, node=self.node)
            self.passes["offload"] += 1
            total += len(report.uploaded)
            if len(report.uploaded) < self.OFFLOAD_BATCH:  # the rest failed or were skipped
                break
        return total

    def tick(self) -> None:
        self._ticks += 1
        self._run("garbage", lambda: self._c.retention.finish_garbage(node=self.node))
        if self._ticks % self.STORAGE_EVERY == 1:
            self._run("storage", self._storage.check)
        if self._ticks % self.SCRUB_EVERY == 1:
            self._run("scrub", lambda: self._c.scrubber.run(node=self.node))

    # ---- the threads -----------------------------------------------------------------------------
    def _run(self, duty: str, pass_: Callable[[], object]) -> None:
        self.passes[duty] += 1
        try:
            pass_()
        except Exception:  # the timer's boundary: one failed duty must not stop the others
            log.exception("node %s: %s pass failed", self.node, duty)

    def _loop(self) -> None:
        while not self._stop.wait(self._every_s):
            self.tick()

    def _offload_loop(self) -> None:
        every_s = self._c.settings.s3_offload_every_s
        while not self._stop.wait(every_s):
            try:
                uploaded = self.offload_tick()
                if uploaded:
                    log.info("node %s: %d segment(s) uploaded", self.node, uploaded)
            except Exception:  # the timer's boundary: a store outage must not end the timer
                log.exception("node %s: offload pass failed", self.node)
