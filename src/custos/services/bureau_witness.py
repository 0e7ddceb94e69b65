"""The bureau's side of witnessing: it keeps the signed checkpoints of the unit systems it
registered (docs/design/evidence.md, "The bureau as a witness").

A supervisor or administrator registers a sender by its log public key. A checkpoint is then
accepted from anyone who brings it, because its signature under a registered sender's key is
what authorizes it: the unit's system has no account at the bureau. Copies are only ever added:
the same checkpoint again changes nothing, a contradicting one is kept beside the held copy as
evidence, logged, and answered with a conflict.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import NoReturn, Protocol

from custos.domain.access import Permission
from custos.domain.audit import AuditEvent, Outcome
from custos.domain.audit_chain import Checkpoint, key_id_of
from custos.domain.audit_verify import SignatureCheck
from custos.domain.audit_witness import MAX_LINE, MalformedWitnessError, parse_witness_line
from custos.domain.bureau_witness import (
    NAME_MAX,
    PAGE_MAX,
    HeldCheckpoint,
    HeldPage,
    Sender,
    contradiction,
    line_digest,
    member_problems,
)
from custos.domain.clock import Clock
from custos.domain.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from custos.domain.users import Principal
from custos.services.ports import UnitOfWork

log = logging.getLogger(__name__)

KEY_ID = re.compile(r"[0-9a-f]{16}")
REGISTER_ACTION = "witness.sender.register"
CONFLICT_ACTION = "witness.checkpoint.conflict"

#: A public key as text (PEM, or 64 hex digits) → the raw Ed25519 key; ValueError saying why not.
KeyReader = Callable[[str], bytes]
#: The signature check of checkpoints under one raw public key.
TrustOf = Callable[[bytes], SignatureCheck]


class WitnessSenders(Protocol):
    def add(self, s: Sender) -> None: ...
    def get(self, key_id: str, for_update: bool = False) -> Sender | None: ...
    def all(self) -> list[Sender]: ...


class WitnessCheckpoints(Protocol):
    def add(self, h: HeldCheckpoint) -> HeldCheckpoint: ...
    def by_digest(self, digest: str) -> HeldCheckpoint | None: ...
    def accepted_at(self, key_id: str, tree_size: int) -> HeldCheckpoint | None: ...
    def accepted_below(self, key_id: str, tree_size: int) -> HeldCheckpoint | None: ...
    def accepted_above(self, key_id: str, tree_size: int) -> HeldCheckpoint | None: ...
    def newest_size(self, key_id: str) -> int: ...
    def page(self, key_id: str, after: int, limit: int) -> list[HeldCheckpoint]: ...


class BureauWitnessUnitOfWork(UnitOfWork, Protocol):
    @property
    def witness_senders(self) -> WitnessSenders: ...
    @property
    def witness_checkpoints(self) -> WitnessCheckpoints: ...


class BureauWitnessUnitOfWorkFactory(Protocol):
    def __call__(self) -> BureauWitnessUnitOfWork: ...


class BureauWitnessService:
    def __init__(
        self,
        uow: BureauWitnessUnitOfWorkFactory,
        clock: Clock,
        read_key: KeyReader,
        trust: TrustOf,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._read_key = read_key
        self._trust = trust

    # ---- senders -----------------------------------------------------------------------------
    def register(self, actor: Principal, name: str, public_key: str) -> tuple[Sender, bool]:
        """Register a unit system by its log key; True when new. The same key under the same
        name again changes nothing; under another name it is a conflict."""
        actor.require(Permission.WITNESS_MANAGE)
        name = name.strip()
        if not 1 <= len(name) <= NAME_MAX:
            raise ValidationFailed(FieldError("name", f"1 to {NAME_MAX} characters"))
        try:
            raw = self._read_key(public_key)
        except ValueError as exc:
            raise ValidationFailed(FieldError("public_key_pem", str(exc))) from None
        key_id = key_id_of(raw)
        with self._uow() as uow:
            held = uow.witness_senders.get(key_id, for_update=True)
            if held is not None:
                if held.name != name:
                    raise Conflict(
                        "public_key_pem", f"key {key_id} is already registered as {held.name!r}"
                    )
                return held, False
            now = self._clock.now()
            sender = Sender(key_id, name, raw, now, actor.username)
            uow.witness_senders.add(sender)
            uow.audit.append(
                AuditEvent(
                    now,
                    actor.username,
                    REGISTER_ACTION,
                    "witness_sender",
                    key_id,
                    after={"name": name, "key_id": key_id, "public_key": raw.hex()},
                )
            )
            uow.commit()
        return sender, True

    def senders(self, actor: Principal) -> list[Sender]:
        actor.require(Permission.WITNESS_MANAGE)
        with self._uow() as uow:
            return uow.witness_senders.all()

    # ---- checkpoints -------------------------------------------------------------------------
    def receive(self, body: bytes) -> tuple[HeldCheckpoint, bool]:
        """Keep one checkpoint (a witness line); True when newly accepted, False when already
        held. PermissionDenied unless a registered sender's key signed it; Conflict (after
        keeping the copy and logging it) when it contradicts what is held."""
        cp = _checkpoint_of(body)
        with self._uow() as uow:
            sender = uow.witness_senders.get(cp.key_id, for_update=True)  # one at a time
            if sender is None:
                self._refuse(cp, f"key {cp.key_id} is not a registered sender")
            why = self._trust(sender.public_key)(cp)
            if why is not None:
                self._refuse(cp, why)
            same = uow.witness_checkpoints.by_digest(line_digest(cp))
            if same is not None:
                if same.conflict is None:
                    return same, False
                raise Conflict(
                    "checkpoint",
                    f"checkpoint {cp.tree_size} of key {cp.key_id} is already kept as "
                    f"conflicting record {same.id} ({same.conflict.value}, against record "
                    f"{same.conflicts_with})",
                )
            held = uow.witness_checkpoints
            found = contradiction(
                cp,
                held.accepted_at(cp.key_id, cp.tree_size),
                held.accepted_below(cp.key_id, cp.tree_size),
                held.accepted_above(cp.key_id, cp.tree_size),
            )
            now = self._clock.now()
            if found is None:
                kept = held.add(HeldCheckpoint(cp, now))
                uow.commit()
                return kept, True
            kept = held.add(HeldCheckpoint(cp, now, found.kind, found.held.id))
            uow.audit.append(
                AuditEvent(
                    now,
                    f"witness:{cp.key_id}",
                    CONFLICT_ACTION,
                    "witness_checkpoint",
                    str(kept.id),
                    Outcome.REFUSED,
                    detail={
                        "sender": sender.name,
                        "key_id": cp.key_id,
                        "tree_size": cp.tree_size,
                        "conflict": found.kind.value,
                        "held_record": found.held.id,
                        "held_tree_size": found.held.checkpoint.tree_size,
                        "reason": found.reason,
                    },
                )
            )
            uow.commit()
        log.error("witness: %s; kept as record %s", found.reason, kept.id)
        raise Conflict("checkpoint", f"{found.reason}; kept as record {kept.id}")

    def _refuse(self, cp: Checkpoint, why: str) -> NoReturn:
        log.warning("witness: refused checkpoint %d of key %s: %s", cp.tree_size, cp.key_id, why)
        raise PermissionDenied(f"checkpoint {cp.tree_size} refused: {why}")

    def held(self, key_id: str, after: int = 0, limit: int = 500) -> HeldPage:
        """What is held for a registered sender's key, by record id after ``after``; public."""
        if not KEY_ID.fullmatch(key_id):
            raise ValidationFailed(FieldError("key_id", "16 lowercase hex digits"))
        if not 1 <= limit <= PAGE_MAX:
            raise ValidationFailed(FieldError("limit", f"1 to {PAGE_MAX}"))
        with self._uow() as uow:
            if uow.witness_senders.get(key_id) is None:
                raise NotFound("witness sender", key_id)
            rows = uow.witness_checkpoints.page(key_id, max(after, 0), limit + 1)
            newest = uow.witness_checkpoints.newest_size(key_id)
        more = len(rows) > limit
        rows = rows[:limit]
        return HeldPage(key_id, newest, rows, rows[-1].id if more else None)


def _checkpoint_of(body: bytes) -> Checkpoint:
    try:
        return parse_witness_line(body.rstrip(b"\r\n"))
    except MalformedWitnessError as exc:
        errors = [FieldError("body", f"not a checkpoint: {exc}")]
        if len(body) <= MAX_LINE + 2:
            errors += [FieldError(m, why) for m, why in member_problems(body)]
        raise ValidationFailed(errors) from None
