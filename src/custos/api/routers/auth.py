"""Sign in and out; who am I."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from custos.api.deps import Caller, ContainerDep, needs
from custos.api.schemas import LoginIn, TokenOut, UserOut
from custos.domain.access import Permission

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/login", response_model=TokenOut)
def login(body: LoginIn, c: ContainerDep) -> TokenOut:
    """Public: exchange a username and password for a bearer token."""
    issued = c.auth.login(body.username, body.password)
    return TokenOut(
        access_token=issued.token,
        expires_at=issued.expires_at,
        username=issued.user.username,
        role=issued.user.role,
    )


@router.post("/logout", status_code=204)
def logout(caller: Annotated[Caller, needs(Permission.SELF)], c: ContainerDep) -> None:
    c.auth.logout(caller.principal, caller.session)


@router.get("/me", response_model=UserOut)
def me(caller: Annotated[Caller, needs(Permission.SELF)]) -> UserOut:
    p = caller.principal
    assert p.role is not None
    return UserOut(
        id=p.user_id or 0,
        username=p.username,
        role=p.role,
        unit_id=p.unit_id,
        active=True,
        full_name=p.full_name,
        jurisdiction=p.jurisdiction,
        approver_title=p.approver_title,
        scopes=list(p.scopes),
    )
