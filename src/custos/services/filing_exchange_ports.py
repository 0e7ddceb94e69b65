"""The ports and shared steps of filing across systems (services/filing_exchange.py, the
bureau's side and the export; services/filing_decisions.py, the unit's recording): the signer,
the received filings' repository, opening a signed file, refusals naming the member, reach,
the history event and the log entry."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any, Protocol

from custos.domain.audit import AuditEvent
from custos.domain.divisions import contains
from custos.domain.errors import FieldError, ValidationFailed
from custos.domain.filing_case import CaseEvent
from custos.domain.filing_exchange import (
    ExchangeRefused,
    Opened,
    ReceivedFiling,
    ReceivedState,
    json_member,
    unpack,
)
from custos.domain.registry import Site
from custos.domain.users import Principal
from custos.services.filing import FilingUnitOfWork
from custos.services.filing_access import camera_scoped, filing_reach, site_cameras

EXPORT = "filing.export"
IMPORT = "filing.import"
DECIDE = "filing.decide"
DECISION_EXPORT = "filing.decision_export"
MAX_FILING_NUMBER = 64


class ExchangeSigner(Protocol):
    """Signs with the system's export key; checks a received file's signature
    (adapters/filing_exchange_keys.py)."""

    def sign(self, message: bytes) -> tuple[bytes, bytes]: ...
    def verify(self, public_key_pem: bytes, message: bytes, signature: bytes) -> str | None: ...


class Receipts(Protocol):
    def add(self, f: ReceivedFiling) -> ReceivedFiling: ...
    def get(self, receipt_id: int, for_update: bool = False) -> ReceivedFiling | None: ...
    def by_submission(self, receipt_number: str, package_sha256: str) -> ReceivedFiling | None: ...
    def update(self, f: ReceivedFiling) -> None: ...
    def find(self, states: Collection[ReceivedState] | None = None) -> list[ReceivedFiling]: ...


class ExchangeUnitOfWork(FilingUnitOfWork, Protocol):
    @property
    def filing_receipts(self) -> Receipts: ...


class ExchangeUnitOfWorkFactory(Protocol):
    def __call__(self) -> ExchangeUnitOfWork: ...


def refused(exc: ExchangeRefused, key: str = "refusal.filing_file_malformed") -> ValidationFailed:
    """A file refused naming its member (field ``file.<member>``)."""
    if "SHA-256" in exc.reason:
        key = "refusal.filing_file_tampered"
    return ValidationFailed(
        FieldError(
            f"file.{exc.member}",
            exc.reason,
            key=key,
            params={"member": exc.member, "reason": exc.reason},
        )
    )


def opened(signer: ExchangeSigner, data: bytes, fmt: str) -> tuple[Opened, str]:
    """Unpack ``data`` as ``fmt`` and check its signature: the file and its signer's key."""
    try:
        found = unpack(data, fmt)
    except ExchangeRefused as exc:
        raise refused(exc) from None
    key = signer.verify(found.public_key_pem, found.manifest_bytes, found.signature)
    if key is None:
        raise refused(
            ExchangeRefused("signature", "does not verify over manifest.json with public_key.pem"),
            key="refusal.filing_file_signature",
        )
    return found, key


def event(action: str, actor: Principal, at: datetime, detail: dict[str, Any]) -> CaseEvent:
    return CaseEvent(action, at, actor.user_id, actor.full_name or actor.username, detail)


def json_of(found: Opened, name: str) -> dict[str, Any]:
    try:
        return json_member(found, name)
    except ExchangeRefused as exc:
        raise refused(exc) from None


def in_jurisdiction(actor: Principal, division: str) -> bool:
    """A supervisor reaches its jurisdiction and below; none: nothing (D5); system: all."""
    if actor.is_system:
        return True
    return actor.jurisdiction is not None and contains(actor.jurisdiction, division)


def reaches(
    actor: Principal, unit_id: int, site: Site, uow: FilingUnitOfWork | None = None
) -> bool:
    """:func:`filing_reach` (unit or jurisdiction, then explicit scopes; a supervisor as the
    console). ``unit_id`` must be ``site.unit_id``. A camera scope matches only when ``uow``
    is given (the site's cameras are read in it); without it such an actor is refused."""
    if unit_id != site.unit_id:
        return False
    cameras = site_cameras(uow, site) if uow is not None and camera_scoped(actor) else []
    return filing_reach(actor, site, cameras)


def log_step(
    uow: ExchangeUnitOfWork,
    at: datetime,
    actor: Principal,
    action: str,
    kind: str,
    obj_id: int | None,
    detail: dict[str, Any],
) -> None:
    uow.audit.append(
        AuditEvent(
            at, actor.username, action, kind, None if obj_id is None else str(obj_id), detail=detail
        )
    )
