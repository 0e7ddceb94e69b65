"""The bureau's supervision console (docs/design/filing.md D5): read-only, within the
supervisor's jurisdiction (a supervisor with none sees nothing). Every route needs SUPERVISE."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from custos.domain.access import Permission
from custos.entrypoints.api.deps import Caller, ContainerDep, needs
from custos.entrypoints.api.language import Lang
from custos.entrypoints.web.messages import localize_finding

router = APIRouter(prefix="/supervision", tags=["supervision"])
Supervisor = Annotated[Caller, needs(Permission.SUPERVISE)]
#: Narrows a page to one division inside the jurisdiction (a wider one keeps the jurisdiction).
Division = Annotated[
    str | None, Query(pattern=r"^\d{6}$", description="a GB/T 2260 code inside the jurisdiction")
]


class FilingGroup(StrEnum):
    DUE = "due"
    OVERDUE = "overdue"
    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    ACCEPTED = "accepted"


class LeagueFormat(StrEnum):
    JSON = "json"
    CSV = "csv"
    PDF = "pdf"


def _with_texts(findings: dict[str, Any], lang: str) -> dict[str, Any]:
    items = [{**i, "finding": localize_finding(i["finding"], lang)} for i in findings["items"]]
    return {**findings, "items": items}


@router.get("/overview")
def overview(
    caller: Supervisor, c: ContainerDep, lang: Lang, division: Division = None
) -> dict[str, Any]:
    """Counts and lists of the jurisdiction: units and sites, filings due, overdue, submitted
    and returned, open findings by severity and article, cameras offline or faulty, requests
    and register entries of the organ's own officers."""
    body = c.supervision.overview(caller.principal, division)
    return {**body, "findings": _with_texts(body["findings"], lang)}


@router.get("/units")
def units(caller: Supervisor, c: ContainerDep, division: Division = None) -> dict[str, Any]:
    """The units and their sites: cameras, cameras in service, filing state."""
    return c.supervision.units(caller.principal, division)


@router.get("/filings")
def filings(
    caller: Supervisor,
    c: ContainerDep,
    state: Annotated[FilingGroup | None, Query(description="one group; none: all")] = None,
    division: Division = None,
) -> dict[str, Any]:
    """Filings due and overdue (the compliance deadlines) and the filing cases by state."""
    return c.supervision.filings(caller.principal, state.value if state else None, division)


@router.get("/findings")
def findings(
    caller: Supervisor, c: ContainerDep, lang: Lang, division: Division = None
) -> dict[str, Any]:
    """Open compliance findings, counted by severity and by article, with ``text``."""
    return _with_texts(c.supervision.findings(caller.principal, division), lang)


@router.get("/cameras")
def cameras(caller: Supervisor, c: ContainerDep, division: Division = None) -> dict[str, Any]:
    """Cameras offline or faulty now, and those with faults this (Shanghai) month."""
    return c.supervision.cameras(caller.principal, division)


@router.get("/requests")
def requests(caller: Supervisor, c: ContainerDep, division: Division = None) -> dict[str, Any]:
    """Access requests and register entries of the officers inside the jurisdiction."""
    return c.supervision.requests(caller.principal, division)


@router.get("/league", response_model=None)
def league(
    caller: Supervisor,
    c: ContainerDep,
    lang: Lang,
    format: Annotated[LeagueFormat, Query(description="json, csv or pdf")] = LeagueFormat.JSON,
    division: Division = None,
) -> dict[str, Any] | Response:
    """Units ranked by open findings + 3 × overdue items; CSV (UTF-8 with BOM) or PDF in the
    ``Accept-Language``."""
    if format is LeagueFormat.CSV:
        body = c.supervision.league_csv(caller.principal, lang, division)
        headers = {"Content-Disposition": 'attachment; filename="league.csv"'}
        return Response(body, media_type="text/csv; charset=utf-8", headers=headers)
    if format is LeagueFormat.PDF:
        pdf = c.supervision.league_pdf(caller.principal, lang, division)
        headers = {"Content-Disposition": 'attachment; filename="league.pdf"'}
        return Response(pdf, media_type="application/pdf", headers=headers)
    return c.supervision.league(caller.principal, division)


@router.get("/map")
def site_map(caller: Supervisor, c: ContainerDep, division: Division = None) -> dict[str, Any]:
    """Sites (``approximate`` where placed at their county's centroid), the jurisdiction's
    counties' centroids with names, and the bounds, for an offline SVG scatter."""
    return c.supervision.map(caller.principal, division)
