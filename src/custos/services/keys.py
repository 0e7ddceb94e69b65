"""The system's public keys (docs/design/evidence.md, "Keys"): the export key that signs
package manifests, current and retired with their dates, and the log key that signs checkpoints.

The list is public (``GET /api/v1/keys``): a fingerprint must reach a checker by another road
than the package itself. Rotating the export key is an administrator's act and is logged.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from custos.domain.access import Permission
from custos.domain.audit import AuditEvent
from custos.domain.clock import Clock
from custos.domain.evidence import PublishedKey
from custos.domain.users import Principal
from custos.services.ports import UnitOfWorkFactory


class ExportKeyring(Protocol):
    def ensure(self, now: datetime) -> PublishedKey: ...
    def published(self) -> list[PublishedKey]: ...
    def rotate(self, now: datetime) -> PublishedKey: ...


class KeysService:
    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, keyring: ExportKeyring, log_key: PublishedKey
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._keyring = keyring
        self._log_key = log_key

    def ensure_export_key(self) -> PublishedKey:
        """Made at first start (a file; the database may not exist yet, so it is not logged:
        its creation date is in the published list, like the log key's)."""
        return self._keyring.ensure(self._clock.now())

    def published(self) -> list[PublishedKey]:
        """Every key, the export keys oldest first, then the log key; no secret."""
        return [*self._keyring.published(), self._log_key]

    def rotate_export(self, actor: Principal) -> PublishedKey:
        actor.require(Permission.USERS_MANAGE)
        key = self._keyring.rotate(self._clock.now())
        self._record(actor.username, "keys.export.rotate", key)
        return key

    def _record(self, actor: str, action: str, key: PublishedKey) -> None:
        detail = {"fingerprint": key.fingerprint, "key_id": key.key_id}
        with self._uow() as uow:
            uow.audit.append(
                AuditEvent(self._clock.now(), actor, action, "key", key.key_id, detail=detail)
            )
            uow.commit()
