"""Recorder nodes sharing cameras by lease (docs/design/cluster.md): names, shares and the index's
verdict on a segment's fencing token. Pure: no clock, no database."""

from __future__ import annotations

import enum
import math
import re
from dataclasses import dataclass
from datetime import datetime

NODE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
MAX_CAPACITY = 2000

#: Seconds a lease lasts without renewal; a node renews every RENEW_EVERY_S and looks for
#: cameras to claim every CLAIM_EVERY_S (docs/design/cluster.md: a dead node's cameras are
#: recorded again within TTL + CLAIM_EVERY_S + the start of a recording).
LEASE_TTL_S = 10.0
RENEW_EVERY_S = 2.0
CLAIM_EVERY_S = 2.0


class NodeState(enum.StrEnum):
    RUNNING = "running"
    LEAVING = "leaving"  # handing its cameras over before it stops
    STOPPED = "stopped"


def check_node_name(name: str) -> str:
    """A node's name as the cluster knows it, or ValueError naming the rule."""
    if not NODE_NAME.match(name):
        raise ValueError(
            f"node name {name!r}: 1 to 40 of a-z, 0-9 and '-', starting with a letter or digit"
        )
    return name


def check_capacity(capacity: int) -> int:
    if not 1 <= capacity <= MAX_CAPACITY:
        raise ValueError(f"capacity {capacity}: a node records 1 to {MAX_CAPACITY} cameras")
    return capacity


@dataclass(frozen=True)
class RecorderNode:
    name: str
    address: str
    capacity: int
    version: str
    started_at: datetime
    heartbeat_at: datetime
    state: NodeState
    live: bool  # its heartbeat is younger than a lease


@dataclass(frozen=True)
class HeldLease:
    """A camera a node holds: the token its segments carry, and whether to hand it over."""

    camera_id: int
    fencing_token: int
    releasing: bool = False


@dataclass(frozen=True)
class Claimed:
    """A camera just granted to a node, and who held it before (None: never leased or released)."""

    camera_id: int
    fencing_token: int
    previous_holder: str | None
    previous_expired: bool  # the previous holder lost it by expiry, not by handing it over


@dataclass(frozen=True)
class CameraLease:
    camera_id: int
    holder: str | None
    expires_at: datetime
    fencing_token: int
    granted_at: datetime | None
    releasing: bool


def share(cameras: int, capacity: int, live_capacities: list[int]) -> int:
    """How many cameras a node should record: its part of ``cameras`` in proportion to its
    capacity among the live nodes (itself included), rounded up, never above its capacity."""
    total = sum(live_capacities)
    if cameras <= 0 or total <= 0:
        return 0
    return min(capacity, math.ceil(cameras * capacity / total))


class TokenVerdict(enum.StrEnum):
    INDEX = "index"
    REFUSE = "refuse"


def fencing_verdict(
    token: int, current: int, end_at: datetime, next_term_granted_at: datetime | None
) -> TokenVerdict:
    """Whether the index takes a segment recorded under ``token`` while the camera's lease is at
    ``current``: the current token always; an older one only when the segment ended before the
    next term began (it was recorded in its own term and indexed late)."""
    if token == current:
        return TokenVerdict.INDEX
    if token < current and next_term_granted_at is not None and end_at <= next_term_granted_at:
        return TokenVerdict.INDEX
    return TokenVerdict.REFUSE
