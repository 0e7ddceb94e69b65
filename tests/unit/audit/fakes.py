"""An operation log built in memory, and a stand-in signature scheme, for domain tests."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from custos.domain.audit import AuditEvent
from custos.domain.audit_chain import GENESIS, Checkpoint, canonical_entry, next_chain
from custos.domain.audit_verify import EntryBatch
from custos.domain.merkle import leaf_hash, root

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


@dataclass(frozen=True)
class FakeKey:
    """Signature = SHA-256(secret ‖ statement). Not Ed25519, but it fails the same way."""

    secret: bytes
    key_id: str

    def sign(self, message: bytes) -> bytes:
        return hashlib.sha256(self.secret + message).digest()

    def check(self, cp: Checkpoint) -> str | None:
        if cp.key_id != self.key_id:
            return f"signed by key {cp.key_id}, which is not trusted"
        return None if cp.signature == self.sign(cp.statement()) else "bad signature"


TRUSTED = FakeKey(b"trusted", "aaaaaaaaaaaaaaaa")
STRANGER = FakeKey(b"stranger", "bbbbbbbbbbbbbbbb")


def event(i: int) -> AuditEvent:
    return AuditEvent(
        T0 + timedelta(seconds=i), f"user{i % 3}", "camera.view", "camera", str(i), detail={"i": i}
    )


@dataclass
class MemoryLog:
    entries: list[bytes] = field(default_factory=list)
    leaves: list[bytes] = field(default_factory=list)
    chains: list[bytes] = field(default_factory=list)
    seqs: list[int] = field(default_factory=list)
    checkpoints: list[Checkpoint] = field(default_factory=list)

    @classmethod
    def of(cls, n: int, every: int, key: FakeKey = TRUSTED) -> MemoryLog:
        log = cls()
        for i in range(1, n + 1):
            log.append(canonical_entry(i, event(i)))
            if i % every == 0:
                log.sign(key)
        return log

    def append(self, entry: bytes) -> None:
        leaf = leaf_hash(entry)
        self.seqs.append(len(self.seqs) + 1)
        self.entries.append(entry)
        self.leaves.append(leaf)
        self.chains.append(next_chain(self.chains[-1] if self.chains else GENESIS, leaf))

    def sign(self, key: FakeKey, size: int | None = None) -> None:
        n = len(self.leaves) if size is None else size
        unsigned = Checkpoint(n, root(self.leaves[:n]), self.chains[n - 1], T0, key.key_id, b"")
        self.checkpoints.append(replace(unsigned, signature=key.sign(unsigned.statement())))

    def recompute_from(self, index: int) -> None:
        """What an attacker with write access can do: rehash everything after an edit."""
        for i in range(index, len(self.entries)):
            self.leaves[i] = leaf_hash(self.entries[i])
            self.chains[i] = next_chain(self.chains[i - 1] if i else GENESIS, self.leaves[i])

    def batches(self, size: int) -> list[EntryBatch]:
        return [
            EntryBatch(
                self.seqs[i : i + size],
                self.entries[i : i + size],
                self.leaves[i : i + size],
                self.chains[i : i + size],
            )
            for i in range(0, len(self.seqs), size)
        ]
