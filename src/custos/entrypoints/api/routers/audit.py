"""The operation log (运行记录): entries, signed checkpoints, inclusion proofs, verification."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from custos.domain.access import Permission
from custos.domain.audit_chain import Checkpoint
from custos.entrypoints.api.bounds import Seq
from custos.entrypoints.api.deps import Caller, ContainerDep, needs
from custos.services.audit_log import AuditRecord, EntryFilter

router = APIRouter(prefix="/audit", tags=["audit"])
Reader = Annotated[Caller, needs(Permission.AUDIT_READ)]
NO_NUL = r"^[^\x00]*$"  # PostgreSQL text holds no NUL: refused as input (422), never a 500


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AuditEntryOut(_Out):
    seq: int
    entry: dict[str, Any]  # the canonical entry, exactly as hashed
    leaf_hash: str
    chain_hash: str

    @classmethod
    def of(cls, r: AuditRecord) -> AuditEntryOut:
        return cls(seq=r.seq, entry=r.entry, leaf_hash=r.leaf.hex(), chain_hash=r.chain.hex())


class EntriesPage(_Out):
    entries: list[AuditEntryOut]
    next_after_seq: int | None  # pass as after_seq for the next page; null on the last


class CheckpointOut(_Out):
    tree_size: int
    root: str
    chain: str
    signed_at: str
    key_id: str
    signature: str

    @classmethod
    def of(cls, cp: Checkpoint) -> CheckpointOut:
        return cls(**cp.as_dict())


class CheckpointsPage(_Out):
    public_key: str
    key_id: str
    checkpoints: list[CheckpointOut]


class InclusionProofOut(_Out):
    seq: int
    leaf_index: int
    tree_size: int
    entry: dict[str, Any]
    leaf_hash: str
    audit_path: list[str]
    root: str
    checkpoint: CheckpointOut
    public_key: str


class FindingOut(_Out):
    seq: int
    problem: str
    detail: str


class VerificationOut(_Out):
    ok: bool
    entries: int
    checkpoints: int
    root: str
    chain: str
    unsigned_entries: int
    first_bad: FindingOut | None
    notes: list[str]


@router.get("/entries", response_model=EntriesPage)
def list_entries(
    caller: Reader,
    c: ContainerDep,
    after_seq: Annotated[Seq, Query()] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> EntriesPage:
    records = c.audit.entries(caller.principal, after_seq, limit)
    entries = [AuditEntryOut.of(r) for r in records]
    more = len(records) == limit
    return EntriesPage(entries=entries, next_after_seq=records[-1].seq if more else None)


class NewestPage(_Out):
    entries: list[AuditEntryOut]
    next_before_seq: int | None  # pass as before_seq for the next (older) page; null on the last


@router.get("/search", response_model=NewestPage)
def search_entries(
    caller: Reader,
    c: ContainerDep,
    before_seq: Annotated[Seq | None, Query()] = None,
    action: Annotated[
        str | None, Query(max_length=64, pattern=NO_NUL, description="an action or prefix")
    ] = None,
    actor: Annotated[str | None, Query(max_length=64, pattern=NO_NUL)] = None,
    q: Annotated[
        str | None, Query(max_length=200, pattern=NO_NUL, description="text anywhere in the entry")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> NewestPage:
    """The log newest first, filtered, keyset-paged by ``seq`` (never by offset: entries keep
    arriving, and an offset would shift under the reader)."""
    where = EntryFilter(action or None, actor or None, q or None)
    records = c.audit.newest(caller.principal, before_seq, limit + 1, where)
    page, more = records[:limit], len(records) > limit
    entries = [AuditEntryOut.of(r) for r in page]
    return NewestPage(entries=entries, next_before_seq=page[-1].seq if more else None)


@router.get("/checkpoints", response_model=CheckpointsPage)
def list_checkpoints(
    caller: Reader,
    c: ContainerDep,
    after_size: Annotated[Seq, Query()] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> CheckpointsPage:
    cps = c.audit.checkpoints(caller.principal, after_size, limit)
    return CheckpointsPage(
        public_key=c.audit.public_key.hex(),
        key_id=c.audit.key_id,
        checkpoints=[CheckpointOut.of(cp) for cp in cps],
    )


@router.get("/proofs/{seq}", response_model=InclusionProofOut)
def inclusion_proof(seq: Seq, caller: Reader, c: ContainerDep) -> InclusionProofOut:
    return InclusionProofOut(**c.audit.proof(caller.principal, seq).as_dict())


@router.post("/verify", response_model=VerificationOut)
def verify(caller: Reader, c: ContainerDep) -> VerificationOut:
    return VerificationOut(**c.audit.verify(caller.principal).as_dict())
