"""The console's lists that are read, not judged: sites' filing states, filing cases, cameras
offline or faulty, and the traces of the organ's own officers (docs/design/filing.md D5)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from custos.domain.accounting import day_bounds
from custos.domain.calendar import shanghai_date
from custos.domain.filing_case import CaseState, FilingCase
from custos.domain.rectification import Notice
from custos.domain.register import RegisterQuery
from custos.domain.registry import Site
from custos.services.supervision_scope import Snapshot, SupervisionUnitOfWork, in_area

#: How far back the register entries of the organ's officers are read.
REGISTER_DAYS = 31
REGISTER_LIMIT = 2000


def site_line(snap: Snapshot, site: Site) -> dict[str, Any]:
    return {
        "site_id": site.id,
        "site_name": site.name,
        "unit_id": site.unit_id,
        "unit_name": snap.unit_name(site.unit_id),
        "division_code": site.division_code,
    }


def notice_line(snap: Snapshot, notice: Notice) -> dict[str, Any]:
    """A rectification notice is the unit's, not one site's: the first of its divisions."""
    return {
        "site_id": None,
        "site_name": "",
        "unit_id": notice.unit_id,
        "unit_name": snap.unit_name(notice.unit_id) or notice.unit_name,
        "division_code": notice.division_codes[0] if notice.division_codes else None,
        "notice_id": notice.id,
    }


def camera_lists(snap: Snapshot) -> dict[str, list[dict[str, Any]]]:
    index = snap.camera_index
    now: dict[int, dict[str, Any]] = {}

    def line(camera_id: int) -> dict[str, Any]:
        cam, site = index[camera_id]
        return site_line(snap, site) | {
            "camera_id": camera_id,
            "camera_name": cam.name,
            "address_code": cam.address_code,
            "state": cam.state.value,
        }

    for fault in snap.open_faults:
        entry = now.setdefault(fault.camera_id, line(fault.camera_id) | _no_lists())
        entry["faults"].append(fault.as_dict(snap.now))
    for alarm in snap.camera_alarms:
        if alarm.camera_id is None or alarm.camera_id not in index:
            continue
        entry = now.setdefault(alarm.camera_id, line(alarm.camera_id) | _no_lists())
        entry["alarms"].append(
            {
                "id": alarm.id,
                "kind": alarm.kind.value,
                "severity": alarm.severity.value,
                "raised_at": alarm.raised_at.isoformat(),
                "message": alarm.message,
            }
        )
    month: dict[int, dict[str, Any]] = {}
    start = day_bounds(shanghai_date(snap.now).replace(day=1))[0]
    for fault in snap.month_faults:
        entry = month.setdefault(fault.camera_id, line(fault.camera_id) | {"faults": 0})
        end = fault.recovered_at or snap.now
        lasted = min(end, snap.now) - max(fault.started_at, start)
        entry["faults"] += 1
        entry["seconds"] = entry.get("seconds", 0) + max(0, int(lasted.total_seconds()))
    return {"now": list(now.values()), "month": list(month.values())}


def officer_traces(uow: SupervisionUnitOfWork, snap: Snapshot, now: datetime) -> dict[str, Any]:
    """The organ's own officers (users whose jurisdiction lies inside the area), the access
    requests they filed and their register entries of the last ``REGISTER_DAYS`` days."""
    if snap.area == "":
        return {"officers": [], "requests": [], "register": []}
    officers = [
        u
        for u in uow.users.find()
        if u.jurisdiction is not None and in_area(snap.area, u.jurisdiction)
    ]
    ids = {u.id for u in officers}
    names = {u.id: u.full_name or u.username for u in officers}
    requests = [r for r in uow.access_requests.find() if r.requested_by in ids]
    since = now - timedelta(days=REGISTER_DAYS)
    entries = uow.register.find(RegisterQuery(since=since, limit=REGISTER_LIMIT))
    return {
        "officers": [
            {
                "id": u.id,
                "username": u.username,
                "full_name": u.full_name,
                "role": u.role.value,
                "jurisdiction": u.jurisdiction,
            }
            for u in officers
        ],
        "requests": [
            {
                "id": r.id,
                "state": r.state.value,
                "action": r.action.value,
                "organ": r.organ,
                "purpose": r.purpose,
                "requested_by": r.requested_by,
                "requested_by_name": names.get(r.requested_by, ""),
                "created_at": r.created_at.isoformat(),
                "camera_ids": list(r.scope.camera_ids),
            }
            for r in requests
        ],
        "register": [
            {
                "id": e.id,
                "at": e.at.isoformat(),
                "kind": e.kind.value,
                "unit_id": e.unit_id,
                "user_id": e.user_id,
                "user_name": names.get(e.user_id, ""),
                "organ": e.organ,
                "purpose": e.purpose,
                "camera_ids": list(e.camera_ids),
                "request_id": e.request_id,
            }
            for e in entries
            if e.user_id in ids
        ],
    }


def _no_lists() -> dict[str, Any]:
    return {"faults": [], "alarms": []}


def case_line(case: FilingCase) -> dict[str, Any]:
    latest = case.latest
    return {
        "case_id": case.id,
        "kind": case.kind.value,
        "state": case.state.value,
        "due": case.due.isoformat() if case.due else None,
        "recipient": case.recipient.as_dict(),
        "receipt_number": latest.receipt_number if latest else None,
        "submitted_on": latest.submitted_on.isoformat() if latest else None,
        "filing_number": case.filing_number,
        "return_reasons": list(case.return_reasons),
    }


def filing_state(snap: Snapshot, site: Site) -> dict[str, Any]:
    """The open case's state if any, else ``accepted`` (a case accepted), ``filed`` (an initial
    filing recorded elsewhere), or ``not_filed``."""
    cases = [c for c in snap.cases if c.site_id == site.id]
    current = next((c for c in cases if c.is_open), None)
    if current is None:
        current = next((c for c in cases if c.state is CaseState.ACCEPTED), None)
    if current is not None:
        return {
            "state": current.state.value,
            "case_id": current.id,
            "kind": current.kind.value,
            "filing_number": current.filing_number,
        }
    filed = any(f.filed_on is not None for f in snap.filings.get(site.id or 0, []))
    return {"state": "filed" if filed else "not_filed", "case_id": None}
