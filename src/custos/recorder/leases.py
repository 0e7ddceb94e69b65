"""A recorder node's lease keeper (docs/design/cluster.md): a thread that renews the node's camera
leases every 2 s, claims its share of the cameras, and marks its surplus for hand-over. The
supervisor reads :meth:`LeaseKeeper.held` and records exactly those cameras.

A renewal that fails (PostgreSQL restarting, or this node cut off) changes nothing: the node keeps
recording what it holds, and its segments are fenced by their tokens when they are indexed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from custos.domain.cluster import CLAIM_EVERY_S, RENEW_EVERY_S, HeldLease, NodeState
from custos.services.recorder_leases import (
    NodeIdentity,
    NodeNameTakenError,
    NodeReplacedError,
    RecorderLeases,
)

log = logging.getLogger(__name__)


class LeaseKeeper:
    def __init__(
        self,
        leases: RecorderLeases,
        me: NodeIdentity,
        cameras: Callable[[], Sequence[int]],
        renew_every_s: float = RENEW_EVERY_S,
        claim_every_s: float = CLAIM_EVERY_S,
    ) -> None:
        """``cameras``: the ids the registry says to record now."""
        self.me = me
        self._leases = leases
        self._cameras = cameras
        self._renew_every_s = renew_every_s
        self._claim_every_s = claim_every_s
        self._held: dict[int, HeldLease] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._joined = threading.Event()
        self._claiming = True
        self.version = 0  # changes whenever what the node holds changes
        self.renewed_at: float | None = None  # time.monotonic() of the last renewal that worked
        self._renew_failed = False
        #: after the database was unreachable, no claim for one lease period: every node that
        #: was cut off too renews its own expired leases first (docs/design/cluster.md)
        self._claim_after = 0.0
        self._thread = threading.Thread(target=self._loop, name="lease-keeper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def stop_claiming(self) -> None:
        """The node is leaving: keep renewing what it holds until it hands them over."""
        self._claiming = False

    def held(self) -> dict[int, HeldLease]:
        with self._lock:
            return dict(self._held)

    def release(self, camera_ids: Sequence[int]) -> None:
        """Hand cameras over once their workers have sealed their last segment."""
        if not camera_ids:
            return
        self._leases.release(self.me.name, camera_ids)
        with self._lock:
            for cid in camera_ids:
                self._held.pop(cid, None)
            self.version += 1
        log.info("node %s: handed over cameras %s", self.me.name, sorted(camera_ids))

    def leave(self, state: NodeState) -> None:
        self._leases.leave(self.me.name, state)

    def _loop(self) -> None:
        next_claim = 0.0
        while not self._stop.is_set():
            if not self._joined.is_set():
                try:
                    self._leases.join(self.me)
                    self._joined.set()
                except NodeNameTakenError as exc:  # waits until that process is gone
                    log.error("%s; waiting", exc)
                except Exception:  # the database's boundary: tried again at the next tick
                    log.exception("node %s: cannot join the cluster yet", self.me.name)
            if self._joined.is_set():
                renewed = self._renew()
                now = time.monotonic()
                due = now >= next_claim and now >= self._claim_after
                if renewed and self._claiming and due:
                    self._claim()
                    next_claim = now + self._claim_every_s
            self._stop.wait(self._renew_every_s)

    def _renew(self) -> bool:
        """Renew; False when the database could not be reached (no claim in this tick, and
        none for one lease period once it is back)."""
        started = time.monotonic()
        try:
            renewed = {h.camera_id: h for h in self._leases.renew(self.me)}
        except NodeReplacedError as exc:  # another process has the name: it records, not us
            log.error("%s", exc)
            with self._lock:
                self._held = {}
                self.version += 1
            self._joined.clear()  # joins again only once that process is gone
            return False
        except Exception:  # the database's boundary: keep recording what we hold
            log.warning("node %s: cannot renew its leases; recording goes on", self.me.name)
            self._renew_failed = True
            return False
        if self._renew_failed:
            self._renew_failed = False
            self._claim_after = time.monotonic() + self._leases.ttl_s
            log.info("node %s: the database is back; claims wait one lease period", self.me.name)
        self.renewed_at = started
        with self._lock:
            lost = set(self._held) - set(renewed)
            if lost:
                log.warning("node %s: leases lost for cameras %s", self.me.name, sorted(lost))
            if renewed != self._held:
                self._held = renewed
                self.version += 1
        return True

    def _claim(self) -> None:
        try:
            cameras = list(self._cameras())
            with self._lock:
                held = dict(self._held)
            claimed = self._leases.claim(self.me, len(held), cameras)
            if claimed:
                with self._lock:
                    for c in claimed:
                        self._held[c.camera_id] = HeldLease(c.camera_id, c.fencing_token)
                    self.version += 1
                return
            keep = [cid for cid, h in held.items() if not h.releasing]
            surplus = self._leases.surplus(self.me, keep, len(cameras))
            if surplus:
                with self._lock:
                    for cid in surplus:
                        if cid in self._held:
                            self._held[cid] = HeldLease(cid, self._held[cid].fencing_token, True)
                    self.version += 1
        except Exception:  # the database's boundary: tried again at the next claim
            log.warning("node %s: cannot claim cameras now", self.me.name, exc_info=True)
