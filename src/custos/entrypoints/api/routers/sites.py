"""Sites and their filings (备案)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from custos.bootstrap import Services
from custos.domain.access import Permission
from custos.domain.registry import Site
from custos.entrypoints.api.bounds import Id
from custos.entrypoints.api.deps import Caller, ContainerDep, needs
from custos.entrypoints.api.schemas import FilingIn, FilingOut, SiteIn, SiteOut, SitePatch
from custos.services.registry import FilingInput, SiteInput

router = APIRouter(prefix="/sites", tags=["registry"])
Reader = Annotated[Caller, needs(Permission.REGISTRY_READ)]
Writer = Annotated[Caller, needs(Permission.REGISTRY_WRITE)]
Filer = Annotated[Caller, needs(Permission.FILING_WRITE)]


def _out(c: Services, s: Site) -> SiteOut:
    return SiteOut.of(s, [p.id for p in c.rules.packs_for_division(s.division_code)])


@router.get("", response_model=list[SiteOut])
def list_sites(caller: Reader, c: ContainerDep, unit_id: Id | None = None) -> list[SiteOut]:
    return [_out(c, s) for s in c.registry.list_sites(caller.principal, unit_id)]


@router.post("", response_model=SiteOut, status_code=201)
def create_site(body: SiteIn, caller: Writer, c: ContainerDep) -> SiteOut:
    return _out(c, c.registry.create_site(caller.principal, SiteInput(**body.model_dump())))


@router.get("/{site_id}", response_model=SiteOut)
def get_site(site_id: Id, caller: Reader, c: ContainerDep) -> SiteOut:
    return _out(c, c.registry.get_site(caller.principal, site_id))


@router.patch("/{site_id}", response_model=SiteOut)
def update_site(site_id: Id, body: SitePatch, caller: Writer, c: ContainerDep) -> SiteOut:
    changes = body.model_dump(exclude_unset=True)
    return _out(c, c.registry.update_site(caller.principal, site_id, changes))


@router.get("/{site_id}/filings", response_model=list[FilingOut])
def list_filings(site_id: Id, caller: Reader, c: ContainerDep) -> list[FilingOut]:
    return [FilingOut.of(f) for f in c.registry.list_filings(caller.principal, site_id)]


@router.post("/{site_id}/filings", response_model=FilingOut, status_code=201)
def add_filing(site_id: Id, body: FilingIn, caller: Filer, c: ContainerDep) -> FilingOut:
    filing = c.registry.add_filing(caller.principal, site_id, FilingInput(**body.model_dump()))
    return FilingOut.of(filing)
