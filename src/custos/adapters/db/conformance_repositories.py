"""Repositories of migration 0008: footage imports and network interruptions."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from sqlalchemy import Connection, RowMapping, insert, select, update

from custos.adapters.db import conformance_tables as ct
from custos.domain.footage_import import FootageImport
from custos.domain.network_interruption import InterruptionCause, NetworkInterruption


class FootageImportRepository:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(self, record: FootageImport) -> FootageImport:
        values = {k: v for k, v in record.as_dict().items() if k not in ("id", "run_id")}
        values |= {
            "start_at": record.start_at,
            "end_at": record.end_at,
            "imported_at": record.imported_at,
        }
        new_id = self._c.execute(insert(ct.footage_imports).values(**values)).inserted_primary_key
        assert new_id is not None
        return dataclasses.replace(record, id=int(new_id[0]))

    def find(self, camera_id: int | None = None) -> list[FootageImport]:
        q = select(ct.footage_imports).order_by(ct.footage_imports.c.id)
        if camera_id is not None:
            q = q.where(ct.footage_imports.c.camera_id == camera_id)
        return [_import(r) for r in self._c.execute(q).mappings()]


def _import(r: RowMapping) -> FootageImport:
    return FootageImport(
        id=r["id"],
        camera_id=r["camera_id"],
        source_name=r["source_name"],
        source_sha256=r["source_sha256"],
        source_bytes=r["source_bytes"],
        start_at=r["start_at"],
        end_at=r["end_at"],
        segments=r["segments"],
        purpose=r["purpose"],
        imported_by=r["imported_by"],
        imported_at=r["imported_at"],
    )


class NetworkInterruptionRepository:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(self, i: NetworkInterruption) -> NetworkInterruption:
        values = {k: getattr(i, k) for k in NetworkInterruption.__dataclass_fields__ if k != "id"}
        values["cause"] = i.cause.value
        key = self._c.execute(insert(ct.network_interruptions).values(**values))
        assert key.inserted_primary_key is not None
        return dataclasses.replace(i, id=int(key.inserted_primary_key[0]))

    def end(self, interruption_id: int, ended_at: datetime) -> None:
        t = ct.network_interruptions
        self._c.execute(update(t).where(t.c.id == interruption_id).values(ended_at=ended_at))

    def get(self, interruption_id: int) -> NetworkInterruption | None:
        t = ct.network_interruptions
        row = self._c.execute(select(t).where(t.c.id == interruption_id)).mappings().first()
        return _interruption(row) if row is not None else None

    def find(self, site_ids: list[int]) -> list[NetworkInterruption]:
        t = ct.network_interruptions
        q = select(t).where(t.c.site_id.in_(site_ids)).order_by(t.c.started_at, t.c.id)
        return [_interruption(r) for r in self._c.execute(q).mappings()]


def _interruption(r: RowMapping) -> NetworkInterruption:
    return NetworkInterruption(
        id=r["id"],
        site_id=r["site_id"],
        cause=InterruptionCause(r["cause"]),
        detail=r["detail"],
        carrier=r["carrier"],
        started_at=r["started_at"],
        ended_at=r["ended_at"],
        recorded_by=r["recorded_by"],
        recorded_at=r["recorded_at"],
    )
