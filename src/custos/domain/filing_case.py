"""A filing case (备案): one filing's life from draft to accepted, with its submissions.

docs/design/filing.md D3. The case satisfies one ``Filing`` row (the obligation the deadline
rules judge); its submissions are frozen packages (hash of the canonical JSON, hash of the PDF).
Every step is dated (UTC moment; the Shanghai date where a regulation date is meant) and
attributed (user id and name); the service writes each to the operation log.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from custos.domain.errors import FieldError, InvalidTransition, ValidationFailed
from custos.domain.rules.facts import FilingKind


class CaseState(enum.StrEnum):
    DRAFT = "draft"  # opened (by the unit, or by a change to a filed attribute), not submitted
    SUBMITTED = "submitted"  # with the bureau, waiting for its decision
    RETURNED = "returned"  # the bureau sent it back with reasons: correct and resubmit
    ACCEPTED = "accepted"  # filed: a filing number, the Filing row's filed_on set
    WITHDRAWN = "withdrawn"  # a change task whose change was undone before submission


class Channel(enum.StrEnum):
    INTERNAL = "internal"  # to the bureau inside this Custos
    EXPORT = "export"  # a signed custos-filing/1 file for another system
    PAPER = "paper"  # printed; the decision is recorded by hand


class Decision(enum.StrEnum):
    ACCEPTED = "accepted"
    RETURNED = "returned"


#: Which states may follow which.
NEXT: dict[CaseState, frozenset[CaseState]] = {
    CaseState.DRAFT: frozenset({CaseState.SUBMITTED, CaseState.WITHDRAWN}),
    CaseState.SUBMITTED: frozenset({CaseState.ACCEPTED, CaseState.RETURNED}),
    CaseState.RETURNED: frozenset({CaseState.SUBMITTED}),
    CaseState.ACCEPTED: frozenset(),
    CaseState.WITHDRAWN: frozenset(),
}


@dataclass(frozen=True)
class Recipient:
    """The county-level public-security organ that receives the filing (from the GB/T 2260
    table; never guessed)."""

    division_code: str
    organ_name: str  # 宝鸡市公安局渭滨分局

    def as_dict(self) -> dict[str, str]:
        return {"division_code": self.division_code, "organ_name": self.organ_name}


@dataclass(frozen=True)
class Submission:
    number: int  # 1, 2, … within the case
    receipt_number: str  # {division}-{yyyymmdd}-{seq}: the submission receipt's number
    package_sha256: str  # the canonical JSON's SHA-256 (the package's identity)
    pdf_sha256: str
    channel: Channel
    submitted_at: datetime
    submitted_on: date  # Asia/Shanghai date of submitted_at
    by_user: int | None
    by_name: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "receipt_number": self.receipt_number,
            "package_sha256": self.package_sha256,
            "pdf_sha256": self.pdf_sha256,
            "channel": self.channel.value,
            "submitted_at": self.submitted_at.isoformat(),
            "submitted_on": self.submitted_on.isoformat(),
            "by_user": self.by_user,
            "by_name": self.by_name,
        }


@dataclass(frozen=True)
class CaseEvent:
    """One step of the case's history, as shown to both sides."""

    action: str  # open, submit, accept, return, withdraw, export, import, record_decision, diff
    at: datetime
    by_user: int | None
    by_name: str
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "at": self.at.isoformat(),
            "by_user": self.by_user,
            "by_name": self.by_name,
            "detail": self.detail,
        }


@dataclass
class FilingCase:
    id: int | None
    site_id: int
    unit_id: int
    kind: FilingKind
    filing_id: int | None  # the Filing row (obligation) this case satisfies
    recipient: Recipient
    state: CaseState
    opened_at: datetime
    trigger_date: date  # Asia/Shanghai: acceptance / in-use date, or the change's date
    due: date | None = None  # the earliest binding due date (None: "promptly" or not yet known)
    citations: list[str] = field(default_factory=list)  # "liaoning-2008:art12.p1", …
    submissions: list[Submission] = field(default_factory=list)
    history: list[CaseEvent] = field(default_factory=list)
    #: a change task's difference from the last accepted package: {attribute: {before, after}}
    diff: dict[str, Any] = field(default_factory=dict)
    filing_number: str = ""  # the bureau's, on acceptance
    return_reasons: list[str] = field(default_factory=list)  # of the latest return
    decided_on: date | None = None  # Asia/Shanghai date of acceptance
    #: the earliest date a filed attribute changed while this submission was with the bureau
    #: (the change becomes a re-filing task on acceptance; filing.md D4)
    changed_since_submission: date | None = None

    def move(self, to: CaseState) -> None:
        if to not in NEXT[self.state]:
            allowed = ", ".join(sorted(NEXT[self.state])) or "none (final)"
            raise InvalidTransition(
                self.state,
                to,
                reason=f"a {self.state} filing cannot become {to}; allowed next: {allowed}",
            )
        self.state = to

    @property
    def latest(self) -> Submission | None:
        return self.submissions[-1] if self.submissions else None

    @property
    def is_open(self) -> bool:
        return self.state in (CaseState.DRAFT, CaseState.SUBMITTED, CaseState.RETURNED)


def require_reasons(reasons: list[str]) -> list[str]:
    """A return names at least one reason; blank ones are dropped."""
    kept = [r.strip() for r in reasons if r.strip()]
    if not kept:
        raise ValidationFailed(
            FieldError(
                "reasons",
                "a returned filing needs at least one reason the unit can act on",
                key="refusal.filing_return_reasons",
            )
        )
    return kept
