"""Fixtures for the cluster's failure tests: a private PostgreSQL migrated to head, a container
on it to register cameras, GStreamer RTSP cameras, and recorder node processes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from custos.adapters.db.migrate import upgrade
from custos.bootstrap import Container, bootstrap
from custos.config import Settings
from custos.domain.calendar import shanghai_date
from custos.entrypoints.demo.cameras import register_demo_cameras
from tests.integration.cluster.support import Index, NodeProcess, PrivatePostgres
from tests.integration.recorder.conftest import (  # noqa: F401 - fixtures used here
    CameraServer,
    clip,
    media_tools,
)

SEGMENT_S = 10


@pytest.fixture
def private_pg(tmp_path: Path) -> Iterator[PrivatePostgres]:
    pg = PrivatePostgres(tmp_path)
    pg.init()
    upgrade(pg.url)
    yield pg
    pg.close()


@pytest.fixture
def db(private_pg: PrivatePostgres, tmp_path: Path) -> Iterator[Container]:
    c = bootstrap(Settings(data_dir=tmp_path / "admin", database_url=private_pg.url))
    yield c
    c.close()


@pytest.fixture
def index(private_pg: PrivatePostgres) -> Iterator[Index]:
    i = Index(private_pg.url)
    yield i
    i.close()


@pytest.fixture
def camera_fleet(
    clip: Path,  # noqa: F811 - the fixture imported above
    db: Container,
) -> Iterator[Callable[[int], list[int]]]:
    """Start ``n`` RTSP cameras (one GStreamer server) and register them in service."""
    servers: list[CameraServer] = []

    def make(n: int) -> list[int]:
        server = CameraServer(clip, [f"cam{i}" for i in range(n)])
        server.start()
        servers.append(server)
        return register_demo_cameras(db.registry, server.urls(), shanghai_date(db.clock.now()))

    yield make
    for s in servers:
        s.kill()


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[Callable[[str, str], NodeProcess]]:
    made: list[NodeProcess] = []

    def make(name: str, database_url: str) -> NodeProcess:
        node = NodeProcess(name, tmp_path / "nodes", database_url, SEGMENT_S)
        made.append(node)
        return node

    yield make
    for n in made:
        n.stop()
    for n in made:  # shown by pytest only when the test failed
        print(f"---- node {n.name} (tail)\n{n.tail()}")
