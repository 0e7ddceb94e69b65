"""The bureau as a witness of its units' signed checkpoints (docs/design/evidence.md, "The
bureau as a witness").

A **sender** is a unit system whose operation-log key the bureau registered; a **held
checkpoint** is one copy the bureau keeps, accepted or kept as evidence of a conflict. What
contradicts what is decided here: a different checkpoint of a size already held, or one whose
time disagrees with the order of the sizes held around it.
"""

from __future__ import annotations

import enum
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from custos.domain.audit_chain import Checkpoint, canonical_time
from custos.domain.audit_witness import MAX_TREE_SIZE, MEMBERS, witness_line

NAME_MAX = 128
PAGE_MAX = 1000
PAGE_DEFAULT = 500


def bureau_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a bureau's base URL (None: it can). http or https with a host and
    nothing else: no user name or password (the witness routes need none, so no secret can end
    up in a log), no query or fragment."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number)
    except ValueError:
        return "not a URL"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "the bureau's base URL is http:// or https:// with a host"
    if parts.username is not None or parts.password is not None:
        return "the bureau's URL carries no user name or password (none is needed)"
    if parts.query or parts.fragment:
        return "the bureau's base URL has no query or fragment"
    return None


@dataclass(frozen=True)
class Sender:
    """A unit system that may hand the bureau its checkpoints, known by its log key."""

    key_id: str  # as the log computes it (audit_chain.key_id_of)
    name: str
    public_key: bytes  # raw Ed25519, 32 bytes
    registered_at: datetime
    registered_by: str

    def as_dict(self) -> dict[str, object]:
        return {
            "key_id": self.key_id,
            "name": self.name,
            "public_key": self.public_key.hex(),
            "registered_at": canonical_time(self.registered_at),
            "registered_by": self.registered_by,
        }


class ConflictKind(enum.StrEnum):
    SAME_SIZE = "same_size"  # another checkpoint of a tree size already held
    OUT_OF_ORDER = "out_of_order"  # its time disagrees with the order of the sizes held


@dataclass(frozen=True)
class HeldCheckpoint:
    """One copy the bureau keeps: accepted (``conflict`` None) or kept as evidence."""

    checkpoint: Checkpoint
    received_at: datetime
    conflict: ConflictKind | None = None
    conflicts_with: int | None = None  # the id of the accepted copy it contradicts
    id: int | None = None

    @property
    def line(self) -> bytes:
        """The canonical witness line, without its newline."""
        return witness_line(self.checkpoint).rstrip(b"\n")

    @property
    def digest(self) -> str:
        return line_digest(self.checkpoint)

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "checkpoint": witness_body(self.checkpoint),
            "received_at": canonical_time(self.received_at),
            "conflict": None if self.conflict is None else self.conflict.value,
            "conflicts_with": self.conflicts_with,
        }


def witness_body(cp: Checkpoint) -> dict[str, object]:
    """The witness line's object (``{"type": "checkpoint", "log": …, "tree_size": …}``)."""
    body: dict[str, object] = json.loads(witness_line(cp))
    return body


def member_problems(body: bytes) -> list[tuple[str, str]]:
    """For a body that is not a checkpoint: each member that is missing, extra or out of range,
    so that a refusal names every field at fault (an empty list when it is not even an object)."""
    try:
        d = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return []
    if not isinstance(d, dict):
        return []
    problems = [(m, "missing") for m in sorted(MEMBERS - set(d))]
    problems += [(m, "not a member of a checkpoint") for m in sorted(set(d) - MEMBERS)]
    size = d.get("tree_size")
    if "tree_size" in d and (
        not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= MAX_TREE_SIZE
    ):
        problems.append(("tree_size", f"an integer 1..{MAX_TREE_SIZE}"))
    return problems


def line_digest(cp: Checkpoint) -> str:
    """SHA-256 of the canonical witness line: two copies are the same checkpoint iff equal."""
    return hashlib.sha256(witness_line(cp)).hexdigest()


@dataclass(frozen=True)
class Contradiction:
    kind: ConflictKind
    held: HeldCheckpoint  # the accepted copy it contradicts
    reason: str


def contradiction(
    cp: Checkpoint,
    same_size: HeldCheckpoint | None,
    smaller: HeldCheckpoint | None,
    larger: HeldCheckpoint | None,
) -> Contradiction | None:
    """What ``cp`` contradicts among the accepted copies of its key: the one of its size (when
    it is not the same checkpoint), the largest smaller one and the smallest larger one.

    A log's checkpoints are signed in the order of their sizes, so a checkpoint signed after a
    larger one (or before a smaller one) means the log shrank and grew again, or the sender's
    clock went back. Equal times are not a contradiction."""
    n, at = cp.tree_size, canonical_time(cp.signed_at)
    if same_size is not None and line_digest(same_size.checkpoint) != line_digest(cp):
        held = same_size.checkpoint
        if held.root != cp.root:
            what = f"another root ({cp.root.hex()[:16]}… against {held.root.hex()[:16]}…)"
        else:
            what = f"the same root signed at another time ({canonical_time(held.signed_at)})"
        reason = (
            f"checkpoint {n} of key {cp.key_id} (signed {at}) differs from the one held "
            f"(record {same_size.id}): {what}"
        )
        return Contradiction(ConflictKind.SAME_SIZE, same_size, reason)
    if same_size is not None:
        return None
    if smaller is not None and smaller.checkpoint.signed_at > cp.signed_at:
        return Contradiction(
            ConflictKind.OUT_OF_ORDER,
            smaller,
            _order_reason(cp, smaller, "before the smaller"),
        )
    if larger is not None and larger.checkpoint.signed_at < cp.signed_at:
        return Contradiction(
            ConflictKind.OUT_OF_ORDER,
            larger,
            _order_reason(cp, larger, "after the larger"),
        )
    return None


def _order_reason(cp: Checkpoint, held: HeldCheckpoint, where: str) -> str:
    other = held.checkpoint
    return (
        f"checkpoint {cp.tree_size} of key {cp.key_id} is signed {canonical_time(cp.signed_at)}, "
        f"{where} checkpoint {other.tree_size} held (record {held.id}, signed "
        f"{canonical_time(other.signed_at)}): the log shrank and grew again, or its clock went "
        "back"
    )


@dataclass(frozen=True)
class HeldPage:
    """A page of what the bureau holds for one key, oldest received first."""

    key_id: str
    newest_tree_size: int  # the largest accepted tree size; 0 when none
    checkpoints: list[HeldCheckpoint]
    next_after: int | None  # the last id when more may follow

    def as_dict(self) -> dict[str, object]:
        return {
            "key_id": self.key_id,
            "newest_tree_size": self.newest_tree_size,
            "checkpoints": [h.as_dict() for h in self.checkpoints],
            "next_after": self.next_after,
        }
