"""People who sign in, and their sessions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from custos.domain.access import Permission, Role, permissions_of
from custos.domain.errors import PermissionDenied


@dataclass
class User:
    id: int | None
    username: str
    role: Role
    unit_id: int | None
    password_hash: str
    active: bool = True
    failed_logins: int = 0
    first_failure_at: datetime | None = None
    locked_until: datetime | None = None

    def can(self, permission: Permission) -> bool:
        return self.active and permission in permissions_of(self.role)


@dataclass(frozen=True)
class Principal:
    """Who is acting: the user behind a request, or a system actor (CLI, recorder)."""

    user_id: int | None
    username: str
    role: Role | None
    unit_id: int | None

    @property
    def is_system(self) -> bool:
        return self.user_id is None

    def can(self, permission: Permission) -> bool:
        return self.role is None or permission in permissions_of(self.role)

    def require(self, permission: Permission) -> None:
        """Raise PermissionDenied unless this principal holds ``permission``."""
        if not self.can(permission):
            raise PermissionDenied(f"role {self.role} lacks permission {permission}")


SYSTEM = Principal(user_id=None, username="system", role=None, unit_id=None)


@dataclass
class AuthSession:
    id: int | None
    user_id: int
    token_hash: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None

    def is_live(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at
