"""Liveness: public, says nothing about the data."""

from __future__ import annotations

from fastapi import APIRouter

from custos import __version__
from custos.entrypoints.api.deps import ContainerDep

router = APIRouter(tags=["health"])


@router.get("/health")
def health(c: ContainerDep) -> dict[str, str]:
    c.health.check()
    return {"status": "ok", "version": __version__}
