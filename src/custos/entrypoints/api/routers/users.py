"""User administration (admins only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from custos.domain.access import Permission
from custos.entrypoints.api.bounds import Id
from custos.entrypoints.api.deps import Caller, ContainerDep, needs
from custos.entrypoints.api.schemas import ProfileIn, UserIn, UserOut

router = APIRouter(prefix="/users", tags=["users"])
Admin = Annotated[Caller, needs(Permission.USERS_MANAGE)]


@router.get("", response_model=list[UserOut])
def list_users(caller: Admin, c: ContainerDep) -> list[UserOut]:
    return [UserOut.of(u) for u in c.auth.list_users()]


@router.post("", response_model=UserOut, status_code=201)
def create_user(body: UserIn, caller: Admin, c: ContainerDep) -> UserOut:
    u = c.auth.create_user(
        caller.principal, body.username, body.role, body.password, body.unit_id, body.domain()
    )
    return UserOut.of(u)


@router.put("/{user_id}/profile", response_model=UserOut)
def set_profile(user_id: Id, body: ProfileIn, caller: Admin, c: ContainerDep) -> UserOut:
    """Full name, jurisdiction (division code), approver title and narrower scopes
    (``unit:ID``, ``site:ID``, ``camera:ID``)."""
    return UserOut.of(c.auth.set_profile(caller.principal, user_id, body.domain()))


@router.post("/{user_id}/revoke-sessions")
def revoke_sessions(user_id: Id, caller: Admin, c: ContainerDep) -> dict[str, int]:
    return {"revoked": c.auth.revoke_all(caller.principal, user_id)}
