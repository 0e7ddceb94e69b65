"""The filing loop's ports and plain helpers (docs/design/filing.md D2, D3): the repositories
it needs on the unit of work, the document store, the PDF renderer, the numbering of receipts
and filing numbers, the operation-log entry of a step, and a case as plain JSON."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any, Protocol

from custos.domain.audit import AuditEvent, Outcome
from custos.domain.calendar import shanghai_date
from custos.domain.errors import FieldError, ValidationFailed
from custos.domain.filing_case import CaseEvent, CaseState, FilingCase
from custos.domain.filing_exchange import ReceivedFiling, ReceivedState
from custos.domain.registry import Site, Unit
from custos.domain.users import Principal
from custos.services.filing_assembly import FilingRows
from custos.services.ports import UnitOfWork


class FilingProfiles(Protocol):
    def get(self, site_id: int) -> dict[str, Any] | None: ...
    def put(self, site_id: int, body: dict[str, Any], at: datetime) -> None: ...


class FilingCases(Protocol):
    def add(self, case: FilingCase) -> FilingCase: ...
    def get(self, case_id: int, for_update: bool = False) -> FilingCase | None: ...
    def update(self, case: FilingCase) -> None: ...
    def find(
        self,
        site_ids: Collection[int] | None = None,
        states: Collection[CaseState] | None = None,
    ) -> list[FilingCase]: ...
    def last_accepted(self, site_id: int) -> FilingCase | None: ...
    def open_task(self, site_id: int) -> FilingCase | None: ...


class ReceivedNumbers(Protocol):
    """The filings a bureau received from other systems (their filing numbers count too)."""

    def find(self, states: Collection[ReceivedState] | None = None) -> list[ReceivedFiling]: ...


class FilingUnitOfWork(UnitOfWork, Protocol):
    @property
    def filings(self) -> FilingRows: ...
    @property
    def filing_profiles(self) -> FilingProfiles: ...
    @property
    def filing_cases(self) -> FilingCases: ...
    @property
    def filing_receipts(self) -> ReceivedNumbers: ...


class FilingUnitOfWorkFactory(Protocol):
    def __call__(self) -> FilingUnitOfWork: ...


class Documents(Protocol):
    """The content-addressed document store (adapters/storage/documents.py)."""

    def put(self, data: bytes) -> str: ...
    def read(self, digest: str) -> bytes | None: ...


class PackagePdf(Protocol):
    """Renders the package as a Chinese PDF (adapters/export/filing_pdf.py)."""

    def render(self, package: dict[str, Any], receipt: dict[str, Any]) -> bytes: ...


#: Called in the same transaction after a filing profile is written (filing-changes hooks in).
ProfileChanged = Callable[[FilingUnitOfWork, Principal, int], None]


def receipt_number(uow: FilingUnitOfWork, case: FilingCase, now: datetime) -> str:
    """``{recipient division}-{yyyymmdd}-{seq}``: the submissions to that organ that day, + 1."""
    day = shanghai_date(now)
    code = case.recipient.division_code
    same = sum(
        1
        for c in uow.filing_cases.find()
        if c.recipient.division_code == code
        for s in c.submissions
        if s.submitted_on == day
    )
    return f"{code}-{day:%Y%m%d}-{same + 1:03d}"


def filing_number(uow: FilingUnitOfWork, case: FilingCase, now: datetime, typed: str = "") -> str:
    """The filing number of an acceptance in this system: ``typed`` (refused when any filing
    here has it), else the organ's first free ``备{division}{yyyy}{seq:05d}``."""
    return claim_filing_number(uow, typed, case.recipient.division_code, shanghai_date(now).year)


def claim_filing_number(uow: FilingUnitOfWork, typed: str, division_code: str, year: int) -> str:
    """One numbering for every filing this system holds, in-system cases and filings received
    from other systems alike: a typed number already used is refused (422 naming
    ``filing_number``); none typed, the first free ``备{division}{yyyy}{seq:05d}``."""
    taken = {c.filing_number for c in uow.filing_cases.find() if c.filing_number} | {
        f.filing_number for f in uow.filing_receipts.find() if f.filing_number
    }
    if typed:
        if typed in taken:
            raise ValidationFailed(
                FieldError(
                    "filing_number",
                    f"{typed} is the filing number of another filing already",
                    key="refusal.filing_number_taken",
                    params={"filing_number": typed},
                )
            )
        return typed
    seq = 1
    while f"备{division_code}{year}{seq:05d}" in taken:
        seq += 1
    return f"备{division_code}{year}{seq:05d}"


def event(action: str, actor: Principal, at: datetime, detail: dict[str, Any]) -> CaseEvent:
    return CaseEvent(action, at, actor.user_id, actor.full_name or actor.username, detail)


def log_step(
    uow: FilingUnitOfWork,
    at: datetime,
    actor: Principal,
    action: str,
    kind: str,
    obj_id: int | None,
    detail: dict[str, Any],
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """The operation-log entry of a step, in the step's transaction."""
    uow.audit.append(
        AuditEvent(
            at,
            actor.username,
            action,
            kind,
            None if obj_id is None else str(obj_id),
            Outcome.OK,
            before,
            after,
            detail,
        )
    )


def case_json(case: FilingCase, site: Site | None, unit: Unit | None) -> dict[str, Any]:
    """A case as plain JSON (stable: the UI pages build on it)."""
    latest = case.latest
    return {
        "id": case.id,
        "site_id": case.site_id,
        "site_name": site.name if site else "",
        "division_code": site.division_code if site else "",
        "unit_id": case.unit_id,
        "unit_name": unit.name if unit else "",
        "kind": case.kind.value,
        "state": case.state.value,
        "filing_id": case.filing_id,
        "recipient": case.recipient.as_dict(),
        "opened_at": case.opened_at.isoformat(),
        "trigger_date": case.trigger_date.isoformat(),
        "due": case.due.isoformat() if case.due else None,
        "citations": list(case.citations),
        "submissions": [s.as_dict() for s in case.submissions],
        "latest_submission": latest.as_dict() if latest else None,
        "history": [e.as_dict() for e in case.history],
        "diff": case.diff,
        "filing_number": case.filing_number,
        "return_reasons": list(case.return_reasons),
        "decided_on": case.decided_on.isoformat() if case.decided_on else None,
    }
