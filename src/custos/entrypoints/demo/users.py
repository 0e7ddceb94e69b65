"""The demo's sign-in: an operator of the demo unit, who can watch the duty wall and play back,
with a fresh random password at every start (docs/design/first-hour.md, "Demo users")."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from custos.domain.access import Role
from custos.domain.users import SYSTEM
from custos.services.auth import AuthService

DEMO_OPERATOR = "demo-operator"


@dataclass(frozen=True)
class DemoSignIn:
    username: str
    password: str  # printed once; stored only as its hash
    role: Role


def demo_operator(auth: AuthService, unit_id: int) -> DemoSignIn | None:
    """Make the demo operator (or find it) and give it a new random password: never a default,
    and the one printed by an earlier start stops working. ``None`` when a user of that name
    exists that is not the demo unit's operator (it is left alone)."""
    password = secrets.token_urlsafe(12)
    user = next((u for u in auth.list_users() if u.username == DEMO_OPERATOR), None)
    if user is None:
        auth.create_user(SYSTEM, DEMO_OPERATOR, Role.OPERATOR, password, unit_id)
    elif user.role is Role.OPERATOR and user.unit_id == unit_id and user.id is not None:
        auth.set_password(SYSTEM, user.id, password)
    else:
        return None
    return DemoSignIn(DEMO_OPERATOR, password, Role.OPERATOR)
