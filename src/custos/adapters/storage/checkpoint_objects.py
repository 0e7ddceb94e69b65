"""The object store as a witness of the operation log's checkpoints (docs/design/evidence.md).

One object per checkpoint, ``<prefix>audit-checkpoints/<tree size, 20 digits>.json``, holding the
witness line; never overwritten, and under Object Lock (where the bucket has it) until
``signed_at + lock_days``, as a segment is locked from its start.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from botocore.exceptions import BotoCoreError, ClientError

from custos.adapters.storage.object_store import (
    CHECKPOINT_FOLDER,
    ObjectExistsError,
    ObjectStoreError,
    S3SegmentStore,
)
from custos.domain.audit_chain import Checkpoint
from custos.domain.audit_witness import (
    MAX_LINE,
    MalformedWitnessError,
    Refused,
    Witnessed,
    parse_witness_line,
    witness_line,
)
from custos.services.audit_witness import WitnessUnavailableError

log = logging.getLogger(__name__)
_DIGITS = 20
_SUFFIX = ".json"
_FAILURES = (BotoCoreError, ClientError, ObjectStoreError, OSError)


class CheckpointObjects:
    """Witness (and reader) of checkpoints in the configured bucket."""

    def __init__(self, store: S3SegmentStore, lock_days: int) -> None:
        if not 0 <= lock_days <= 36_500:
            raise ValueError("lock_days must be 0..36500")
        self._store = store
        self._lock_days = lock_days

    @property
    def name(self) -> str:
        return f"object store {self._store.bucket}/{self._store.prefix}{CHECKPOINT_FOLDER}"

    def key_of(self, tree_size: int) -> str:
        return f"{self._store.prefix}{CHECKPOINT_FOLDER}{tree_size:0{_DIGITS}d}{_SUFFIX}"

    def _size_of(self, key: str) -> int | None:
        name = key.rsplit("/", 1)[-1]
        digits = name.removesuffix(_SUFFIX)
        if len(digits) != _DIGITS or not digits.isdigit() or not name.endswith(_SUFFIX):
            return None
        return int(digits)

    def witnessed_size(self) -> int:
        try:
            sizes = [self._size_of(k) for k in self._store.keys_under(CHECKPOINT_FOLDER)]
        except _FAILURES as exc:
            raise WitnessUnavailableError(f"cannot list {self.name}: {exc}") from exc
        return max((s for s in sizes if s is not None), default=0)

    def witness(self, cp: Checkpoint) -> None:
        until = cp.signed_at + timedelta(days=self._lock_days) if self._lock_days else None
        key = self.key_of(cp.tree_size)
        try:
            self._store.put_small(key, witness_line(cp), "application/json", until)
        except ObjectExistsError:
            # Another checkpoint of this size is already witnessed: the log was rolled back or
            # restored. It is kept, never replaced; verification names the contradiction.
            log.error(
                "the object store already witnesses another checkpoint %d (%s); "
                "run 'custos audit verify --witness-objectstore'",
                cp.tree_size,
                key,
            )
        except _FAILURES as exc:
            raise WitnessUnavailableError(f"cannot put {key}: {exc}") from exc

    def read(self) -> tuple[list[Witnessed], list[Refused]]:
        found: list[Witnessed] = []
        refused: list[Refused] = []
        try:
            keys = sorted(self._store.keys_under(CHECKPOINT_FOLDER))
            for key in keys:
                where = f"s3://{self._store.bucket}/{key}"
                body = self._store.get_small(key, MAX_LINE)
                if body is None:
                    continue  # gone between the listing and the read
                try:
                    cp = parse_witness_line(body.rstrip(b"\n"))
                except MalformedWitnessError as exc:
                    refused.append(Refused(where, f"not a checkpoint: {exc}"))
                    continue
                if self._size_of(key) != cp.tree_size:
                    refused.append(Refused(where, f"holds checkpoint {cp.tree_size}"))
                    continue
                found.append(Witnessed(cp, where))
        except _FAILURES as exc:
            raise WitnessUnavailableError(f"cannot read {self.name}: {exc}") from exc
        return found, refused
