"""Authentication and the permission every route must declare."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from custos.bootstrap import Services
from custos.domain.access import Permission
from custos.domain.errors import AuthenticationFailed, PermissionDenied
from custos.domain.users import AuthSession, Principal

_bearer = HTTPBearer(auto_error=False, description="token from POST /api/v1/auth/login")


def container(request: Request) -> Services:
    c: Services = request.app.state.container
    return c


def client_address(request: Request) -> str:
    """The client's address, for sign-in throttling: the TCP peer (behind a proxy, run uvicorn
    with --forwarded-allow-ips so that the peer is the client, not the proxy)."""
    return request.client.host if request.client is not None else "unknown"


@dataclass(frozen=True)
class Caller:
    principal: Principal
    session: AuthSession


class RequirePermission:
    """A route dependency: authenticate the bearer token, then check one permission.

    The route-walking test looks for an instance of this class on every route.
    """

    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    def __call__(
        self,
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Caller:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise AuthenticationFailed("sign in first: send 'Authorization: Bearer <token>'")
        c = container(request)
        principal, session = c.auth.authenticate(credentials.credentials)
        if not principal.can(self.permission):
            c.auth.note_denied(principal, self.permission, f"{request.method} {request.url.path}")
            raise PermissionDenied(f"role {principal.role} lacks permission {self.permission}")
        return Caller(principal, session)


def needs(permission: Permission) -> Any:
    """``caller: Annotated[Caller, needs(Permission.X)]`` — declare and enforce a permission.

    The permission is also published in the OpenAPI document as the bearer scheme's scope, so
    every operation there says what it needs.
    """
    return Security(RequirePermission(permission), scopes=[permission.value])


ContainerDep = Annotated[Services, Depends(container)]
