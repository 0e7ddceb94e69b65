"""Repositories of migration 0008: footage imports and network interruptions."""

from __future__ import annotations

import dataclasses

from sqlalchemy import Connection, RowMapping, insert, select

from custos.adapters.db import conformance_tables as ct
from custos.domain.footage_import import FootageImport


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
