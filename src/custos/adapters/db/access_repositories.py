"""Row ↔ domain mapping for access requests, the register, playback sessions and exports."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, and_, insert, or_, select, update

from custos.adapters.db import access_tables as at
from custos.domain.access_requests import (
    AccessRequest,
    Approval,
    ApprovalDocument,
    EmergencyKind,
    FootageScope,
    Handler,
    RequestState,
    UnitConsent,
)
from custos.domain.footage_access import ExportPackage, PlaybackSession, SessionKind
from custos.domain.kinds import AccessAction
from custos.domain.register import Person, RegisterEntry, RegisterKind, RegisterQuery
from custos.domain.rules.terms import ApproverRole, RequesterKind


def _t(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _dt(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _need(text: str) -> datetime:
    return datetime.fromisoformat(text)


def scope_json(s: FootageScope) -> dict[str, Any]:
    return {"camera_ids": list(s.camera_ids), "start": _t(s.start), "end": _t(s.end)}


def scope_of(d: dict[str, Any]) -> FootageScope:
    return FootageScope(tuple(d["camera_ids"]), _need(d["start"]), _need(d["end"]))


# ---- access requests ------------------------------------------------------------------------
def request_body(r: AccessRequest) -> str:
    return json.dumps(
        {
            "scope": scope_json(r.scope),
            "requester_kind": r.requester_kind.value,
            "organ": r.organ,
            "organ_unit": r.organ_unit,
            "legal_basis": r.legal_basis,
            "purpose": r.purpose,
            "handlers": [h.as_dict() for h in r.handlers],
            "consents": [c.as_dict() for c in r.consents],
            "document": r.document.as_dict() if r.document else None,
            "emergency": r.emergency.value if r.emergency else None,
            "required_titles": [t.value for t in r.required_titles],
            "citations": list(r.citations),
            "submitted_at": _t(r.submitted_at),
            "approvals": [
                {**a.as_dict(), "at": _t(a.at)}  # full precision, not the canonical form
                for a in r.approvals
            ],
            "decided_at": _t(r.decided_at),
            "decided_by": r.decided_by,
            "decision_note": r.decision_note,
            "executed_at": _t(r.executed_at),
            "executed_by": r.executed_by,
            "output_sha256": r.output_sha256,
            "extra": r.extra,
        },
        ensure_ascii=False,
    )


def _request(row: RowMapping) -> AccessRequest:
    b = json.loads(row["body"])
    doc = b["document"]
    return AccessRequest(
        id=row["id"],
        action=AccessAction(row["action"]),
        scope=scope_of(b["scope"]),
        requester_kind=RequesterKind(b["requester_kind"]),
        organ=b["organ"],
        organ_unit=b["organ_unit"],
        legal_basis=b["legal_basis"],
        purpose=b["purpose"],
        handlers=tuple(Handler.from_dict(h) for h in b["handlers"]),
        consents=tuple(UnitConsent.from_dict(c) for c in b.get("consents", [])),
        document=ApprovalDocument(
            doc["number"],
            doc["issuer"],
            date.fromisoformat(doc["issued_on"]),
            doc["sha256"],
            doc["filename"],
            doc["size"],
        )
        if doc
        else None,
        emergency=EmergencyKind(b["emergency"]) if b["emergency"] else None,
        expires_at=row["expires_at"],
        requested_by=row["requested_by"],
        created_at=row["created_at"],
        state=RequestState(row["state"]),
        required_titles=tuple(ApproverRole(t) for t in b["required_titles"]),
        citations=tuple(b["citations"]),
        submitted_at=_dt(b["submitted_at"]),
        approvals=tuple(
            Approval(
                a["approver_id"],
                a["approver_username"],
                ApproverRole(a["title"]) if a["title"] else None,
                a["request_hash"],
                _need(a["at"]),
                a["key_id"],
                a["signature"],
            )
            for a in b["approvals"]
        ),
        decided_at=_dt(b["decided_at"]),
        decided_by=b["decided_by"],
        decision_note=b["decision_note"],
        executed_at=_dt(b["executed_at"]),
        executed_by=b["executed_by"],
        output_sha256=b["output_sha256"],
        extra=b["extra"],
    )


class AccessRequestRepository:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def _row(self, r: AccessRequest) -> dict[str, Any]:
        return {
            "state": r.state.value,
            "action": r.action.value,
            "requested_by": r.requested_by,
            "created_at": r.created_at,
            "expires_at": r.expires_at,
            "body": request_body(r),
        }

    def add(self, r: AccessRequest) -> AccessRequest:
        q = insert(at.access_requests).values(**self._row(r)).returning(at.access_requests.c.id)
        r.id = self._c.execute(q).scalar_one()
        return r

    def update(self, r: AccessRequest) -> None:
        q = update(at.access_requests).where(at.access_requests.c.id == r.id)
        self._c.execute(q.values(**self._row(r)))

    def get(self, request_id: int, for_update: bool = False) -> AccessRequest | None:
        q = select(at.access_requests).where(at.access_requests.c.id == request_id)
        if for_update:
            q = q.with_for_update()
        row = self._c.execute(q).mappings().first()
        return _request(row) if row else None

    def find(
        self, states: set[RequestState] | None = None, requested_by: int | None = None
    ) -> list[AccessRequest]:
        q = select(at.access_requests).order_by(at.access_requests.c.id)
        if states:
            q = q.where(at.access_requests.c.state.in_([s.value for s in states]))
        if requested_by is not None:
            q = q.where(at.access_requests.c.requested_by == requested_by)
        return [_request(r) for r in self._c.execute(q).mappings()]


# ---- the register ---------------------------------------------------------------------------
def _entry_row(e: RegisterEntry) -> dict[str, Any]:
    return {
        "at": e.at,
        "kind": e.kind.value,
        "unit_id": e.unit_id,
        "user_id": e.user_id,
        "request_id": e.request_id,
        "session_id": e.session_id,
        "camera_ids": "," + ",".join(str(c) for c in e.camera_ids) + ",",
        "persons": " | ".join(p.name for p in e.persons),
        "start_at": e.start,
        "end_at": e.end,
        "ended_at": e.ended_at,
        "body": json.dumps(
            {
                "persons": [p.__dict__ for p in e.persons],
                "organ": e.organ,
                "purpose": e.purpose,
                "camera_ids": list(e.camera_ids),
                "output_sha256": e.output_sha256,
                "output_name": e.output_name,
            },
            ensure_ascii=False,
        ),
    }


def _entry(r: RowMapping) -> RegisterEntry:
    b = json.loads(r["body"])
    return RegisterEntry(
        id=r["id"],
        at=r["at"],
        kind=RegisterKind(r["kind"]),
        unit_id=r["unit_id"],
        user_id=r["user_id"],
        persons=tuple(Person(**p) for p in b["persons"]),
        organ=b["organ"],
        purpose=b["purpose"],
        camera_ids=tuple(b["camera_ids"]),
        start=r["start_at"],
        end=r["end_at"],
        request_id=r["request_id"],
        session_id=r["session_id"],
        output_sha256=b["output_sha256"],
        output_name=b["output_name"],
        ended_at=r["ended_at"],
    )


class RegisterRepository:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(self, e: RegisterEntry) -> RegisterEntry:
        q = insert(at.register_entries).values(**_entry_row(e)).returning(at.register_entries.c.id)
        e.id = self._c.execute(q).scalar_one()
        return e

    def end_session(self, session_id: int, ended_at: datetime) -> None:
        """Write a live session's end on its entries, once."""
        t = at.register_entries
        q = update(t).where(t.c.session_id == session_id, t.c.ended_at.is_(None))
        self._c.execute(q.values(ended_at=ended_at))

    def set_output(self, entry_ids: Sequence[int], sha256: str, name: str) -> None:
        """Write the package's hash and name on the entries that registered it, once."""
        t = at.register_entries
        rows = self._c.execute(select(t.c.id, t.c.body).where(t.c.id.in_(list(entry_ids))))
        for entry_id, text in rows.all():
            body = json.loads(text)
            if body.get("output_sha256") is not None:
                continue
            body["output_sha256"], body["output_name"] = sha256, name
            new = json.dumps(body, ensure_ascii=False)
            self._c.execute(update(t).where(t.c.id == entry_id).values(body=new))

    def end_entry(self, entry_id: int, ended_at: datetime) -> None:
        """Write the end of a view without a session (an upper platform's), once."""
        t = at.register_entries
        q = update(t).where(t.c.id == entry_id, t.c.ended_at.is_(None))
        self._c.execute(q.values(ended_at=ended_at))

    def find(self, query: RegisterQuery) -> list[RegisterEntry]:
        t = at.register_entries
        q = select(t).order_by(t.c.at.desc(), t.c.id.desc()).limit(query.limit)
        if query.unit_ids is not None:
            q = q.where(t.c.unit_id.in_(list(query.unit_ids)))
        if query.kind is not None:
            q = q.where(t.c.kind == query.kind.value)
        if query.since is not None:
            q = q.where(t.c.at >= query.since)
        if query.until is not None:
            q = q.where(t.c.at < query.until)
        if query.camera_id is not None:
            q = q.where(t.c.camera_ids.like(f"%,{query.camera_id},%"))
        if query.person:
            escaped = query.person.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            q = q.where(t.c.persons.like(f"%{escaped}%", escape="\\"))
        if query.request_id is not None:
            q = q.where(t.c.request_id == query.request_id)
        if query.before is not None:
            at_, id_ = query.before
            q = q.where(or_(t.c.at < at_, and_(t.c.at == at_, t.c.id < id_)))
        return [_entry(r) for r in self._c.execute(q).mappings()]


# ---- sessions and exports -------------------------------------------------------------------
def _session_body(s: PlaybackSession) -> str:
    return json.dumps(
        {
            "scope": scope_json(s.scope),
            "purpose": s.purpose,
            "register_entry_id": s.register_entry_id,
        },
        ensure_ascii=False,
    )


class PlaybackSessionRepository:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(self, s: PlaybackSession) -> PlaybackSession:
        row = {
            "kind": s.kind.value,
            "user_id": s.user_id,
            "request_id": s.request_id,
            "opened_at": s.opened_at,
            "expires_at": s.expires_at,
            "closed_at": s.closed_at,
            "body": _session_body(s),
        }
        q = insert(at.playback_sessions).values(**row).returning(at.playback_sessions.c.id)
        s.id = self._c.execute(q).scalar_one()
        return s

    def set_entry(self, s: PlaybackSession) -> None:
        t = at.playback_sessions
        self._c.execute(update(t).where(t.c.id == s.id).values(body=_session_body(s)))

    def close(self, session_id: int, at_: datetime) -> None:
        t = at.playback_sessions
        q = update(t).where(t.c.id == session_id, t.c.closed_at.is_(None)).values(closed_at=at_)
        self._c.execute(q)

    def get(self, session_id: int) -> PlaybackSession | None:
        t = at.playback_sessions
        row = self._c.execute(select(t).where(t.c.id == session_id)).mappings().first()
        if row is None:
            return None
        b = json.loads(row["body"])
        return PlaybackSession(
            id=row["id"],
            kind=SessionKind(row["kind"]),
            user_id=row["user_id"],
            scope=scope_of(b["scope"]),
            purpose=b["purpose"],
            opened_at=row["opened_at"],
            expires_at=row["expires_at"],
            request_id=row["request_id"],
            closed_at=row["closed_at"],
            register_entry_id=b["register_entry_id"],
        )


class ExportRepository:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    @staticmethod
    def _body(e: ExportPackage) -> str:
        return json.dumps(
            {
                "scope": scope_json(e.scope),
                "purpose": e.purpose,
                "segment_count": e.segment_count,
                "register_entry_id": e.register_entry_id,
            },
            ensure_ascii=False,
        )

    def add(self, e: ExportPackage) -> ExportPackage:
        row = {
            "user_id": e.user_id,
            "request_id": e.request_id,
            "created_at": e.created_at,
            "path": e.path,
            "sha256": e.sha256,
            "bytes": e.bytes,
            "body": self._body(e),
        }
        q = insert(at.export_packages).values(**row).returning(at.export_packages.c.id)
        e.id = self._c.execute(q).scalar_one()
        return e

    def finish(self, e: ExportPackage) -> None:
        """The written package's hash, size and counts, on the row added before it was built."""
        t = at.export_packages
        body = self._body(e)
        q = update(t).where(t.c.id == e.id, t.c.sha256 == "")
        self._c.execute(q.values(sha256=e.sha256, bytes=e.bytes, body=body))

    def get(self, export_id: int) -> ExportPackage | None:
        t = at.export_packages
        row = self._c.execute(select(t).where(t.c.id == export_id)).mappings().first()
        if row is None:
            return None
        b = json.loads(row["body"])
        return ExportPackage(
            id=row["id"],
            user_id=row["user_id"],
            scope=scope_of(b["scope"]),
            purpose=b["purpose"],
            created_at=row["created_at"],
            path=row["path"],
            sha256=row["sha256"],
            bytes=row["bytes"],
            segment_count=b["segment_count"],
            request_id=row["request_id"],
            register_entry_id=b["register_entry_id"],
        )
