"""People who sign in, and their sessions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from custos.domain.access import Permission, Role, permissions_of
from custos.domain.errors import PermissionDenied
from custos.domain.rules.terms import ApproverRole


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
    # Who the person is, for registers and the two-person rule:
    full_name: str = ""
    # An officer's, approver's or supervisor's reach: sites in this division (GB/T 2260) or below.
    jurisdiction: str | None = None
    # The title an approver holds (e.g. head of a county-level police organ), from the packs.
    approver_title: ApproverRole | None = None
    # Narrower reach inside the unit or jurisdiction: "unit:3", "site:7", "camera:12".
    scopes: tuple[str, ...] = ()

    def can(self, permission: Permission) -> bool:
        return self.active and permission in permissions_of(self.role)


@dataclass(frozen=True)
class UserProfile:
    """The parts of a user an administrator sets besides name, role and password."""

    full_name: str = ""
    jurisdiction: str | None = None
    approver_title: ApproverRole | None = None
    scopes: tuple[str, ...] = ()


SCOPE_KINDS = ("unit", "site", "camera")
#: Ids are database integers: 1 … 2^31 − 1 (PostgreSQL's INTEGER).
SCOPE_ID_MAX = 2**31 - 1


def parse_scope(entry: str) -> tuple[str, int] | None:
    """``"site:7"`` → ``("site", 7)``; None when malformed or out of range.

    Only ASCII digits count: ``str.isdigit`` also accepts ``"²"``, which ``int`` refuses.
    """
    kind, _, number = entry.partition(":")
    if kind not in SCOPE_KINDS or not (number.isascii() and number.isdigit()):
        return None
    target = int(number)
    if not 1 <= target <= SCOPE_ID_MAX:
        return None
    return kind, target


@dataclass(frozen=True)
class Principal:
    """Who is acting: the user behind a request, or a system actor (CLI, recorder)."""

    user_id: int | None
    username: str
    role: Role | None
    unit_id: int | None
    full_name: str = ""
    jurisdiction: str | None = None
    approver_title: ApproverRole | None = None
    scopes: tuple[str, ...] = ()

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
