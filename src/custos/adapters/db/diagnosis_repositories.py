"""Repositories of migration 0014: diagnosis per camera, and reference snapshots."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, insert, select, update

from custos.adapters.db import diagnosis_tables as dt
from custos.domain.diagnosis import Counter, Fault, FrameMetrics
from custos.domain.diagnosis_state import CameraDiagnosis, Reference, ReferenceState


class CameraDiagnosisRepository:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def get(self, camera_id: int) -> CameraDiagnosis | None:
        q = select(dt.diagnosis_cameras).where(dt.diagnosis_cameras.c.camera_id == camera_id)
        row = self._c.execute(q).mappings().first()
        return _diagnosis(row) if row else None

    def put(self, d: CameraDiagnosis) -> None:
        values: dict[str, Any] = {
            "overrides": json.dumps(d.overrides, sort_keys=True),
            "last_segment_id": d.last_segment_id,
            "sampled_at": d.sampled_at,
            "metrics": json.dumps(d.metrics.as_dict()) if d.metrics else None,
            "faults": json.dumps(sorted(f.value for f in d.faults)),
            "counters": json.dumps({f.value: c.as_dict() for f, c in d.counters.items()}),
            "history": json.dumps([m.as_dict() for m in d.history]),
        }
        t = dt.diagnosis_cameras
        done = self._c.execute(update(t).where(t.c.camera_id == d.camera_id).values(**values))
        if done.rowcount == 0:
            self._c.execute(insert(t).values(camera_id=d.camera_id, **values))


def _diagnosis(r: RowMapping) -> CameraDiagnosis:
    counters = {
        Fault(k): Counter(int(v["bad"]), int(v["good"]), bool(v["raised"]))
        for k, v in json.loads(r["counters"]).items()
    }
    return CameraDiagnosis(
        camera_id=r["camera_id"],
        overrides=json.loads(r["overrides"]),
        last_segment_id=r["last_segment_id"],
        sampled_at=r["sampled_at"],
        metrics=FrameMetrics.from_dict(json.loads(r["metrics"])) if r["metrics"] else None,
        faults=frozenset(Fault(f) for f in json.loads(r["faults"])),
        counters=counters,
        history=tuple(FrameMetrics.from_dict(m) for m in json.loads(r["history"])),
    )


class ReferenceRepository:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(self, ref: Reference) -> Reference:
        values = {
            "camera_id": ref.camera_id,
            "path": ref.path,
            "sha256": ref.sha256,
            "state": ref.state.value,
            "reason": ref.reason,
            "proposed_by": ref.proposed_by,
            "proposed_at": ref.proposed_at,
            "approved_by": ref.approved_by,
            "approved_at": ref.approved_at,
        }
        new_id = self._c.execute(insert(dt.diagnosis_references).values(**values))
        assert new_id.inserted_primary_key is not None
        return dataclasses.replace(ref, id=int(new_id.inserted_primary_key[0]))

    def get(self, reference_id: int) -> Reference | None:
        q = select(dt.diagnosis_references).where(dt.diagnosis_references.c.id == reference_id)
        row = self._c.execute(q).mappings().first()
        return _reference(row) if row else None

    def find(self, camera_id: int) -> list[Reference]:
        t = dt.diagnosis_references
        q = select(t).where(t.c.camera_id == camera_id).order_by(t.c.id)
        return [_reference(r) for r in self._c.execute(q).mappings()]

    def approved(self, camera_id: int) -> Reference | None:
        t = dt.diagnosis_references
        q = select(t).where(t.c.camera_id == camera_id, t.c.state == ReferenceState.APPROVED.value)
        row = self._c.execute(q.order_by(t.c.id.desc()).limit(1)).mappings().first()
        return _reference(row) if row else None

    def set_state(
        self, reference_id: int, state: ReferenceState, by: str | None = None,
        at: datetime | None = None,
    ) -> None:  # fmt: skip
        t = dt.diagnosis_references
        values: dict[str, Any] = {"state": state.value}
        if by is not None:
            values |= {"approved_by": by, "approved_at": at}
        self._c.execute(update(t).where(t.c.id == reference_id).values(**values))


def _reference(r: RowMapping) -> Reference:
    return Reference(
        id=r["id"],
        camera_id=r["camera_id"],
        path=r["path"],
        sha256=r["sha256"],
        state=ReferenceState(r["state"]),
        reason=r["reason"],
        proposed_by=r["proposed_by"],
        proposed_at=r["proposed_at"],
        approved_by=r["approved_by"],
        approved_at=r["approved_at"],
    )
