"""Filing profiles and filing cases in SQL (SQLite and PostgreSQL), on the unit of work's
connection (one transaction with the registry write or the service step that calls them).

docs/design/filing.md D2, D3. A case is stored as JSON in ``body``; the columns repeat what
lists filter on.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from custos.adapters.db.filing_tables import filing_cases as c
from custos.adapters.db.filing_tables import filing_profiles as p
from custos.domain.filing_case import (
    CaseEvent,
    CaseState,
    Channel,
    FilingCase,
    Recipient,
    Submission,
)
from custos.domain.rules.facts import FilingKind

_TASK_KINDS = (FilingKind.CHANGE.value, FilingKind.RELOCATION.value, FilingKind.REMOVAL.value)
_OPEN = (CaseState.DRAFT.value, CaseState.SUBMITTED.value, CaseState.RETURNED.value)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


class FilingProfileRepository:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def get(self, site_id: int) -> dict[str, Any] | None:
        row = self._c.execute(select(p.c.body).where(p.c.site_id == site_id)).first()
        return None if row is None else dict(json.loads(row.body))

    def put(self, site_id: int, body: dict[str, Any], at: datetime) -> None:
        values = {"body": _dumps(body), "updated_at": at}
        done = self._c.execute(update(p).where(p.c.site_id == site_id).values(**values))
        if done.rowcount == 0:
            self._c.execute(insert(p).values(site_id=site_id, **values))


class FilingCaseRepository:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(self, case: FilingCase) -> FilingCase:
        case.id = self._c.execute(insert(c).values(**_columns(case)).returning(c.c.id)).scalar_one()
        return case

    def get(self, case_id: int, for_update: bool = False) -> FilingCase | None:
        """The case; ``for_update`` locks its row until the transaction ends (a write path)."""
        query = select(c).where(c.c.id == case_id)
        row = self._c.execute(query.with_for_update() if for_update else query).mappings().first()
        return None if row is None else _case(row)

    def update(self, case: FilingCase) -> None:
        assert case.id is not None
        self._c.execute(update(c).where(c.c.id == case.id).values(**_columns(case)))

    def find(
        self,
        site_ids: Collection[int] | None = None,
        states: Collection[CaseState] | None = None,
    ) -> list[FilingCase]:
        """Newest first."""
        query = select(c).order_by(c.c.id.desc())
        if site_ids is not None:
            query = query.where(c.c.site_id.in_(list(site_ids)))
        if states is not None:
            query = query.where(c.c.state.in_([s.value for s in states]))
        return [_case(r) for r in self._c.execute(query).mappings()]

    def last_accepted(self, site_id: int) -> FilingCase | None:
        """The site's most recently accepted case (by decision date, then id)."""
        accepted = self.find([site_id], [CaseState.ACCEPTED])
        if not accepted:
            return None
        return max(accepted, key=lambda k: (k.decided_on or date.min, k.id or 0))

    def open_task(self, site_id: int) -> FilingCase | None:
        """The site's open change, relocation or removal case, if any (the newest)."""
        query = (
            select(c)
            .where(c.c.site_id == site_id, c.c.kind.in_(_TASK_KINDS), c.c.state.in_(_OPEN))
            .order_by(c.c.id.desc())
        )
        row = self._c.execute(query).mappings().first()
        return None if row is None else _case(row)


def _columns(case: FilingCase) -> dict[str, Any]:
    return {
        "site_id": case.site_id,
        "unit_id": case.unit_id,
        "kind": case.kind.value,
        "state": case.state.value,
        "filing_id": case.filing_id,
        "opened_at": case.opened_at,
        "body": _dumps(to_json(case)),
    }


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def to_json(case: FilingCase) -> dict[str, Any]:
    """What the columns do not hold."""
    return {
        "recipient": case.recipient.as_dict(),
        "trigger_date": case.trigger_date.isoformat(),
        "due": _day(case.due),
        "citations": list(case.citations),
        "submissions": [s.as_dict() for s in case.submissions],
        "history": [e.as_dict() for e in case.history],
        "diff": case.diff,
        "filing_number": case.filing_number,
        "return_reasons": list(case.return_reasons),
        "decided_on": _day(case.decided_on),
        "changed_since_submission": _day(case.changed_since_submission),
    }


def _parse_day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _submission(d: dict[str, Any]) -> Submission:
    return Submission(
        number=int(d["number"]),
        receipt_number=d["receipt_number"],
        package_sha256=d["package_sha256"],
        pdf_sha256=d["pdf_sha256"],
        channel=Channel(d["channel"]),
        submitted_at=datetime.fromisoformat(d["submitted_at"]),
        submitted_on=date.fromisoformat(d["submitted_on"]),
        by_user=d["by_user"],
        by_name=d["by_name"],
    )


def _event(d: dict[str, Any]) -> CaseEvent:
    return CaseEvent(
        d["action"], datetime.fromisoformat(d["at"]), d["by_user"], d["by_name"], d["detail"]
    )


def _case(row: Any) -> FilingCase:
    body = json.loads(row["body"])
    trigger = _parse_day(body["trigger_date"])
    assert trigger is not None
    return FilingCase(
        id=int(row["id"]),
        site_id=int(row["site_id"]),
        unit_id=int(row["unit_id"]),
        kind=FilingKind(row["kind"]),
        filing_id=row["filing_id"],
        recipient=Recipient(**body["recipient"]),
        state=CaseState(row["state"]),
        opened_at=row["opened_at"],
        trigger_date=trigger,
        due=_parse_day(body["due"]),
        citations=list(body["citations"]),
        submissions=[_submission(s) for s in body["submissions"]],
        history=[_event(e) for e in body["history"]],
        diff=dict(body["diff"]),
        filing_number=body["filing_number"],
        return_reasons=list(body["return_reasons"]),
        decided_on=_parse_day(body["decided_on"]),
        changed_since_submission=_parse_day(body.get("changed_since_submission")),
    )
