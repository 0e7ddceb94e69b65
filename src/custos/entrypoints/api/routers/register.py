"""The registration register (登记): search it, export it as CSV or a printable form."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response
from pydantic import AwareDatetime, BaseModel

from custos.bootstrap import Services
from custos.domain.access import Permission
from custos.domain.errors import FieldError, ValidationFailed
from custos.domain.register import RegisterEntry, RegisterKind, RegisterQuery
from custos.domain.users import Principal
from custos.entrypoints.api.bounds import Id
from custos.entrypoints.api.deps import Caller, ContainerDep, needs
from custos.services import register_forms

router = APIRouter(prefix="/register", tags=["register"])
Reader = Annotated[Caller, needs(Permission.REGISTER_READ)]


class PersonOut(BaseModel):
    name: str
    role: str
    credential: str


class EntryOut(BaseModel):
    id: int
    at: datetime
    kind: RegisterKind
    unit_id: int | None
    user_id: int | None
    persons: list[PersonOut]
    organ: str
    purpose: str
    camera_ids: list[int]
    start: datetime | None
    end: datetime | None
    ended_at: datetime | None
    request_id: int | None
    session_id: int | None
    output_sha256: str | None
    output_name: str | None

    @classmethod
    def of(cls, e: RegisterEntry) -> EntryOut:
        d = dict(e.__dict__)
        d["persons"] = [PersonOut(**p.__dict__) for p in e.persons]
        d["camera_ids"] = list(e.camera_ids)
        return cls(**d)


def _query(
    unit_id: int | None,
    kind: RegisterKind | None,
    since: datetime | None,
    until: datetime | None,
    camera_id: int | None,
    person: str | None,
    request_id: int | None,
    limit: int,
) -> RegisterQuery:
    return RegisterQuery(
        unit_ids=(unit_id,) if unit_id is not None else None,
        kind=kind,
        since=since,
        until=until,
        camera_id=camera_id,
        person=person,
        request_id=request_id,
        limit=limit,
    )


Unit = Annotated[Id | None, Query()]
Kind = Annotated[RegisterKind | None, Query()]
When = Annotated[AwareDatetime | None, Query()]
Limit = Annotated[int, Query(ge=1, le=10000)]
# a NUL cannot be stored or searched for (PostgreSQL refuses it in text): a 422, not a 500
Person = Annotated[str | None, Query(max_length=100, pattern=r"^[^\x00]*$")]


class EntriesPage(BaseModel):
    entries: list[EntryOut]
    next_before_at: datetime | None  # pass both as before_at / before_id; null on the last page
    next_before_id: int | None


@router.get("/page", response_model=EntriesPage)
def register_page(
    caller: Reader,
    c: ContainerDep,
    unit_id: Unit = None,
    kind: Kind = None,
    since: When = None,
    until: When = None,
    camera_id: Annotated[Id | None, Query()] = None,
    person: Person = None,
    request_id: Annotated[Id | None, Query()] = None,
    before_at: When = None,
    before_id: Annotated[Id | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> EntriesPage:
    """One page of entries, newest first, keyset-paged: the next page starts before the last
    entry of this one in (time, id) order, so new entries never shift a page already read."""
    if (before_at is None) != (before_id is None):
        raise ValidationFailed(FieldError("before_id", "give before_at and before_id together"))
    q = replace(
        _query(unit_id, kind, since, until, camera_id, person, request_id, limit + 1),
        before=(before_at, before_id) if before_at is not None and before_id is not None else None,
    )
    rows = c.footage.register(caller.principal, q)
    page, more = rows[:limit], len(rows) > limit
    last = page[-1] if more else None
    return EntriesPage(
        entries=[EntryOut.of(e) for e in page],
        next_before_at=last.at if last else None,
        next_before_id=last.id if last else None,
    )


@router.get("", response_model=list[EntryOut])
def search_register(
    caller: Reader,
    c: ContainerDep,
    unit_id: Unit = None,
    kind: Kind = None,
    since: When = None,
    until: When = None,
    camera_id: Annotated[Id | None, Query()] = None,
    person: Person = None,
    request_id: Annotated[Id | None, Query()] = None,
    limit: Limit = 500,
) -> list[EntryOut]:
    """Entries newest first; unit-scoped users see their own unit only."""
    q = _query(unit_id, kind, since, until, camera_id, person, request_id, limit)
    return [EntryOut.of(e) for e in c.footage.register(caller.principal, q)]


@router.get("/export.csv")
def export_register_csv(
    caller: Reader,
    c: ContainerDep,
    unit_id: Unit = None,
    kind: Kind = None,
    since: When = None,
    until: When = None,
    limit: Limit = 10000,
) -> Response:
    """The register as CSV (UTF-8 with BOM), columns as the registration forms ask."""
    q = _query(unit_id, kind, since, until, None, None, None, limit)
    entries, units = _for_export(c, caller.principal, q, "csv")
    return Response(
        register_forms.as_csv(entries, units),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="register.csv"'},
    )


@router.get("/form", response_class=HTMLResponse)
def register_form(
    caller: Reader,
    c: ContainerDep,
    unit_id: Unit = None,
    kind: Kind = None,
    since: When = None,
    until: When = None,
    limit: Limit = 10000,
) -> HTMLResponse:
    """A printable registration form (查阅、复制、调取登记表), A4 landscape."""
    q = _query(unit_id, kind, since, until, None, None, None, limit)
    entries, units = _for_export(c, caller.principal, q, "form")
    title = "视频图像信息查阅、复制、调取登记表"
    return HTMLResponse(register_forms.as_html(entries, units, title, c.clock.now().isoformat()))


def _for_export(
    c: Services, actor: Principal, q: RegisterQuery, form: str
) -> tuple[list[RegisterEntry], dict[int, str]]:
    """The entries to export and their units' names; the export itself enters the log."""
    entries = c.footage.register(actor, q)
    c.footage.note_register_export(actor, form, len(entries))
    return entries, {u.id: u.name for u in c.registry.list_units(actor) if u.id is not None}
