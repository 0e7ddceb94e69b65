"""The purge: footage goes only when past retention, unheld and unfrozen — never otherwise.

Deletion runs through a garbage row (docs/design/storage.md):

1. one transaction: a ``segment_garbage`` row per segment and a ``retention.purge`` entry in the
   operation log listing every segment's hash;
2. unlink each file and fsync its directory (and delete its object, when an object store is used);
3. one transaction: drop the segment rows and their garbage rows, log ``retention.purged``.

A crash after (1) leaves garbage rows: :meth:`RetentionService.finish_garbage` (run before every
purge) completes them. Nothing else in Custos deletes segments; an explicit request to delete one
inside retention is refused with the articles that set the floor.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from custos.domain.access import Permission
from custos.domain.access_requests import FootageScope
from custos.domain.audit import AuditEvent
from custos.domain.clock import Clock
from custos.domain.errors import FieldError, NotFound, RuleRefusal, ValidationFailed
from custos.domain.recording import Segment
from custos.domain.retention import GarbageRow, RetentionPolicy, Verdict, verdict
from custos.domain.rules.engine import RuleBook
from custos.domain.users import SYSTEM, Principal
from custos.services.ports import RetentionUnitOfWork, RetentionUnitOfWorkFactory
from custos.services.refusals import refusals_logged

log = logging.getLogger(__name__)


class SegmentFiles(Protocol):
    def remove(self, relative: str) -> bool: ...


@dataclass
class PurgeReport:
    batch: str = ""
    deleted: list[int] = field(default_factory=list)
    bytes: int = 0
    kept_in_retention: int = 0
    kept_held: int = 0
    kept_frozen: int = 0
    finished_garbage: int = 0


class RetentionService:
    def __init__(
        self,
        uow: RetentionUnitOfWorkFactory,
        rules: RuleBook,
        clock: Clock,
        files: SegmentFiles,
        frozen: Callable[[], list[FootageScope]],
        max_days: int | None = None,
        delete_object: Callable[[Segment], None] | None = None,
    ) -> None:
        self._uow = uow
        self._rules = rules
        self._clock = clock
        self._files = files
        self._frozen = frozen
        self._max_days = max_days
        self._delete_object = delete_object

    # ---- policy ----------------------------------------------------------------------------
    def policy_for(self, camera_id: int) -> RetentionPolicy:
        with self._uow() as uow:
            return self._policy(uow, camera_id)

    def policy_in(self, uow: RetentionUnitOfWork, camera_id: int) -> RetentionPolicy:
        """The policy, read inside the caller's transaction."""
        return self._policy(uow, camera_id)

    def _policy(self, uow: RetentionUnitOfWork, camera_id: int) -> RetentionPolicy:
        cam = uow.cameras.get(camera_id)
        site = uow.sites.get(cam.site_id) if cam else None
        if cam is None or site is None:
            raise NotFound("camera", camera_id)
        rules = self._rules.effective(site.division_code, site.public_place_article)
        return RetentionPolicy(
            camera_id, rules.retention_floor_days, cam.retention_days, self._max_days
        )

    # ---- the purge -------------------------------------------------------------------------
    def purge(self, actor: Principal = SYSTEM, limit_per_camera: int = 1000) -> PurgeReport:
        """Delete every segment past retention that no hold protects and no request freezes."""
        report = PurgeReport(batch=secrets.token_hex(8))
        report.finished_garbage = self.finish_garbage()
        now = self._clock.now()
        frozen = self._frozen()
        chosen: list[Segment] = []
        with self._uow() as uow:
            holds = uow.holds.find(include_released=False)
            pending = {g.segment_id for g in uow.garbage.find()}  # e.g. an object still locked
            for camera_id in [cam.id for cam in uow.cameras.find() if cam.id is not None]:
                try:
                    policy = self._policy(uow, camera_id)
                except NotFound:
                    continue  # footage of a camera no longer in the registry is never purged blind
                for seg in uow.segments.past(camera_id, policy.cutoff(now), limit_per_camera):
                    v = verdict(seg, policy, now, holds, frozen)
                    if v is Verdict.DELETE and seg.id not in pending:
                        chosen.append(seg)
                    elif v is Verdict.DELETE:
                        continue
                    elif v is Verdict.HELD:
                        report.kept_held += 1
                    elif v is Verdict.FROZEN:
                        report.kept_frozen += 1
                    else:
                        report.kept_in_retention += 1
            if not chosen:
                return report
            uow.garbage.add(
                [
                    GarbageRow(s.id, s.camera_id, s.path, s.sha256, s.bytes, now, report.batch)
                    for s in chosen
                    if s.id is not None
                ]
            )
            uow.audit.append(
                AuditEvent(
                    now,
                    actor.username,
                    "retention.purge",
                    "segments",
                    report.batch,
                    detail={
                        "segments": [
                            {
                                "id": s.id,
                                "camera_id": s.camera_id,
                                "path": s.path,
                                "sha256": s.sha256,
                                "end_at": s.end_at.isoformat(),
                            }
                            for s in chosen
                        ]
                    },
                )
            )
            uow.commit()
        report.deleted = [s.id for s in chosen if s.id is not None]
        report.bytes = sum(s.bytes for s in chosen)
        self.finish_garbage(actor)
        return report

    def finish_garbage(self, actor: Principal = SYSTEM, node: str | None = None) -> int:
        """Complete every marked deletion whose file is here, recorder node ``node``'s (None:
        the one-machine recorder's; docs/design/cluster.md): unlink, fsync, drop the rows."""
        with self._uow() as uow:
            rows = uow.garbage.of_node(node)
        if not rows:
            return 0
        done: list[GarbageRow] = []
        for g in rows:
            if self._delete_object is not None and not self._object_deleted(g):
                continue  # its garbage row stays: the next purge tries again
            self._files.remove(g.path)
            done.append(g)
        if not done:
            return 0
        rows = done
        with self._uow() as uow:
            ids = [g.segment_id for g in rows]
            uow.segments.delete(ids)
            uow.garbage.drop(ids)
            uow.audit.append(
                AuditEvent(
                    self._clock.now(),
                    actor.username,
                    "retention.purged",
                    "segments",
                    rows[0].batch,
                    detail={
                        "segment_ids": [g.segment_id for g in rows],
                        "bytes": sum(g.bytes for g in rows),
                    },
                )
            )
            uow.commit()
        return len(rows)

    def _object_deleted(self, g: GarbageRow) -> bool:
        """Delete the object-store copy first; False (and the row kept) while that fails, e.g.
        because Object Lock still holds it."""
        assert self._delete_object is not None
        with self._uow() as uow:
            seg = uow.segments.get(g.segment_id)
        if seg is None:
            return True
        try:
            self._delete_object(seg)
        except Exception:  # the object store's boundary: retried at the next purge
            log.exception("cannot delete the stored object of segment %s yet", g.segment_id)
            return False
        return True

    # ---- an explicit request to delete ---------------------------------------------------
    def delete_segment(self, actor: Principal, segment_id: int) -> PurgeReport:
        """Delete one segment on request — refused inside retention, under a hold or a freeze."""
        actor.require(Permission.FOOTAGE_DELETE)
        now = self._clock.now()
        frozen = self._frozen()  # before our transaction: SQLite allows one writer at a time
        logged = refusals_logged(
            self._uow, self._clock, actor, "segment.delete", "segment", segment_id
        )
        with logged, self._uow() as uow:
            seg = uow.segments.get(segment_id)
            if seg is None:
                raise NotFound("segment", segment_id)
            policy = self._policy(uow, seg.camera_id)
            holds = uow.holds.find(seg.camera_id, include_released=False)
            v = verdict(seg, policy, now, holds, frozen)
            if v is Verdict.IN_RETENTION:
                keep = policy.keep_until(seg.end_at).isoformat()
                reason = (
                    f"footage must be kept {policy.days} days, until {keep}; "
                    "nothing deletes it before"
                )
                cites = policy.floor.citations
                errors = [FieldError("segment_id", reason, c.rule_id, c.human) for c in cites]
                if errors:
                    raise RuleRefusal(errors)
                raise ValidationFailed(FieldError("segment_id", reason))  # configured, not law
            if v is Verdict.HELD:
                raise ValidationFailed(FieldError("segment_id", "an evidence hold protects it"))
            if v is Verdict.FROZEN:
                raise ValidationFailed(
                    FieldError("segment_id", "a pending or approved access request freezes it")
                )
            batch = secrets.token_hex(8)
            uow.garbage.add(
                [GarbageRow(segment_id, seg.camera_id, seg.path, seg.sha256, seg.bytes, now, batch)]
            )
            uow.audit.append(
                AuditEvent(
                    now,
                    actor.username,
                    "segment.delete",
                    "segment",
                    str(segment_id),
                    detail={"path": seg.path, "sha256": seg.sha256, "batch": batch},
                )
            )
            uow.commit()
        self.finish_garbage(actor)
        return PurgeReport(batch=batch, deleted=[segment_id], bytes=seg.bytes)
