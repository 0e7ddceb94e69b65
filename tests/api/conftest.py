"""An HTTP client on the real app, and users of every role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from custos.bootstrap import Container
from custos.domain.access import Role
from custos.domain.rules.terms import ApproverRole
from custos.domain.users import SYSTEM
from custos.entrypoints.api.app import create_app
from tests.api.access_world import World, build_world, make_clip
from tests.api.builders import PASSWORD


@pytest.fixture
def app(container: Container) -> FastAPI:
    return create_app(container)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


LoginAs = Callable[..., dict[str, str]]


@pytest.fixture
def login_as(container: Container, client: TestClient) -> LoginAs:
    """Create a user of ``role`` (once) and return auth headers for it."""

    def make(role: Role, unit_id: int | None = None, name: str | None = None) -> dict[str, str]:
        username = name or f"{role.value.replace('_', '-')}{unit_id or ''}"
        if all(u.username != username for u in container.auth.list_users()):
            container.auth.create_user(SYSTEM, username, role, PASSWORD, unit_id)
        r = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    return make


@pytest.fixture
def admin(login_as: LoginAs) -> dict[str, str]:
    return login_as(Role.ADMIN)


HEAD = ApproverRole.HEAD_OF_POLICE_COUNTY_PLUS


@pytest.fixture(scope="session")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("access-clip") / "clip.mp4")


@pytest.fixture
def world(client: TestClient, container: Container, admin: dict[str, str], clip: Path) -> World:
    w = build_world(client, container, admin, clip)
    w.person("officer", Role.OFFICER, full_name="赵警官")
    w.person("head", Role.APPROVER, full_name="孙局长", title=HEAD)
    w.person("plain-approver", Role.APPROVER, full_name="周科长")
    return w
