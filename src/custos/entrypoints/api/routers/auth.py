"""Sign in and out; who am I."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request

from custos.domain.access import Permission
from custos.entrypoints.api.deps import Caller, ContainerDep, client_address, needs
from custos.entrypoints.api.schemas import LoginIn, TokenOut, UserOut

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post(
    "/login",
    response_model=TokenOut,
    responses={
        401: {"description": "wrong username or password (the same for an unknown name)"},
        429: {"description": "too many failures for this name from this address: Retry-After"},
    },
)
def login(body: LoginIn, request: Request, c: ContainerDep) -> TokenOut:
    """Public: exchange a username and password for a bearer token.

    Failures are throttled per (client address, name) with back-off, never by locking the
    account (docs/design/auth.md).
    """
    issued = c.auth.login(body.username, body.password, source=client_address(request))
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
