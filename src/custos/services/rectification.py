"""Rectification notices (整改通知) to closure (docs/design/filing.md D6).

The unit answers its own notices (``Permission.RECTIFY``, unit-scoped: a unit manager reaches
only its unit's): a text and evidence documents (content-addressed). The bureau verifies
(``Permission.SUPERVISE``, the jurisdiction of the inspected sites): ``close``, ``reject`` (back
to open, a reason required) or ``escalate`` (a penalty article of the item and an amount inside
its fine range, else refused naming the range and the article). Past its due date and not
closed a notice is overdue: :meth:`RectificationService.overdue_findings`. Everything logged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from custos.domain.access import UNIT_SCOPED_ROLES, Permission
from custos.domain.calendar import shanghai_date
from custos.domain.clock import Clock
from custos.domain.errors import FieldError, NotFound, PermissionDenied, ValidationFailed
from custos.domain.rectification import (
    FINE_SUBJECTS,
    MAX_EVIDENCE,
    MAX_RESPONSE_TEXT,
    Notice,
    NoticeState,
    Outcome,
    check_fine,
    check_outcome,
)
from custos.domain.rectification import overdue_findings as _overdue
from custos.domain.rules.facts import Finding
from custos.domain.users import Principal
from custos.services.inspection_ports import (
    Documents,
    InspectionUnitOfWork,
    in_jurisdiction,
    read_document,
)
from custos.services.refusals import refusals_logged
from custos.services.unit_records import record_write

MAX_EVIDENCE_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class Evidence:
    name: str
    data: bytes


@dataclass(frozen=True)
class Escalation:
    amount: int
    subject: str = "unit"
    rule_id: str | None = None  # the notice's penalty article when None


class RectificationService:
    def __init__(
        self, uow: Callable[[], InspectionUnitOfWork], clock: Clock, documents: Documents
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._documents = documents

    def notices(
        self, actor: Principal, states: Sequence[NoticeState] | None = None
    ) -> list[Notice]:
        """A unit's people see their unit's notices; a supervisor its jurisdiction's."""
        self._may_read(actor)
        with self._uow() as uow:
            if actor.role in UNIT_SCOPED_ROLES:
                found = uow.rectifications.find([actor.unit_id or 0], states)
            else:
                found = uow.rectifications.find(None, states)
        return [n for n in found if self._reaches(actor, n)]

    def get(self, actor: Principal, notice_id: int) -> Notice:
        self._may_read(actor)
        with self._uow() as uow:
            return self._reach(uow, actor, notice_id)

    def evidence(self, actor: Principal, notice_id: int, digest: str) -> tuple[str, bytes]:
        """A document of one of the notice's answers: its name and bytes."""
        notice = self.get(actor, notice_id)
        named = {d["sha256"]: d["name"] for r in notice.responses for d in r["documents"]}
        data = read_document(self._documents, digest) if digest in named else None
        if data is None:
            raise NotFound("document", digest)
        return named[digest], data

    def today(self) -> date:
        """The Shanghai date now (a notice is overdue after its due date)."""
        return shanghai_date(self._clock.now())

    def respond(
        self, actor: Principal, notice_id: int, text: str, evidence: Sequence[Evidence]
    ) -> Notice:
        """The unit's answer: what was done, with documents; the notice becomes responded."""
        actor.require(Permission.RECTIFY)
        now = self._clock.now()
        with (
            refusals_logged(
                self._uow, self._clock, actor, "rectification.respond", "rectification", notice_id
            ),
            self._uow() as uow,
        ):
            notice = self._reach(uow, actor, notice_id, for_update=True)
            errors = []
            if notice.state is not NoticeState.OPEN:
                errors.append(
                    FieldError(
                        "state",
                        f"only an open notice is answered, this one is {notice.state}",
                        key="refusal.rectification_state",
                        params={"outcome": "respond", "state": notice.state.value},
                    )
                )
            if not text.strip() or len(text) > MAX_RESPONSE_TEXT:
                errors.append(FieldError("text", f"1 to {MAX_RESPONSE_TEXT} characters"))
            if len(evidence) > MAX_EVIDENCE:
                errors.append(FieldError("files", f"at most {MAX_EVIDENCE} documents"))
            for n, e in enumerate(evidence):
                if not e.data or len(e.data) > MAX_EVIDENCE_BYTES:
                    errors.append(FieldError(f"files[{n}]", f"1 to {MAX_EVIDENCE_BYTES} bytes"))
            if errors:
                raise ValidationFailed(errors)
            documents = [
                {
                    "name": e.name[:200],
                    "sha256": self._documents.put(e.data),
                    "bytes": len(e.data),
                }
                for e in evidence
            ]
            response = {
                "text": text, "documents": documents, "by": actor.username,
                "at": now.isoformat(),
            }  # fmt: skip
            notice.responses.append(response)
            notice.state = NoticeState.RESPONDED
            uow.rectifications.update(notice)
            record_write(
                uow, actor, now, "rectification.respond", "rectification", notice_id,
                {"text": text, "documents": [d["sha256"] for d in documents]},
            )  # fmt: skip
            uow.commit()
        return notice

    def verify(
        self,
        actor: Principal,
        notice_id: int,
        outcome: Outcome,
        reason: str = "",
        escalation: Escalation | None = None,
    ) -> Notice:
        """The bureau's check of the answer: close, reject (reason required) or escalate."""
        actor.require(Permission.SUPERVISE)
        now = self._clock.now()
        with (
            refusals_logged(
                self._uow,
                self._clock,
                actor,
                "rectification.verify",
                "rectification",
                notice_id,
                {"outcome": outcome.value},
            ),
            self._uow() as uow,
        ):
            notice = self._reach(uow, actor, notice_id, for_update=True)
            check_outcome(notice, outcome)
            entry: dict[str, Any] = {
                "outcome": outcome.value, "reason": reason, "by": actor.username,
                "at": now.isoformat(), "from_state": notice.state.value,
            }  # fmt: skip
            if outcome is Outcome.REJECT and not reason.strip():
                raise ValidationFailed(FieldError("reason", "a rejection needs a reason"))
            if outcome is Outcome.ESCALATE:
                notice.escalation = self._escalation(notice, escalation, actor, now)
                entry["penalty"] = notice.escalation
            notice.state = {
                Outcome.CLOSE: NoticeState.CLOSED,
                Outcome.REJECT: NoticeState.OPEN,
                Outcome.ESCALATE: NoticeState.ESCALATED,
            }[outcome]
            notice.history.append(entry)
            uow.rectifications.update(notice)
            record_write(
                uow, actor, now, f"rectification.{outcome.value}", "rectification",
                notice_id, entry,
            )  # fmt: skip
            uow.commit()
        return notice

    def overdue_findings(self, actor: Principal) -> list[Finding]:
        """``rectification.overdue`` for every notice in reach past its due date, not closed."""
        return _overdue(self.notices(actor), shanghai_date(self._clock.now()))

    # ---- inside ----------------------------------------------------------------------------

    @staticmethod
    def _escalation(
        notice: Notice, escalation: Escalation | None, actor: Principal, now: datetime
    ) -> dict[str, Any]:
        if escalation is None:
            raise ValidationFailed(FieldError("penalty", "an escalation names the penalty"))
        if escalation.subject not in FINE_SUBJECTS:
            raise ValidationFailed(
                FieldError("penalty.subject", f"one of {', '.join(FINE_SUBJECTS)}")
            )
        chosen = check_fine(notice, escalation.rule_id, escalation.subject, escalation.amount)
        return {
            "rule_id": chosen.citation.rule_id,
            "article": chosen.citation.human,
            "subject": escalation.subject,
            "amount": escalation.amount,
            "fine": chosen.fine.as_dict(),
            "decided_by": actor.username,
            "decided_at": now.isoformat(),
        }

    @staticmethod
    def _may_read(actor: Principal) -> None:
        if not (actor.can(Permission.RECTIFY) or actor.can(Permission.SUPERVISE)):
            raise PermissionDenied(f"role {actor.role} lacks {Permission.RECTIFY}")

    @staticmethod
    def _reaches(actor: Principal, notice: Notice) -> bool:
        if actor.is_system:
            return True
        if actor.role in UNIT_SCOPED_ROLES:
            return actor.unit_id == notice.unit_id
        if actor.can(Permission.SUPERVISE):
            return in_jurisdiction(actor, notice.division_codes)
        return actor.jurisdiction is None or in_jurisdiction(actor, notice.division_codes)

    def _reach(
        self, uow: InspectionUnitOfWork, actor: Principal, notice_id: int, for_update: bool = False
    ) -> Notice:
        notice = uow.rectifications.get(notice_id, for_update)
        if notice is None or not self._reaches(actor, notice):
            raise NotFound("rectification notice", notice_id)
        return notice
