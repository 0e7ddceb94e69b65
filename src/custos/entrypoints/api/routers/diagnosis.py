"""Video quality diagnosis of a camera: status, thresholds, reference snapshots (four eyes)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Response
from pydantic import Field

from custos.domain.access import Permission
from custos.entrypoints.api.bounds import Id
from custos.entrypoints.api.deps import Caller, ContainerDep, needs
from custos.entrypoints.api.schemas import In

router = APIRouter(tags=["diagnosis"])
Reader = Annotated[Caller, needs(Permission.ALARM_READ)]
Manager = Annotated[Caller, needs(Permission.DIAGNOSIS_MANAGE)]


class ThresholdsIn(In):
    """Overrides of the defaults for one camera; a field left out keeps the default."""

    k_raise: int | None = Field(None, ge=1, le=100, description="faulty samples in a row to raise")
    k_clear: int | None = Field(None, ge=1, le=100, description="good samples in a row to clear")
    uniform_fraction: float | None = Field(None, ge=0.5, le=1.0)
    dark_luma: float | None = Field(None, ge=0, le=128)
    dark_ratio: float | None = Field(None, ge=0.05, le=0.95)
    bright_ratio: float | None = Field(None, ge=1.05, le=5)
    flicker_increase: float | None = Field(None, ge=0.1, le=50)
    bright_luma: float | None = Field(None, ge=128, le=255)
    bright_fraction: float | None = Field(None, ge=0.05, le=1.0)
    blur_ratio: float | None = Field(None, ge=0.01, le=0.99)
    occlusion_increase: float | None = Field(None, ge=0.05, le=0.95)
    freeze_diff: float | None = Field(None, ge=0, le=50)
    cast_shift: float | None = Field(None, ge=1, le=100)
    noise_ratio: float | None = Field(None, ge=1, le=20)
    noise_increase: float | None = Field(None, ge=0, le=50)
    scene_shift: float | None = Field(None, ge=0.005, le=1.0)
    scene_similarity: float | None = Field(None, ge=-1, le=1)


class ProposalIn(In):
    reason: str = Field(min_length=1, max_length=1000, description="the lawful change it follows")


@router.get("/cameras/{camera_id}/diagnosis")
def diagnosis_status(camera_id: Id, caller: Reader, c: ContainerDep) -> dict[str, Any]:
    """The last sample's metrics and faults, the K-in-a-row counters, the thresholds in force,
    the baseline and the reference snapshots."""
    return c.diagnosis.status(caller.principal, camera_id)


@router.put("/cameras/{camera_id}/diagnosis/thresholds")
def set_thresholds(
    camera_id: Id, body: ThresholdsIn, caller: Manager, c: ContainerDep
) -> dict[str, Any]:
    overrides = body.model_dump(exclude_none=True)
    return c.diagnosis.set_thresholds(caller.principal, camera_id, overrides)


@router.post("/cameras/{camera_id}/diagnosis/references", status_code=201)
def propose_reference(
    camera_id: Id, body: ProposalIn, caller: Manager, c: ContainerDep
) -> dict[str, Any]:
    """Propose the latest sample as the camera's reference; a different person approves it."""
    return c.diagnosis.propose_reference(caller.principal, camera_id, body.reason).as_dict()


@router.post("/diagnosis/references/{reference_id}/approve")
def approve_reference(reference_id: Id, caller: Manager, c: ContainerDep) -> dict[str, Any]:
    return c.diagnosis.approve_reference(caller.principal, reference_id).as_dict()


@router.get("/diagnosis/references/{reference_id}/image")
def reference_image(reference_id: Id, caller: Reader, c: ContainerDep) -> Response:
    return Response(
        c.diagnosis.reference_image(caller.principal, reference_id), media_type="image/png"
    )


@router.get("/cameras/{camera_id}/diagnosis/latest.png")
def latest_image(camera_id: Id, caller: Reader, c: ContainerDep) -> Response:
    return Response(c.diagnosis.latest_image(caller.principal, camera_id), media_type="image/png")
