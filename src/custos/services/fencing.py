"""The index's fence (docs/design/cluster.md, "Fencing"): a segment recorded under a camera
lease's token is indexed only while that token is current, or when it ended before the next
term began; otherwise it is refused, kept aside and reported — never dropped, never indexed
twice."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from custos.domain.audit import AuditEvent
from custos.domain.cluster import TokenVerdict, fencing_verdict
from custos.domain.recording import Segment
from custos.services.ports import RecordingUnitOfWork

#: Where the store keeps a refused file (relative path in, relative path out): out of the
#: camera tree, so that no reconcile adopts it.
KeptAt = Callable[[str], str]


def unfenced(path: str) -> str:
    """The ``kept_at`` of a caller that records without leases: it never has a token to refuse."""
    raise AssertionError(f"{path}: a segment with a fencing token needs a place to be kept")


@dataclass(frozen=True)
class RefusedSegment:
    id: int
    camera_id: int
    path: str  # where it was recorded (relative to the media root)
    kept_at: str  # where it is kept (relative to the media root)
    fencing_token: int
    current_token: int
    why: str


def fence(
    uow: RecordingUnitOfWork, s: Segment, now: datetime, actor: str, kept_at: KeptAt
) -> RefusedSegment | None:
    """Inside the transaction that would index ``s``: None to index it, or the refusal (its row
    and its operation-log entry written in that same transaction). The lease row stays locked
    until the transaction ends, so no grant can slip between this check and the insert."""
    if s.fencing_token is None:
        return None
    # the log's append lock first: seals queue on it, and one queued holding the lease row
    # would hold its node's renewal too (all of a node's leases renew in one statement)
    uow.audit.lock()
    current = uow.leases.current_token(s.camera_id)
    if current is None:
        current = 0
        why = "no lease exists for this camera"
    else:
        why = ""
    next_began = uow.leases.term_began(s.camera_id, s.fencing_token + 1)
    verdict = fencing_verdict(s.fencing_token, current, s.end_at, next_began)
    if verdict is TokenVerdict.INDEX and not why:
        return None
    before = uow.leases.refused_as(s.path, s.sha256)
    if before is not None:  # refused already (its file's move failed, or a crash came between)
        return RefusedSegment(
            int(str(before["id"])), s.camera_id, s.path, str(before["kept_at"]),
            s.fencing_token, int(str(before["current_token"])), str(before["why"]),
        )  # fmt: skip
    if not why:
        why = f"recorded under token {s.fencing_token}, the lease is at {current}" + (
            f"; the next term began at {next_began.isoformat()}" if next_began else ""
        )
    row: dict[str, object] = {
        "camera_id": s.camera_id,
        "node": s.node or "",
        "fencing_token": s.fencing_token,
        "current_token": current,
        "path": s.path,
        "kept_at": kept_at(s.path),
        "start_at": s.start_at,
        "end_at": s.end_at,
        "bytes": s.bytes,
        "sha256": s.sha256,
        "refused_at": now,
        "why": why,
    }
    refused_id = uow.leases.add_refused(row)
    detail: dict[str, object] = {
        k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()
    }
    uow.audit.append(
        AuditEvent(now, actor, "segment.refuse", "refused_segment", str(refused_id), detail=detail)
    )
    return RefusedSegment(
        refused_id, s.camera_id, s.path, str(row["kept_at"]), s.fencing_token, current, why
    )
