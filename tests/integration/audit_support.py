"""Shared by the operation-log integration tests: a Custos that checkpoints every 10 entries,
entries to fill it with, and raw-SQL tampering that goes around the application."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import Connection, text

from custos.adapters.db.audit_log import AuditRepository
from custos.bootstrap import Container, bootstrap
from custos.domain.audit import AuditEvent
from custos.domain.audit_chain import GENESIS, next_chain
from custos.domain.clock import ManualClock
from custos.domain.merkle import leaf_hash

EVERY = 10


def checkpointing_every_10(container: Container, clock: ManualClock) -> Container:
    """The same database and data directory, with checkpoints every 10 entries."""
    settings = container.settings.model_copy(update={"audit_checkpoint_every": EVERY})
    return bootstrap(settings, clock=clock)


def fill(c: Container, clock: ManualClock, n: int, per_transaction: int = 1) -> None:
    """n entries, like the services write them: a few per transaction."""
    done = 0
    while done < n:
        with c.uow() as uow:
            for _ in range(min(per_transaction, n - done)):
                done += 1
                clock.advance(timedelta(milliseconds=1))
                uow.audit.append(
                    AuditEvent(
                        clock.now(),
                        f"operator{done % 3}",
                        "camera.view",
                        "camera",
                        str(done),
                        detail={"purpose": "巡查 patrol", "n": done},
                    )
                )
            uow.commit()


@contextmanager
def around_the_application(c: Container) -> Iterator[Connection]:
    """A raw connection with the append-only triggers out of the way (PostgreSQL)."""
    with c.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        yield conn


def recompute_hashes_from(conn: Connection, seq: int) -> None:
    """What someone with write access can do after an edit: rehash every later entry."""
    repo = AuditRepository(conn)
    chain = GENESIS
    if seq > 1:
        chain = bytes(repo.batch(seq - 2, 1).chains[0])
    batch = repo.batch(seq - 1, 1_000_000)
    for s, entry in zip(batch.seqs, batch.entries, strict=True):
        leaf = leaf_hash(entry)
        chain = next_chain(chain, leaf)
        conn.execute(
            text("UPDATE audit_events SET leaf_hash = :l, chain_hash = :c WHERE seq = :s"),
            {"l": leaf, "c": chain, "s": s},
        )
