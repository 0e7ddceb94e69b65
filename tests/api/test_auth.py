"""Sign-in, token expiry and revocation, throttling of failures, and roles."""

from __future__ import annotations

import time
from datetime import timedelta

from fastapi import FastAPI
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


def test_known_and_unknown_names_are_answered_alike_through_the_back_off(
    client: TestClient, container: Container
) -> None:
    """Status, body and headers stay equal for a real and an unknown name, failure after failure,
    past the threshold: a pause tells nothing about whether the name exists."""
    container.auth.create_user(SYSTEM, "bobby", Role.ADMIN, PASSWORD, None)
    answers: dict[str, list[tuple[int, str, str | None]]] = {"bobby": [], "nobody-at-all": []}
    for name, seen in answers.items():
        for _ in range(container.settings.lockout_threshold + 2):
            r = client.post(
                "/api/v1/auth/login", json={"username": name, "password": "wrong password!"}
            )
            seen.append((r.status_code, r.text, r.headers.get("retry-after")))
    assert answers["bobby"] == answers["nobody-at-all"]
    assert [s for s, _, _ in answers["bobby"]][-2:] == [429, 429]


def test_a_paused_or_unknown_name_costs_the_same_argon2_time_as_a_real_one(
    client: TestClient, container: Container
) -> None:
    container.auth.create_user(SYSTEM, "timed", Role.ADMIN, PASSWORD, None)
    threshold = container.settings.lockout_threshold

    def median_ms(name: str, tries: int = 5) -> float:
        times = []
        for _ in range(tries):
            start = time.perf_counter()
            client.post("/api/v1/auth/login", json={"username": name, "password": "wrong pw!!"})
            times.append((time.perf_counter() - start) * 1000)
        return sorted(times)[tries // 2]

    known = median_ms("timed", threshold - 1)  # wrong password, not yet paused
    unknown = median_ms("no-such-user", threshold - 1)
    assert _login(client, "timed", "wrong pw!!")[0] == 429  # the threshold-th failure pauses
    paused = median_ms("timed")
    # Every refusal verifies one Argon2 hash (~50-200 ms); a shortcut answers in a few ms.
    assert known > 20
    for other in (unknown, paused):
        assert known / 3 < other < known * 3, (known, unknown, paused)


def test_failures_pause_the_name_from_that_address_with_growing_back_off(
    client: TestClient, container: Container, clock: ManualClock
) -> None:
    container.auth.create_user(SYSTEM, "carol", Role.AUDITOR, PASSWORD, None)
    threshold = container.settings.lockout_threshold
    statuses = [_login(client, "carol", "wrong password!")[0] for _ in range(threshold)]
    assert statuses == [401] * (threshold - 1) + [429]
    status, body = _login(client, "carol", PASSWORD)
    assert status == 429, "even the right password waits out the pause"
    assert body["error"] == "sign_in_throttled"
    first_pause = body["retry_after"]
    assert isinstance(first_pause, int)
    assert first_pause >= 1
    clock.advance(timedelta(seconds=first_pause + 1))
    assert _login(client, "carol", "wrong password!")[0] == 429  # a further failure: longer
    second_pause = _login(client, "carol", PASSWORD)[1]["retry_after"]
    assert isinstance(second_pause, int)
    assert second_pause > first_pause
    clock.advance(timedelta(seconds=second_pause + 1))
    assert _login(client, "carol", PASSWORD)[0] == 200


def test_the_back_off_never_exceeds_the_longest_pause(
    client: TestClient, container: Container, clock: ManualClock
) -> None:
    container.auth.create_user(SYSTEM, "carl", Role.AUDITOR, PASSWORD, None)
    longest = container.settings.lockout_minutes * 60
    for _ in range(container.settings.lockout_threshold + 12):
        status, body = _login(client, "carl", "wrong password!")
        if status == 429:
            wait = body["retry_after"]
            assert isinstance(wait, int)
            assert wait <= longest
            clock.advance(timedelta(seconds=wait))
    assert _login(client, "carl", PASSWORD)[0] == 200


def test_an_attacker_cannot_lock_the_admin_out_from_another_address(
    app: FastAPI, client: TestClient, container: Container
) -> None:
    container.auth.create_user(SYSTEM, "root-admin", Role.ADMIN, PASSWORD, None)
    for _ in range(container.settings.lockout_threshold + 5):
        _login(client, "root-admin", "guessing wrong")
    assert _login(client, "root-admin", PASSWORD)[0] == 429  # the attacker's address waits
    with TestClient(app, client=("10.20.30.40", 40000)) as admins_desk:
        assert _login(admins_desk, "root-admin", PASSWORD)[0] == 200


def test_a_new_password_set_by_an_administrator_lifts_the_pause(
    client: TestClient, container: Container
) -> None:
    user = container.auth.create_user(SYSTEM, "dora", Role.AUDITOR, PASSWORD, None)
    for _ in range(container.settings.lockout_threshold):
        _login(client, "dora", "wrong password!")
    assert _login(client, "dora", PASSWORD)[0] == 429
    container.auth.set_password(SYSTEM, user.id or 0, "another long password")
    assert _login(client, "dora", "another long password")[0] == 200


def test_failures_spread_beyond_the_window_never_pause(
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
