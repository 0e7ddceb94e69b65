"""What the import-linter contracts (pyproject.toml) cannot say about the house
(docs/design/architecture.md): no module imports itself through others, and entry points are
handed services, never the database engine."""

from __future__ import annotations

import dataclasses
import typing

import grimp
import pytest

from custos.bootstrap import Container, Services
from custos.entrypoints.api.deps import ContainerDep
from custos.services.health import HealthService


def test_no_module_of_custos_imports_itself_through_others() -> None:
    graph = grimp.build_graph("custos")
    cycles = set()
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            back = graph.find_shortest_chain(importer=imported, imported=module)
            if back is not None:
                cycles.add(" -> ".join((module, *back)))
    assert cycles == set()


def test_entry_points_are_handed_services_not_the_engine() -> None:
    handed = {f.name for f in dataclasses.fields(Services)}
    assert {"registry", "footage", "segment_media", "health"} <= handed
    assert not {"engine", "uow"} & handed
    assert {"engine", "uow"} <= {f.name for f in dataclasses.fields(Container)}
    assert typing.get_args(ContainerDep)[0] is Services


class _Probe:
    def __init__(self, reachable: bool) -> None:
        self.reachable = reachable
        self.pings = 0

    def ping(self) -> None:
        self.pings += 1
        if not self.reachable:
            raise ConnectionError("database unreachable")


def test_health_asks_the_database_every_time() -> None:
    probe = _Probe(reachable=True)
    health = HealthService(probe)
    health.check()
    health.check()
    assert probe.pings == 2
    probe.reachable = False
    with pytest.raises(ConnectionError):
        health.check()
