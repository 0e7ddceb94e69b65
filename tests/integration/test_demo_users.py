"""The demo's sign-in (docs/design/first-hour.md, "Demo users"): an operator of the demo unit with
a new random password at every start; never a default; never someone else's account."""

from __future__ import annotations

import pytest

from custos.bootstrap import Container
from custos.domain.access import Role
from custos.domain.calendar import shanghai_date
from custos.domain.errors import AuthenticationFailed
from custos.domain.users import SYSTEM
from custos.entrypoints.demo.cameras import DEMO_CREDIT_CODE, register_demo_cameras
from custos.entrypoints.demo.users import DEMO_OPERATOR, demo_operator


def _demo_unit(c: Container) -> int:
    register_demo_cameras(c.registry, [], shanghai_date(c.clock.now()))
    unit = next(u for u in c.registry.list_units(SYSTEM) if u.credit_code == DEMO_CREDIT_CODE)
    assert unit.id is not None
    return unit.id


def test_the_demo_operator_watches_for_the_demo_unit_with_a_new_password_each_start(
    container: Container,
) -> None:
    unit_id = _demo_unit(container)
    first = demo_operator(container.auth, unit_id)
    assert first is not None
    token = container.auth.login(first.username, first.password, source="127.0.0.1")
    assert token.user.role is Role.OPERATOR and token.user.unit_id == unit_id
    second = demo_operator(container.auth, unit_id)
    assert second is not None and second.password != first.password
    with pytest.raises(AuthenticationFailed):
        container.auth.login(DEMO_OPERATOR, first.password, source="127.0.0.1")
    assert (
        container.auth.login(DEMO_OPERATOR, second.password, source="127.0.0.1").user.username
        == DEMO_OPERATOR
    )
    assert [u.username for u in container.auth.list_users()] == [DEMO_OPERATOR]


def test_a_user_of_that_name_who_is_not_the_demo_operator_is_left_alone(
    container: Container,
) -> None:
    unit_id = _demo_unit(container)
    container.auth.create_user(SYSTEM, DEMO_OPERATOR, Role.ADMIN, "an admin's own password", None)
    assert demo_operator(container.auth, unit_id) is None
    assert (
        container.auth.login(DEMO_OPERATOR, "an admin's own password", source="127.0.0.1").user.role
        is Role.ADMIN
    )
