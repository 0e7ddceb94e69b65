"""Cameras, their lifecycle, and the duties that apply to each."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter

from custos.bootstrap import Services
from custos.domain.access import Permission
from custos.domain.filing_recipient import filing_recipient
from custos.domain.registry import Camera, Signage
from custos.domain.users import Principal
from custos.entrypoints.api.bounds import Id
from custos.entrypoints.api.deps import Caller, ContainerDep, needs
from custos.entrypoints.api.language import Lang
from custos.entrypoints.api.schemas import CameraIn, CameraOut, CameraPatch, TransitionIn
from custos.entrypoints.web.messages import localize_duties
from custos.services.registry import CameraInput, LifecycleStep

router = APIRouter(prefix="/cameras", tags=["registry"])
Reader = Annotated[Caller, needs(Permission.REGISTRY_READ)]
Manager = Annotated[Caller, needs(Permission.CAMERA_MANAGE)]


def _out(c: Services, who: Principal, cam: Camera) -> CameraOut:
    site = c.registry.get_site(who, cam.site_id)
    floor = c.rules.effective(site.division_code, site.public_place_article).retention_floor_days
    warnings: list[dict[str, Any]] = []
    if cam.retention_days is not None and cam.retention_days < floor.value:
        warnings.append(
            {
                "field": "retention_days",
                "reason": f"{cam.retention_days} days is below the floor of {floor.value} days; "
                f"footage is kept {floor.value} days regardless",
                "rule_ids": [x.rule_id for x in floor.citations],
                "key": "warning.retention_below_floor",
                "params": {"days": cam.retention_days, "floor": floor.value},
            }
        )
    return CameraOut.of(cam, floor.value, who.can(Permission.BASE_INFO_READ), warnings)


@router.get("", response_model=list[CameraOut])
def list_cameras(caller: Reader, c: ContainerDep, site_id: Id | None = None) -> list[CameraOut]:
    who = caller.principal
    return [_out(c, who, cam) for cam in c.registry.list_cameras(who, site_id)]


@router.post("", response_model=CameraOut, status_code=201)
def create_camera(body: CameraIn, caller: Manager, c: ContainerDep) -> CameraOut:
    raw = body.model_dump()
    raw["signage"] = Signage(**raw["signage"])
    raw["history"] = [LifecycleStep(**s) for s in raw["history"]]
    cam = c.registry.create_camera(caller.principal, CameraInput(**raw))
    return _out(c, caller.principal, cam)


@router.get("/{camera_id}", response_model=CameraOut)
def get_camera(camera_id: Id, caller: Reader, c: ContainerDep) -> CameraOut:
    return _out(c, caller.principal, c.registry.get_camera(caller.principal, camera_id))


@router.patch("/{camera_id}", response_model=CameraOut)
def update_camera(camera_id: Id, body: CameraPatch, caller: Manager, c: ContainerDep) -> CameraOut:
    changes = body.model_dump(exclude_unset=True)
    if "signage" in changes:
        changes["signage"] = Signage(**(changes["signage"] or {}))
    cam = c.registry.update_camera(caller.principal, camera_id, changes)
    return _out(c, caller.principal, cam)


@router.post("/{camera_id}/transitions", response_model=CameraOut)
def transition(camera_id: Id, body: TransitionIn, caller: Manager, c: ContainerDep) -> CameraOut:
    cam = c.registry.transition_camera(caller.principal, camera_id, body.state, body.on)
    return _out(c, caller.principal, cam)


@router.get("/{camera_id}/obligations")
def obligations(camera_id: Id, caller: Reader, c: ContainerDep, lang: Lang) -> dict[str, Any]:
    """The effective duties for this camera, each with the articles behind it, a message key
    and its ``text`` in the ``Accept-Language`` (zh-CN by default)."""
    _unit, site, cam = c.registry.camera_context(caller.principal, camera_id)
    effective = c.rules.effective(site.division_code, site.public_place_article)
    floor = effective.retention_floor_days.value
    return {
        "camera_id": cam.id,
        "division_code": site.division_code,
        "rule_packs": [p.id for p in effective.packs],
        # who receives the filings these duties call for (Decree 799 art. 14: the county police)
        "filing_recipient": filing_recipient(site.division_code, site.division_name).as_dict(),
        "configured_retention_days": cam.retention_days,
        "effective_retention_days": max(floor, cam.retention_days or 0),
        "duties": localize_duties(effective.as_dict(), lang),
    }
