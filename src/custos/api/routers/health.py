"""Liveness: public, says nothing about the data."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from custos import __version__
from custos.api.deps import ContainerDep

router = APIRouter(tags=["health"])


@router.get("/health")
def health(c: ContainerDep) -> dict[str, str]:
    with c.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    return {"status": "ok", "version": __version__}
