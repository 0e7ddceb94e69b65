"""Sign-in, token expiry and revocation, lockout, and roles."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from custos.bootstrap import Container
from custos.domain.access import Role
from custos.domain.clock import ManualClock
from custos.domain.users import SYSTEM

from .conftest import PASSWORD, LoginAs


def _login(client: TestClient, user: str, password: str) -> tuple[int, dict[str, object]]:
    r = client.post("/api/v1/auth/login", json={"username": user, "password": password})
    return r.status_code, r.json() if r.content else {}


def test_passwords_are_stored_as_argon2id_hashes(container: Container) -> None:
    container.auth.create_user(SYSTEM, "alice", Role.ADMIN, PASSWORD, None)
    with container.uow() as uow:
        stored = uow.users.by_username("alice")
    assert stored is not None
    assert stored.password_hash.startswith("$argon2id$")
    assert PASSWORD not in stored.password_hash


def test_short_password_and_bad_username_are_refused_naming_the_field(container: Container) -> None:
    import pytest

    from custos.domain.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as err:
        container.auth.create_user(SYSTEM, "Bad Name", Role.ADMIN, "short", None)
    assert {e.field for e in err.value.errors} == {"username", "password"}
    assert container.auth.list_users() == []


def test_unit_scoped_role_needs_a_unit(container: Container) -> None:
    import pytest

    from custos.domain.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as err:
        container.auth.create_user(SYSTEM, "operator1", Role.OPERATOR, PASSWORD, None)
    assert err.value.errors[0].field == "unit_id"


def test_login_returns_a_token_that_works_and_expires(
    client: TestClient, login_as: LoginAs, clock: ManualClock, container: Container
) -> None:
    headers = login_as(Role.AUDITOR)
    assert client.get("/api/v1/auth/me", headers=headers).json()["role"] == "auditor"
    clock.advance(timedelta(minutes=container.settings.token_ttl_minutes + 1))
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401


def test_logout_revokes_the_token(client: TestClient, login_as: LoginAs) -> None:
    headers = login_as(Role.AUDITOR)
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401


def test_admin_can_revoke_every_session_of_a_user(
    client: TestClient, login_as: LoginAs, admin: dict[str, str]
) -> None:
    victim = login_as(Role.SUPERVISOR)
    me = client.get("/api/v1/auth/me", headers=victim).json()
    r = client.post(f"/api/v1/users/{me['id']}/revoke-sessions", headers=admin)
    assert r.status_code == 200 and r.json()["revoked"] == 1
    assert client.get("/api/v1/auth/me", headers=victim).status_code == 401


def test_wrong_password_and_unknown_user_get_the_same_answer(
    client: TestClient, container: Container
) -> None:
    container.auth.create_user(SYSTEM, "bob", Role.AUDITOR, PASSWORD, None)
    wrong = _login(client, "bob", "not the password")
    unknown = _login(client, "nobody", "not the password")
    assert wrong == unknown
    assert wrong[0] == 401


def test_repeated_failures_lock_the_account_then_it_unlocks(
    client: TestClient, container: Container, clock: ManualClock
) -> None:
    container.auth.create_user(SYSTEM, "carol", Role.AUDITOR, PASSWORD, None)
    threshold = container.settings.lockout_threshold
    statuses = [_login(client, "carol", "wrong password!")[0] for _ in range(threshold)]
    assert statuses[:-1] == [401] * (threshold - 1)
    assert statuses[-1] == 423
    status, body = _login(client, "carol", PASSWORD)
    assert status == 423, "even the right password is refused while locked"
    assert "locked_until" in body
    clock.advance(timedelta(minutes=container.settings.lockout_minutes, seconds=1))
    assert _login(client, "carol", PASSWORD)[0] == 200


def test_failures_spread_beyond_the_window_do_not_lock(
    client: TestClient, container: Container, clock: ManualClock
) -> None:
    container.auth.create_user(SYSTEM, "dave", Role.AUDITOR, PASSWORD, None)
    for _ in range(container.settings.lockout_threshold + 2):
        assert _login(client, "dave", "wrong password!")[0] == 401
        clock.advance(timedelta(minutes=container.settings.lockout_window_minutes, seconds=1))


def test_failed_and_successful_logins_enter_the_operation_log(
    client: TestClient, container: Container
) -> None:
    container.auth.create_user(SYSTEM, "erin", Role.AUDITOR, PASSWORD, None)
    _login(client, "erin", "wrong password!")
    _login(client, "erin", PASSWORD)
    with container.uow() as uow:
        events = [e for _, e in uow.audit.find(limit=50) if e.action == "auth.login"]
    assert [e.outcome.value for e in events] == ["refused", "ok"]
    assert all(PASSWORD not in str(e) for e in events)


def test_a_role_without_the_permission_gets_403(client: TestClient, login_as: LoginAs) -> None:
    auditor = login_as(Role.AUDITOR)
    body = {"name": "x", "credit_code": "91350100M000100Y43", "kind": "enterprise"}
    r = client.post("/api/v1/units", json=body, headers=auditor)
    assert r.status_code == 403
    assert "registry.write" in r.json()["message"]
