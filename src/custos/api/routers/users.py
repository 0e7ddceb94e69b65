"""User administration (admins only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from custos.api.deps import Caller, ContainerDep, needs
from custos.api.schemas import UserIn, UserOut
from custos.domain.access import Permission

router = APIRouter(prefix="/users", tags=["users"])
Admin = Annotated[Caller, needs(Permission.USERS_MANAGE)]


@router.get("", response_model=list[UserOut])
def list_users(caller: Admin, c: ContainerDep) -> list[UserOut]:
    return [
        UserOut(id=u.id or 0, username=u.username, role=u.role, unit_id=u.unit_id, active=u.active)
        for u in c.auth.list_users()
    ]


@router.post("", response_model=UserOut, status_code=201)
def create_user(body: UserIn, caller: Admin, c: ContainerDep) -> UserOut:
    u = c.auth.create_user(caller.principal, body.username, body.role, body.password, body.unit_id)
    return UserOut(
        id=u.id or 0, username=u.username, role=u.role, unit_id=u.unit_id, active=u.active
    )


@router.post("/{user_id}/revoke-sessions")
def revoke_sessions(user_id: int, caller: Admin, c: ContainerDep) -> dict[str, int]:
    return {"revoked": c.auth.revoke_all(caller.principal, user_id)}
