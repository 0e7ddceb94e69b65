"""Publication cases in SQL (SQLite and PostgreSQL): on a unit of work's connection
(:class:`PublicationRepository`) or each call its own transaction (:class:`SqlPublications`).

The :class:`~custos.services.publication.Publications` port. The case is stored as JSON in
``body``; the columns repeat what lists filter on.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection, Engine

from custos.adapters.db.publication_tables import publications as t
from custos.domain.masking import Box, MaskKind, MaskMode, StaticZone
from custos.domain.publication import (
    AddedRegion,
    ProposedTrack,
    PublicationCase,
    PublicationState,
    VideoFacts,
)
from custos.domain.publication_job import PublicationJob
from custos.domain.rules.terms import MaskTarget


class PublicationRepository:
    """The cases on one connection: the access unit of work's ``publications`` (so that the
    release's case state is written in the transaction of its register entry and log)."""

    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(self, case: PublicationCase) -> PublicationCase:
        result = self._c.execute(insert(t).values(**_columns(case)))
        key = result.inserted_primary_key
        assert key is not None
        case.id = int(key[0])
        return case

    def get(self, case_id: int, lock: bool = False) -> PublicationCase | None:
        """The case; ``lock``: its row locked until the transaction ends (PostgreSQL)."""
        query = select(t.c.id, t.c.body).where(t.c.id == case_id)
        row = self._c.execute(query.with_for_update() if lock else query).first()
        return None if row is None else from_json(int(row.id), json.loads(row.body))

    def latest(self, limit: int, requested_by: int | None = None) -> list[PublicationCase]:
        """The newest cases first (only one requester's when ``requested_by`` is given)."""
        query = select(t.c.id, t.c.body).order_by(t.c.id.desc())
        if requested_by is not None:
            query = query.where(t.c.requested_by == requested_by)
        rows = self._c.execute(query.limit(limit)).all()
        return [from_json(int(r.id), json.loads(r.body)) for r in rows]

    def pending(self) -> list[int]:
        """The cases whose job waits or runs (detecting, rendering), oldest first."""
        states = [PublicationState.DETECTING.value, PublicationState.RENDERING.value]
        query = select(t.c.id).where(t.c.state.in_(states)).order_by(t.c.id)
        return [int(i) for i in self._c.scalars(query)]

    def update(self, case: PublicationCase) -> None:
        assert case.id is not None
        self._c.execute(update(t).where(t.c.id == case.id).values(**_columns(case)))

    def update_if(self, case: PublicationCase, state: PublicationState, attempt: int) -> bool:
        """Write ``case`` only if the stored one is still ``state`` at job ``attempt`` (a job
        superseded by a later start writes nothing); its row locked first (PostgreSQL)."""
        assert case.id is not None
        stored = self.get(case.id, lock=True)
        if stored is None or stored.state is not state or stored.job is None:
            return False
        if stored.job.attempt != attempt:
            return False
        self.update(case)
        return True


class SqlPublications:
    """The same, each call its own transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, case: PublicationCase) -> PublicationCase:
        with self.engine.begin() as conn:
            return PublicationRepository(conn).add(case)

    def get(self, case_id: int) -> PublicationCase | None:
        with self.engine.connect() as conn:
            return PublicationRepository(conn).get(case_id)

    def latest(self, limit: int, requested_by: int | None = None) -> list[PublicationCase]:
        with self.engine.connect() as conn:
            return PublicationRepository(conn).latest(limit, requested_by)

    def pending(self) -> list[int]:
        with self.engine.connect() as conn:
            return PublicationRepository(conn).pending()

    def update(self, case: PublicationCase) -> None:
        with self.engine.begin() as conn:
            PublicationRepository(conn).update(case)

    def update_if(self, case: PublicationCase, state: PublicationState, attempt: int) -> bool:
        with self.engine.begin() as conn:
            return PublicationRepository(conn).update_if(case, state, attempt)


def _columns(case: PublicationCase) -> dict[str, Any]:
    return {
        "state": case.state.value,
        "source_sha256": case.source_sha256,
        "division_code": case.division_code,
        "requested_by": case.requested_by,
        "requested_at": case.requested_at,
        "reviewer_id": case.reviewer_id,
        "released_at": case.released_at,
        "package_sha256": case.package_sha256,
        "body": json.dumps(to_json(case), ensure_ascii=False, separators=(",", ":")),
    }


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def to_json(case: PublicationCase) -> dict[str, Any]:
    return {
        "source_sha256": case.source_sha256,
        "source_name": case.source_name,
        "division_code": case.division_code,
        "purpose": case.purpose,
        "requested_by": case.requested_by,
        "requested_by_name": case.requested_by_name,
        "requested_at": _time(case.requested_at),
        "required": {k.value: list(v) for k, v in case.required.items()},
        "video": {
            "name": case.video.name,
            "width": case.video.width,
            "height": case.video.height,
            "fps": case.video.fps,
            "frames": case.video.frames,
        },
        "tracks": [
            {
                "id": tr.id,
                "kind": tr.kind.value,
                "frames": [[i, *b.as_list()] for i, b in tr.frames],
            }
            for tr in case.tracks
        ],
        "settings": case.settings,
        "mode": case.mode.value,
        "state": case.state.value,
        "removed_tracks": sorted(case.removed_tracks),
        "regions": [r.as_dict() for r in case.regions],
        "next_region_id": case.next_region_id,
        "zones": [z.as_dict() for z in case.zones],
        "confirmed": sorted(c.value for c in case.confirmed),
        "reviewer_id": case.reviewer_id,
        "reviewer_name": case.reviewer_name,
        "reviewed_at": _time(case.reviewed_at),
        "masked_sha256": case.masked_sha256,
        "package_sha256": case.package_sha256,
        "released_at": _time(case.released_at),
        "export_id": case.export_id,
        "job": case.job.as_dict() if case.job else None,
        "request_id": case.request_id,
        "member": case.member,
    }


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def from_json(case_id: int, d: dict[str, Any]) -> PublicationCase:
    requested_at = _parse_time(d["requested_at"])
    assert requested_at is not None
    # a case stored before region ids: ids by position, which is what its region:N named
    regions = [
        AddedRegion(
            r["first_frame"],
            r["last_frame"],
            Box(*r["box"]),
            r["note"],
            n if r.get("id") is None else int(r["id"]),
        )
        for n, r in enumerate(d["regions"])
    ]
    given = max((r.id for r in regions if r.id is not None), default=-1) + 1
    next_region_id = max(int(d.get("next_region_id") or 0), given)
    return PublicationCase(
        id=case_id,
        source_sha256=d["source_sha256"],
        source_name=d["source_name"],
        division_code=d["division_code"],
        purpose=d["purpose"],
        requested_by=d["requested_by"],
        requested_by_name=d["requested_by_name"],
        requested_at=requested_at,
        required={MaskTarget(k): tuple(v) for k, v in d["required"].items()},
        video=VideoFacts(**d["video"]),
        tracks=[
            ProposedTrack(
                tr["id"], MaskKind(tr["kind"]), tuple((f[0], Box(*f[1:5])) for f in tr["frames"])
            )
            for tr in d["tracks"]
        ],
        settings=d["settings"],
        mode=MaskMode(d["mode"]),
        state=PublicationState(d["state"]),
        removed_tracks=set(d["removed_tracks"]),
        regions=regions,
        zones=[StaticZone(**z) for z in d["zones"]],
        confirmed=frozenset(MaskTarget(c) for c in d["confirmed"]),
        reviewer_id=d["reviewer_id"],
        reviewer_name=d["reviewer_name"],
        reviewed_at=_parse_time(d["reviewed_at"]),
        masked_sha256=d["masked_sha256"],
        package_sha256=d["package_sha256"],
        released_at=_parse_time(d["released_at"]),
        export_id=d.get("export_id"),
        job=PublicationJob.of(d["job"]) if d.get("job") else None,
        next_region_id=next_region_id,
        request_id=d.get("request_id"),
        member=d.get("member"),
    )
