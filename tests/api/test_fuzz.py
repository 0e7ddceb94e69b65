"""Schemathesis over the whole OpenAPI document, signed in as an administrator: no input an
attacker can send gets a server error (issue 11 §5).

The token must stay valid for the whole run, or the run would mostly test the 401 path: the
routes that end the caller's own sessions (logout, revoking a user's sessions, setting a
password) are left out, a lost token is replaced by signing in again, and the test fails if
more than a few answers were 401.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.core.result import Ok
from schemathesis.generation.meta import negated_parameters
from schemathesis.schemas import APIOperation

from custos.bootstrap import Container
from custos.domain.access import Role
from custos.domain.errors import AuthenticationFailed
from custos.domain.users import SYSTEM
from tests.api.builders import PASSWORD

ADMIN = "fuzz-admin"
#: Routes that would end the token under test (the admin's own sessions).
TOKEN_ENDERS = r"/auth/logout$|/revoke-sessions$|/password$"


class Harness:
    """The admin's token, renewed when lost, and the statuses seen."""

    def __init__(self, container: Container) -> None:
        self.container = container
        self.statuses: Counter[int] = Counter()
        self.unauthorized: Counter[str] = Counter()  # 401s but for sign-in's own
        self.without_token = 0
        self.renewed = 0
        self.token = self._sign_in()

    def _sign_in(self) -> str:
        # Through the service from an address of its own: the fuzzer's failed sign-ins for
        # random names (from the test client's address) never pause this one.
        return self.container.auth.login(ADMIN, PASSWORD, source="fuzz-harness").token

    def headers(self) -> dict[str, str]:
        try:
            self.container.auth.authenticate(self.token)
        except AuthenticationFailed:
            self.token = self._sign_in()
            self.renewed += 1
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def harness(container: Container) -> Harness:
    container.auth.create_user(SYSTEM, ADMIN, Role.ADMIN, PASSWORD, None)
    return Harness(container)


MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
#: Examples per operation and mode: ~90 operations x 2 modes x 2 databases stays near a minute.
#: CUSTOS_FUZZ_EXAMPLES=50 for a longer hunt by hand.
EXAMPLES = int(os.environ.get("CUSTOS_FUZZ_EXAMPLES", "4"))


def test_no_generated_request_gets_a_server_error(app: FastAPI, harness: Harness) -> None:
    loaded = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    schema = loaded.exclude(path_regex=TOKEN_ENDERS)
    failures: list[str] = []
    operations = [r.ok() for r in schema.get_all_operations() if isinstance(r, Ok)]
    assert len(operations) > 60, "the whole API is fuzzed"
    for operation in operations:
        for mode in MODES:
            failure = _fuzz(operation, mode, harness)
            if failure is not None:
                failures.append(failure)
    calls = sum(harness.statuses.values())
    assert calls > len(operations) * 4
    lost = sum(harness.unauthorized.values())
    assert lost < calls * 0.02, f"the token was lost: {harness.unauthorized}"
    assert failures == []


def _fuzz(
    operation: APIOperation[Any, Any, Any, Any], mode: GenerationMode, harness: Harness
) -> str | None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
    )
    def call(case: Case[Any]) -> None:
        if any(name.lower() == "authorization" for name, _ in negated_parameters(case.meta)):
            harness.without_token += 1  # the 401 path has its own tests (route permissions)
            return
        for name, value in harness.headers().items():
            case.headers[name] = value
        try:
            response = case.call()
        except Exception as exc:  # the app raised: the client would have seen a 500
            where = f"{case.method} {case.formatted_path} ({mode.value})"
            raise AssertionError(f"{where} -> {type(exc).__name__}: {exc}"[:400]) from exc
        harness.statuses[response.status_code] += 1
        if response.status_code == 401 and case.path != "/api/v1/auth/login":
            harness.unauthorized[f"{case.method} {case.path}"] += 1
        assert response.status_code < 500, (
            f"{case.method} {case.formatted_path} ({mode.value}) -> {response.status_code}: "
            f"{response.text[:300]}"
        )

    try:
        call()
    except AssertionError as exc:
        return str(exc).splitlines()[0]
    except Unsatisfiable:
        pass  # nothing negative to generate for an operation without inputs
    return None
