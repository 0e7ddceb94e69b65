"""Filings received from other systems, in SQL (SQLite and PostgreSQL), on the unit of work's
connection. The columns are what lists filter on; the rest is JSON in ``body``."""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from custos.adapters.db.filing_exchange_tables import filing_receipts as r
from custos.domain.filing_case import CaseEvent
from custos.domain.filing_exchange import ReceivedFiling, ReceivedState


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


class FilingReceiptRepository:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(self, f: ReceivedFiling) -> ReceivedFiling:
        f.id = self._c.execute(insert(r).values(**_columns(f)).returning(r.c.id)).scalar_one()
        return f

    def get(self, receipt_id: int, for_update: bool = False) -> ReceivedFiling | None:
        """The received filing; ``for_update`` locks its row until the transaction ends."""
        query = select(r).where(r.c.id == receipt_id)
        row = self._c.execute(query.with_for_update() if for_update else query).mappings().first()
        return None if row is None else _received(row)

    def by_submission(self, receipt_number: str, package_sha256: str) -> ReceivedFiling | None:
        q = select(r).where(
            r.c.receipt_number == receipt_number, r.c.package_sha256 == package_sha256
        )
        row = self._c.execute(q).mappings().first()
        return None if row is None else _received(row)

    def update(self, f: ReceivedFiling) -> None:
        assert f.id is not None
        self._c.execute(update(r).where(r.c.id == f.id).values(**_columns(f)))

    def find(self, states: Collection[ReceivedState] | None = None) -> list[ReceivedFiling]:
        """Newest first."""
        q = select(r).order_by(r.c.id.desc())
        if states is not None:
            q = q.where(r.c.state.in_([s.value for s in states]))
        return [_received(row) for row in self._c.execute(q).mappings()]


def _columns(f: ReceivedFiling) -> dict[str, Any]:
    body = {
        "pdf_sha256": f.pdf_sha256,
        "sender_key": f.sender_key,
        "kind": f.kind,
        "site": f.site,
        "unit": f.unit,
        "recipient": f.recipient,
        "due": f.due,
        "history": [e.as_dict() for e in f.history],
        "filing_number": f.filing_number,
        "reasons": list(f.reasons),
        "decided_on": f.decided_on.isoformat() if f.decided_on else None,
    }
    return {
        "division_code": f.division_code,
        "state": f.state.value,
        "receipt_number": f.receipt_number,
        "package_sha256": f.package_sha256,
        "received_at": f.received_at,
        "body": _dumps(body),
    }


def _received(row: Any) -> ReceivedFiling:
    b = json.loads(row["body"])
    return ReceivedFiling(
        id=int(row["id"]),
        division_code=row["division_code"],
        state=ReceivedState(row["state"]),
        receipt_number=row["receipt_number"],
        package_sha256=row["package_sha256"],
        pdf_sha256=b["pdf_sha256"],
        received_at=row["received_at"],
        sender_key=b["sender_key"],
        kind=b["kind"],
        site=dict(b["site"]),
        unit=dict(b["unit"]),
        recipient=dict(b["recipient"]),
        due=b["due"],
        history=[
            CaseEvent(
                e["action"],
                datetime.fromisoformat(e["at"]),
                e["by_user"],
                e["by_name"],
                e["detail"],
            )
            for e in b["history"]
        ],
        filing_number=b["filing_number"],
        reasons=list(b["reasons"]),
        decided_on=date.fromisoformat(b["decided_on"]) if b["decided_on"] else None,
    )
