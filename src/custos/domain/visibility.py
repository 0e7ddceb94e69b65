"""Whose footage a principal may reach: deny by default, narrowed three ways.

1. Unit-scoped roles (unit managers, operators) reach their own unit only.
2. A *jurisdiction* (officers, approvers, a supervising bureau) reaches sites in that division or
   below (GB/T 2260 hierarchy).
3. Explicit *scopes* (``unit:3``, ``site:7``, ``camera:12``) narrow a user further to those
   units, sites or cameras.

System principals (CLI, recorder) and users with none of these reach everything their role's
permissions allow; the role still decides *what* they may do.
"""

from __future__ import annotations

from custos.domain.access import UNIT_SCOPED_ROLES
from custos.domain.codes import DivisionCode
from custos.domain.users import Principal, parse_scope


def reaches_site(p: Principal, unit_id: int, division_code: str) -> bool:
    if p.is_system:
        return True
    if p.role in UNIT_SCOPED_ROLES and unit_id != p.unit_id:
        return False
    if p.jurisdiction is not None:
        return DivisionCode(p.jurisdiction).contains(DivisionCode(division_code))
    return True


def reaches_camera(p: Principal, unit_id: int, site_id: int, camera_id: int) -> bool:
    """The explicit-scope test (call after :func:`reaches_site` passed for the camera's site)."""
    if p.is_system or not p.scopes:
        return True
    wanted = {("unit", unit_id), ("site", site_id), ("camera", camera_id)}
    return any(parse_scope(s) in wanted for s in p.scopes)
