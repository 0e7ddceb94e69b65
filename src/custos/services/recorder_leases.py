"""A recorder node's side of the camera leases (docs/design/cluster.md, "The lease and fencing
protocol"): join, renew, claim its share, hand over its surplus, leave. Every decision is one
PostgreSQL transaction; every lease time is PostgreSQL's."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field

from custos.domain.audit import AuditEvent
from custos.domain.clock import Clock
from custos.domain.cluster import (
    LEASE_TTL_S,
    CameraLease,
    Claimed,
    HeldLease,
    NodeState,
    RecorderNode,
    share,
)
from custos.domain.recording import Gap, OfflineReason
from custos.services.ports import RecordingUnitOfWork, RecordingUnitOfWorkFactory

log = logging.getLogger(__name__)
ACTOR = "recorder"


@dataclass(frozen=True)
class NodeIdentity:
    name: str
    address: str
    capacity: int
    version: str
    #: this process: two processes never use one name at once (docs/design/cluster.md)
    instance: str = field(default_factory=lambda: secrets.token_hex(8))


class NodeNameTakenError(Exception):
    """Another process uses the node's name and its heartbeat is fresh."""


class NodeReplacedError(Exception):
    """This process's name was taken over by another process (it was thought dead)."""


@dataclass(frozen=True)
class ClusterView:
    nodes: list[RecorderNode]
    leases: list[CameraLease]
    refused: list[dict[str, object]]


class RecorderLeases:
    def __init__(
        self, uow: RecordingUnitOfWorkFactory, clock: Clock, ttl_s: float = LEASE_TTL_S
    ) -> None:
        self._uow = uow
        self._clock = clock
        self.ttl_s = ttl_s

    def join(self, me: NodeIdentity) -> None:
        """Register this process under the node's name; NodeNameTakenError while another live
        process has it. Taking the name over from a process that stopped renewing gives every
        lease it held a new token, so whatever that process still records is refused."""
        with self._uow() as uow:
            before = uow.leases.instance_of(me.name)
            if not uow.leases.upsert_node(
                me.name, me.address, me.capacity, me.version, NodeState.RUNNING,
                me.instance, self.ttl_s,
            ):  # fmt: skip
                other = next((n for n in uow.leases.nodes(self.ttl_s) if n.name == me.name), None)
                where = f" at {other.address}" if other else ""
                raise NodeNameTakenError(
                    f"recorder node {me.name}: another process{where} is running under this name"
                    f" (its heartbeat is younger than {self.ttl_s:.0f} s); give this one another"
                    " --node name, or stop the other"
                )
            fenced = uow.leases.fence_name(me.name) if before not in (None, me.instance) else []
            uow.audit.append(
                AuditEvent(
                    self._clock.now(),
                    ACTOR,
                    "recorder_node.join",
                    "recorder_node",
                    me.name,
                    detail={
                        "address": me.address,
                        "capacity": me.capacity,
                        "version": me.version,
                        "fenced_cameras": fenced,
                    },
                )
            )
            uow.commit()

    def renew(self, me: NodeIdentity) -> list[HeldLease]:
        """Extend every lease the node still holds; what is not returned it has lost.
        NodeReplacedError when another process took its name over."""
        with self._uow() as uow:
            if not uow.leases.heartbeat(me.name, me.instance):
                raise NodeReplacedError(
                    f"recorder node {me.name}: another process took this name over; this one "
                    "stops recording"
                )
            held = uow.leases.renew(me.name, self.ttl_s)
            uow.commit()
        return held

    def claim(self, me: NodeIdentity, held: int, cameras: Sequence[int]) -> list[Claimed]:
        """Claim up to this node's share of ``cameras`` (those the registry says to record)
        beyond the ``held`` it has; open each claimed camera's gap with why it moved."""
        with self._uow() as uow:
            uow.leases.ensure(cameras)
            live = [n.capacity for n in uow.leases.nodes(self.ttl_s) if n.live]
            if not live:  # our own heartbeat is in the same table: only when it just expired
                live = [me.capacity]
            missing = share(len(cameras), me.capacity, live) - held
            claimed = uow.leases.claim(me.name, cameras, missing, self.ttl_s)
            for c in claimed:
                self._open_gap(uow, me.name, c)
            uow.commit()
        for c in claimed:
            log.info(
                "node %s: camera %s claimed, token %d (from %s)",
                me.name,
                c.camera_id,
                c.fencing_token,
                c.previous_holder or "no one",
            )
        return claimed

    def surplus(self, me: NodeIdentity, held: Sequence[int], cameras: int) -> list[int]:
        """The cameras to hand over (the highest ids first) when this node holds more than its
        share — a node joined, or one that was away came back — and mark them ``releasing``."""
        with self._uow() as uow:
            live = [n.capacity for n in uow.leases.nodes(self.ttl_s) if n.live]
            target = share(cameras, me.capacity, live or [me.capacity])
            extra = len(held) - target
            if extra <= 0:
                return []
            chosen = sorted(held)[-extra:]
            uow.leases.mark_releasing(me.name, chosen)
            uow.commit()
        log.info("node %s: handing over %d cameras (share %d)", me.name, len(chosen), target)
        return chosen

    def release(self, node: str, camera_ids: Sequence[int]) -> None:
        with self._uow() as uow:
            uow.leases.release(node, camera_ids)
            uow.commit()

    def leave(self, node: str, state: NodeState) -> None:
        with self._uow() as uow:
            uow.leases.set_node_state(node, state)
            if state is NodeState.STOPPED:
                uow.audit.append(
                    AuditEvent(
                        self._clock.now(), ACTOR, "recorder_node.stop", "recorder_node", node
                    )
                )
            uow.commit()

    def view(self) -> ClusterView:
        with self._uow() as uow:
            return ClusterView(
                uow.leases.nodes(self.ttl_s), uow.leases.leases(), uow.leases.refused()
            )

    def _open_gap(self, uow: RecordingUnitOfWork, node: str, c: Claimed) -> None:
        """The camera's footage stops where its last segment ends; say why it moved (a camera
        never recorded has no hole to explain)."""
        if c.previous_holder is not None and c.previous_holder != node:
            reason, detail = OfflineReason.NODE_LOST, f"node {c.previous_holder} stopped renewing"
        elif c.previous_holder is None and c.fencing_token > 1:
            reason, detail = OfflineReason.LEASE_HANDOVER, f"handed over to node {node}"
        else:
            reason, detail = OfflineReason.RECORDER_RESTART, f"node {node} started"
        last = uow.segments.last_of(c.camera_id)
        if last is None or uow.gaps.open_for(c.camera_id) is not None:
            return
        uow.gaps.add(Gap(None, c.camera_id, last.end_at, None, reason, detail))
