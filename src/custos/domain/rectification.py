"""Rectification notices (整改通知): a failed inspection item, to closure (docs/design/filing.md D6).

```
open ──respond──▶ responded ──verify close──▶ closed
  ▲                   │
  └──verify reject────┘          open | responded ──verify escalate──▶ escalated ──close──▶ closed
```

A notice past its due date (Asia/Shanghai, inclusive) and not closed is overdue: a finding
``rectification.overdue`` with the penalty article and its fine range. An escalation records a
penalty article of the item and an amount inside that article's range for the subject fined.
Pure: no I/O.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from custos.domain.errors import FieldError, ValidationFailed
from custos.domain.inspection import PenaltyRef
from custos.domain.kinds import Severity
from custos.domain.rules.citation import Citation
from custos.domain.rules.facts import Finding

MAX_RESPONSE_TEXT = 4000
MAX_EVIDENCE = 10
FINE_SUBJECTS = ("unit", "person", "individual")


class NoticeState(enum.StrEnum):
    OPEN = "open"
    RESPONDED = "responded"
    ESCALATED = "escalated"
    CLOSED = "closed"


class Outcome(enum.StrEnum):
    CLOSE = "close"
    REJECT = "reject"
    ESCALATE = "escalate"


@dataclass
class Notice:
    id: int | None
    inspection_id: int
    unit_id: int
    item_key: str
    state: NoticeState
    due_on: date
    issued_at: datetime
    text_zh: str
    text_en: str
    citations: tuple[Citation, ...]
    penalty: PenaltyRef | None
    penalties: tuple[PenaltyRef, ...]
    remark: str = ""
    division_codes: list[str] = field(default_factory=list)
    unit_name: str = ""
    responses: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    escalation: dict[str, Any] | None = None

    def overdue(self, today: date) -> bool:
        return self.state is not NoticeState.CLOSED and today > self.due_on

    def body(self) -> dict[str, Any]:
        return {
            "issued_at": self.issued_at.isoformat(),
            "text_zh": self.text_zh,
            "text_en": self.text_en,
            "rule_ids": [c.rule_id for c in self.citations],
            "articles": [c.human for c in self.citations],
            "penalty": self.penalty.as_dict() if self.penalty else None,
            "penalties": [p.as_dict() for p in self.penalties],
            "remark": self.remark,
            "division_codes": self.division_codes,
            "unit_name": self.unit_name,
            "responses": self.responses,
            "history": self.history,
            "escalation": self.escalation,
        }

    def as_dict(self, today: date) -> dict[str, Any]:
        return {
            "id": self.id,
            "inspection_id": self.inspection_id,
            "unit_id": self.unit_id,
            "item_key": self.item_key,
            "state": self.state.value,
            "due_on": self.due_on.isoformat(),
            "overdue": self.overdue(today),
            **self.body(),
        }

    @classmethod
    def of(
        cls,
        notice_id: int,
        inspection_id: int,
        unit_id: int,
        item_key: str,
        state: str,
        due_on: date,
        d: dict[str, Any],
    ) -> Notice:
        return cls(
            id=notice_id,
            inspection_id=inspection_id,
            unit_id=unit_id,
            item_key=item_key,
            state=NoticeState(state),
            due_on=due_on,
            issued_at=datetime.fromisoformat(d["issued_at"]),
            text_zh=d["text_zh"],
            text_en=d["text_en"],
            citations=tuple(Citation.parse(r) for r in d["rule_ids"]),
            penalty=PenaltyRef.of(d["penalty"]) if d["penalty"] else None,
            penalties=tuple(PenaltyRef.of(p) for p in d["penalties"]),
            remark=d["remark"],
            division_codes=list(d["division_codes"]),
            unit_name=d.get("unit_name", ""),
            responses=list(d["responses"]),
            history=list(d["history"]),
            escalation=d["escalation"],
        )


ALLOWED: dict[Outcome, frozenset[NoticeState]] = {
    Outcome.CLOSE: frozenset({NoticeState.RESPONDED, NoticeState.ESCALATED}),
    Outcome.REJECT: frozenset({NoticeState.RESPONDED}),
    Outcome.ESCALATE: frozenset({NoticeState.OPEN, NoticeState.RESPONDED}),
}


def check_outcome(notice: Notice, outcome: Outcome) -> None:
    if notice.state not in ALLOWED[outcome]:
        allowed = ", ".join(sorted(s.value for s in ALLOWED[outcome]))
        raise ValidationFailed(
            FieldError(
                "outcome",
                f"{outcome.value} is allowed in state {allowed}, the notice is {notice.state}",
                key="refusal.rectification_state",
                params={"outcome": outcome.value, "state": notice.state.value},
            )
        )


def check_fine(notice: Notice, rule_id: str | None, subject: str, amount: int) -> PenaltyRef:
    """The penalty article an escalation names (the notice's own when ``rule_id`` is None),
    refused unless it is one of the item's and ``amount`` lies in its range for ``subject``."""
    chosen = notice.penalty if rule_id is None else None
    if rule_id is not None:
        chosen = next((p for p in notice.penalties if p.citation.rule_id == rule_id), None)
    if chosen is None:
        known = ", ".join(p.citation.rule_id for p in notice.penalties) or "none"
        raise ValidationFailed(
            FieldError(
                "penalty.rule_id",
                f"not a penalty article of this item (its articles: {known})",
                key="refusal.rectification_penalty_article",
                params={"articles": known},
            )
        )
    low, high = chosen.bounds(subject)
    article = chosen.citation.human
    if low is None and high is None:
        raise ValidationFailed(
            FieldError(
                "penalty.amount",
                f"{article} sets no fine for the {subject} in the texts",
                rule_id=chosen.citation.rule_id,
                article=article,
                key="refusal.rectification_no_fine",
                params={"subject": subject},
            )
        )
    floor = 1 if low is None else low
    if amount < floor or (high is not None and amount > high):
        top = "" if high is None else str(high)
        raise ValidationFailed(
            FieldError(
                "penalty.amount",
                f"must lie within {floor}–{top} yuan for the {subject} under {article}",
                rule_id=chosen.citation.rule_id,
                article=article,
                key="refusal.rectification_fine_range",
                params={"min": floor, "max": top, "subject": subject},
            )
        )
    return chosen


def overdue_findings(notices: list[Notice], today: date) -> list[Finding]:
    """A finding for each notice past its due date (``today`` is the Shanghai date) not closed."""
    findings: list[Finding] = []
    for n in notices:
        if not n.overdue(today):
            continue
        days = (today - n.due_on).days
        findings.append(
            Finding(
                code="rectification.overdue",
                severity=Severity.CRITICAL,
                subject=f"rectification:{n.id}",
                message=(
                    f"Rectification notice {n.id} ({n.item_key}) was due {n.due_on.isoformat()}"
                    f" and is not closed ({days} days overdue)"
                ),
                citations=n.citations,
                fine=n.penalty.fine if n.penalty else None,
                due=n.due_on,
                penalty_rule_id=n.penalty.citation.rule_id if n.penalty else None,
                params={
                    "notice": n.id,
                    "item": n.item_key,
                    "due": n.due_on.isoformat(),
                    "days": days,
                    "unit_id": n.unit_id,
                },
            )
        )
    return findings
