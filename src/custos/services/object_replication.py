"""The object store's replication as its master sees it: the volumes that have fewer copies than
their replication requires, and how much footage they hold (issue 16 §3; docs/design/storage.md,
"Replicated").

Replication is written the SeaweedFS way, three digits ``XYZ``: X more copies in other data
centres, Y on other racks of the same data centre, Z on other servers of the same rack; a volume
needs X+Y+Z+1 copies. The topology (which server holds which volume) is a port; the SeaweedFS
master's adapter is ``custos.adapters.storage.seaweedfs_replication``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Literal, Protocol

_REPLICATION = re.compile(r"[0-9]{3}")


def copies_required(replication: str) -> int:
    """How many copies ``XYZ`` asks for (ValueError unless three digits)."""
    if not _REPLICATION.fullmatch(replication):
        raise ValueError(
            f"replication {replication!r} is not three digits (XYZ: more copies in other"
            " data centres, other racks, other servers), e.g. 001"
        )
    return sum(int(d) for d in replication) + 1


# ---- the port --------------------------------------------------------------------------------
@dataclass(frozen=True)
class VolumeCopy:
    """One copy of one volume on one volume server, as the master last heard of it."""

    volume_id: int
    collection: str  # SeaweedFS makes one per bucket
    server: str
    replication: str  # XYZ
    files: int  # live files (SeaweedFS counts one per chunk)
    bytes: int  # live bytes


class TopologyUnavailableError(Exception):
    """The master could not be asked (down, unreachable, or an answer we cannot read)."""


class VolumeTopology(Protocol):
    @property
    def where(self) -> str: ...

    def copies(self) -> list[VolumeCopy]:
        """Every copy of every volume; TopologyUnavailableError when the master cannot say."""
        ...


# ---- the report ------------------------------------------------------------------------------
@dataclass(frozen=True)
class UnderReplicated:
    volume_id: int
    collection: str
    present: int
    required: int
    servers: tuple[str, ...]  # where the copies that are left are
    files: int
    bytes: int


@dataclass
class ReplicationReport:
    """``checked``: the master answered; ``not_configured``: no master to ask (not a failure);
    ``unreachable``: one is configured and did not answer (a check that could not look)."""

    status: Literal["checked", "not_configured", "unreachable"]
    master: str | None = None
    collection: str = ""
    volumes: int = 0
    servers: int = 0
    under_replicated: list[UnderReplicated] = field(default_factory=list)
    files_at_risk: int = 0  # in under-replicated volumes of the bucket's collection
    bytes_at_risk: int = 0
    error: str | None = None

    @property
    def clean(self) -> bool:
        return self.status != "unreachable" and not self.under_replicated

    def as_dict(self) -> dict[str, object]:
        return asdict(self) | {"clean": self.clean}

    def summary(self) -> str:
        """One line for ``custos check``."""
        if self.status == "not_configured":
            return "replication not checked (CUSTOS_S3_MASTER_URL is not set)"
        if self.status == "unreachable":
            return f"replication NOT checked: {self.error}"
        if not self.under_replicated:
            return (
                f"replication: {self.volumes} volume(s) on {self.servers} server(s),"
                " none under-replicated"
            )
        return (
            f"replication: {len(self.under_replicated)} of {self.volumes} volume(s)"
            f" under-replicated; at risk in bucket {self.collection}: {self.files_at_risk}"
            f" file(s), {self.bytes_at_risk} bytes"
        )

    def lines(self) -> list[str]:
        """One line per under-replicated volume."""
        return [
            f"under-replicated volume {u.volume_id} ({u.collection or '-'}): {u.present} of"
            f" {u.required} copies (on {', '.join(u.servers)}), {u.files} file(s), {u.bytes} bytes"
            for u in self.under_replicated
        ]


def assess(
    copies: Iterable[VolumeCopy], collection: str, master: str | None = None
) -> ReplicationReport:
    """Group the copies by volume and report each volume with fewer than it requires. A volume's
    files and bytes are the largest any of its copies reports (copies report at their own pace)."""
    by_volume: dict[int, list[VolumeCopy]] = {}
    servers: set[str] = set()
    for c in copies:
        by_volume.setdefault(c.volume_id, []).append(c)
        servers.add(c.server)
    report = ReplicationReport("checked", master, collection, len(by_volume), len(servers))
    for vid in sorted(by_volume):
        held = by_volume[vid]
        required = max(copies_required(c.replication) for c in held)
        present = len({c.server for c in held})
        if present >= required:
            continue
        files = max(c.files for c in held)
        size = max(c.bytes for c in held)
        report.under_replicated.append(
            UnderReplicated(
                vid, held[0].collection, present, required,
                tuple(sorted({c.server for c in held})), files, size,
            )
        )  # fmt: skip
        if held[0].collection == collection:
            report.files_at_risk += files
            report.bytes_at_risk += size
    return report


def check_replication(topology: VolumeTopology | None, collection: str) -> ReplicationReport:
    """Ask the topology (None: none configured) and assess what it says; never raises for an
    unreachable master, which is reported instead."""
    if topology is None:
        return ReplicationReport("not_configured", collection=collection)
    try:
        copies = topology.copies()
    except TopologyUnavailableError as exc:
        return ReplicationReport("unreachable", topology.where, collection, error=str(exc)[:300])
    return assess(copies, collection, topology.where)
