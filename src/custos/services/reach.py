"""Whether a principal reaches a camera, read inside the caller's transaction.

One place for the registry lookups behind :mod:`custos.domain.visibility`, shared by requests,
footage sessions and holds.
"""

from __future__ import annotations

from custos.domain.users import Principal
from custos.domain.visibility import reaches_camera, reaches_site
from custos.services.ports import UnitOfWork


def unit_in_reach(uow: UnitOfWork, actor: Principal, camera_id: int) -> int | None:
    """The camera's operating unit if ``actor`` reaches the camera; None if not, or no camera."""
    cam = uow.cameras.get(camera_id)
    site = uow.sites.get(cam.site_id) if cam else None
    if site is None:
        return None
    if not reaches_site(actor, site.unit_id, site.division_code):
        return None
    if not reaches_camera(actor, site.unit_id, site.id or 0, camera_id):
        return None
    return site.unit_id


def reaches(uow: UnitOfWork, actor: Principal, camera_id: int) -> bool:
    return unit_in_reach(uow, actor, camera_id) is not None
