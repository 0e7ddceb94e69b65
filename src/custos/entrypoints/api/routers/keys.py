"""The system's public keys: public, holds no secret (docs/design/evidence.md, "Keys").

A checker compares the fingerprint printed on a package's sheet, or given to them, with this
list; the private keys never leave the data directory.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from custos.domain.evidence import PublishedKey, grouped
from custos.entrypoints.api.deps import ContainerDep

router = APIRouter(tags=["keys"])


class KeyOut(BaseModel):
    kind: str  # "export" (signs package manifests) or "log" (signs checkpoints)
    fingerprint: str  # SHA-256 of the raw public key, hex
    fingerprint_grouped: str  # the same in groups of four, as printed
    key_id: str  # the fingerprint's first 16 hex digits
    public_key: str  # the raw 32-byte Ed25519 public key, hex
    created_at: datetime | None
    retired_at: datetime | None
    current: bool

    @classmethod
    def of(cls, k: PublishedKey) -> KeyOut:
        return cls(
            kind=k.kind.value,
            fingerprint=k.fingerprint,
            fingerprint_grouped=grouped(k.fingerprint),
            key_id=k.key_id,
            public_key=k.public_key.hex(),
            created_at=k.created_at,
            retired_at=k.retired_at,
            current=k.current,
        )


@router.get("/keys", response_model=list[KeyOut])
def keys(c: ContainerDep) -> list[KeyOut]:
    """The export keys (current and retired, with their dates) and the log key."""
    return [KeyOut.of(k) for k in c.keys.published()]
