"""Liveness: is the database there? Public, so it says nothing about the data."""

from __future__ import annotations

from custos.services.ports import DatabaseProbe


class HealthService:
    def __init__(self, database: DatabaseProbe) -> None:
        self._database = database

    def check(self) -> None:
        """Returns when the database answers; raises what the probe raises when it does not."""
        self._database.ping()
