"""What the cluster looks like now (issue 16 §2, docs/design/cluster.md): the recorder nodes
and their leases, the cameras no live node records, each node's offload lag, the segments
refused for a stale token, and which server runs each timed duty.

The offload lag reads the segments not yet offloaded (as the offload's own ``pending``
query), through a partial index of that backlog (migration 0027): its cost grows with the
backlog, not with the whole index (an anti-join took ~0.18 s for 300,000 segments).

Read only. Every age is measured on PostgreSQL's clock (the clock of the leases). On one machine
(SQLite, or PostgreSQL with no recorder node ever registered) the status says so: one recorder
records every camera, no lease exists, and the one server runs every duty; nothing is flagged."""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Protocol

from custos.domain.access import Permission
from custos.domain.clock import Clock
from custos.domain.cluster import LEASE_TTL_S, CameraLease, RecorderNode
from custos.domain.duty_leases import DutyHolder
from custos.domain.users import Principal

REFUSED_SHOWN_MAX = 100


# ---- what the database holds (the port) ----------------------------------------------------
@dataclass(frozen=True)
class OffloadRow:
    node: str | None  # None: the one-machine recorder's segments
    pending: int
    oldest_end_at: datetime | None


@dataclass(frozen=True)
class ClusterRows:
    """One read of the cluster's tables, in one transaction."""

    now: datetime | None  # the database's clock (None: SQLite, whose clock is not the leases')
    leases_kept: bool  # the database can hold leases (PostgreSQL)
    nodes: list[RecorderNode]
    leases: list[CameraLease]
    offload: list[OffloadRow]
    refused_count: int
    refused: list[dict[str, Any]]  # newest first


class ClusterStatusSource(Protocol):
    def read(self, ttl_s: float, refused_limit: int) -> ClusterRows: ...


class Target(Protocol):
    """A camera the registry says to record (``RecordingService.targets``)."""

    @property
    def camera_id(self) -> int: ...
    @property
    def address_code(self) -> str: ...


class DutyHolders(Protocol):
    """Who holds the timed duties' leases (``DutyLeases``)."""

    @property
    def local(self) -> bool: ...
    def holders(self) -> list[DutyHolder]: ...


# ---- what the status says -------------------------------------------------------------------
class SingleMachine(enum.StrEnum):
    """Why the status is one machine's."""

    SQLITE = "sqlite"  # SQLite is one machine's database: no recorder node can join it
    NO_NODES = "no_nodes"  # PostgreSQL, but no recorder node has ever joined


class ProblemKind(enum.StrEnum):
    UNRECORDED = "unrecorded"  # a camera in service that no live node holds
    DEAD_HOLDER = "dead_holder"  # a node that is not live still holds leases


@dataclass(frozen=True)
class Problem:
    kind: ProblemKind
    subject: str  # the camera's id or the node's name


@dataclass(frozen=True)
class OffloadLag:
    node: str | None
    pending: int  # sealed and indexed, not yet in the object store
    oldest_end_at: datetime | None
    oldest_age_s: float | None


@dataclass(frozen=True)
class NodeStatus:
    name: str
    address: str
    capacity: int
    version: str
    state: str
    live: bool
    heartbeat_age_s: float
    cameras: list[int]  # the leases it holds (expired ones included until another claims them)
    handing_over: list[int]  # asked to hand over: the segment in flight is being finished
    expired: list[int]  # held, but the lease has run out


@dataclass(frozen=True)
class CameraRef:
    id: int
    address_code: str


@dataclass(frozen=True)
class DutyStatus:
    duty: str
    holder: str | None  # the last holder when not live; None when released
    live: bool
    token: int
    expires_in_s: float  # negative: expired that long ago


@dataclass(frozen=True)
class ClusterStatus:
    at: datetime
    clustered: bool  # False: one machine, one recorder, no leases
    single_machine: SingleMachine | None  # why not clustered
    cameras_in_service: int
    nodes: list[NodeStatus]
    unrecorded: list[CameraRef]
    unleased: int  # cameras in service with no lease row yet (never claimed)
    offload: list[OffloadLag] | None  # None: no object store configured
    refused_count: int
    refused: list[dict[str, Any]]
    duties_local: bool  # True: one server, every duty runs there (no duty lease)
    duties: list[DutyStatus]
    problems: list[Problem] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        """The status as JSON-ready values (``custos cluster status --json``, the API)."""
        body = asdict(self)
        body["healthy"] = self.healthy
        return {k: _jsonable(v) for k, v in body.items()}


def _jsonable(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


# ---- the service ----------------------------------------------------------------------------
class ClusterStatusService:
    def __init__(
        self,
        source: ClusterStatusSource,
        clock: Clock,
        targets: Callable[[], Sequence[Target]],
        duties: DutyHolders,
        offload_enabled: bool,
        ttl_s: float = LEASE_TTL_S,
    ) -> None:
        self._source = source
        self._clock = clock
        self._targets = targets
        self._duties = duties
        self._offload_enabled = offload_enabled
        self._ttl_s = ttl_s

    def status(self, actor: Principal, refused_shown: int = 5) -> ClusterStatus:
        actor.require(Permission.CLUSTER_READ)
        if not 0 <= refused_shown <= REFUSED_SHOWN_MAX:
            raise ValueError(f"refused_shown: 0 to {REFUSED_SHOWN_MAX}")
        rows = self._source.read(self._ttl_s, refused_shown)
        targets = sorted(self._targets(), key=lambda t: t.camera_id)
        now = rows.now or self._clock.now()
        clustered = rows.leases_kept and bool(rows.nodes)
        nodes = [_node(n, rows.leases, now) for n in rows.nodes]
        unrecorded, unleased = (
            _unrecorded(targets, rows.nodes, rows.leases, now) if clustered else ([], 0)
        )
        duties = [] if self._duties.local else self._duties.holders()
        return ClusterStatus(
            at=now,
            clustered=clustered,
            single_machine=None
            if clustered
            else SingleMachine.NO_NODES
            if rows.leases_kept
            else SingleMachine.SQLITE,
            cameras_in_service=len(targets),
            nodes=nodes,
            unrecorded=unrecorded,
            unleased=unleased,
            offload=_offload(rows.offload, rows.nodes, now) if self._offload_enabled else None,
            refused_count=rows.refused_count,
            refused=rows.refused,
            duties_local=self._duties.local,
            duties=[
                DutyStatus(d.duty, d.holder, d.live, d.token, (d.expires_at - now).total_seconds())
                for d in duties
            ],
            problems=[Problem(ProblemKind.UNRECORDED, str(c.id)) for c in unrecorded]
            + [Problem(ProblemKind.DEAD_HOLDER, n.name) for n in nodes if n.cameras and not n.live],
        )


def _node(n: RecorderNode, leases: list[CameraLease], now: datetime) -> NodeStatus:
    held = [x for x in leases if x.holder == n.name]
    return NodeStatus(
        name=n.name,
        address=n.address,
        capacity=n.capacity,
        version=n.version,
        state=str(n.state),
        live=n.live,
        heartbeat_age_s=max(0.0, (now - n.heartbeat_at).total_seconds()),
        cameras=[x.camera_id for x in held],
        handing_over=[x.camera_id for x in held if x.releasing],
        expired=[x.camera_id for x in held if x.expires_at <= now],
    )


def _unrecorded(
    targets: Sequence[Target],
    nodes: list[RecorderNode],
    leases: list[CameraLease],
    now: datetime,
) -> tuple[list[CameraRef], int]:
    """Cameras in service whose lease has no holder, has run out, or is held by a node that is
    not live; and how many of them have no lease row at all."""
    live = {n.name for n in nodes if n.live}
    by_camera = {x.camera_id: x for x in leases}
    out: list[CameraRef] = []
    unleased = 0
    for t in targets:
        lease = by_camera.get(t.camera_id)
        if lease is None:
            unleased += 1
        elif lease.holder in live and lease.expires_at > now:
            continue
        out.append(CameraRef(t.camera_id, t.address_code))
    return out, unleased


def _offload(rows: list[OffloadRow], nodes: list[RecorderNode], now: datetime) -> list[OffloadLag]:
    """A line per node (none pending included), and the one-machine recorder's where it has
    segments waiting or there is no node."""
    by_node = {r.node: r for r in rows}
    names: list[str | None] = [n.name for n in nodes]
    names += sorted((r.node for r in rows if r.node is not None and r.node not in names), key=str)
    if None in by_node or not nodes:
        names.insert(0, None)
    out = []
    for name in names:
        r = by_node.get(name, OffloadRow(name, 0, None))
        age = None if r.oldest_end_at is None else max(0.0, (now - r.oldest_end_at).total_seconds())
        out.append(OffloadLag(name, r.pending, r.oldest_end_at, age))
    return out
