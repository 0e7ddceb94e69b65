"""Copies for public dissemination (公开传播): request, proposal, review, release.

1. :meth:`PublicationService.request` takes a delivered package (its SHA-256 as delivered) and
   the video of it to mask (one case per camera video: :meth:`request_export` opens one per
   video of the export), the division whose packs apply and the targets the requester says
   will be masked; a request that leaves out a target the packs require is refused naming
   ``publication.mask.<target>`` and the articles (Decree 799 art. 22, Xi'an art. 28). The
   case is stored ``detecting``; detection proposes tracks in the background
   (``services/publication_jobs.py``).
2. A reviewer (``publication.review``, not the requester) lists the boxes per frame, removes
   false tracks, adds regions and static zones, confirms what no detector covers, and approves.
3. :meth:`release` queues the render (``rendering``); the job (``publication_jobs.py``)
   renders the masked copy from the reviewed proposal only, writes it as a package of its own
   (manifest naming the original's SHA-256 and the masking settings, signed with the export
   key), registers it (register kind ``publication``) and logs it, the case marked released
   in the same transaction.
The original package is only read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from custos.domain.access import Permission, Role
from custos.domain.audit import AuditEvent
from custos.domain.clock import Clock
from custos.domain.errors import Conflict, FieldError, NotFound, ValidationFailed
from custos.domain.masking import MaskMode, StaticZone
from custos.domain.publication import (
    MAX_PURPOSE,
    AddedRegion,
    PublicationCase,
    PublicationState,
    VideoFacts,
)
from custos.domain.publication_job import JobActor, JobStage, JobSupersededError, PublicationJob
from custos.domain.rules import RuleBook
from custos.domain.rules.publication import publication_duty
from custos.domain.rules.terms import MaskTarget
from custos.domain.users import Principal
from custos.services.publication_ports import (
    Masker,
    Publications,
    PublicationUnitOfWork,
    PublicationUnitOfWorkFactory,
    Sealer,
    Signer,
)

RELEASE_ACTION = "publication.release"
REVIEW_ACTION = "publication.review"  # one per review edit that changed something
APPROVE_ACTION = "publication.approve"
#: An unmasked frame view is logged at most once per reviewer and case in this window.
VIEW_LOG_WINDOW = timedelta(minutes=10)
MAX_LIST = 500


class PublicationService:
    def __init__(
        self,
        store: Publications,
        uow: PublicationUnitOfWorkFactory,
        rulebook: RuleBook,
        masker: Masker,
        signer: Callable[[], Signer],
        work_dir: Path,
        clock: Clock,
        exports_root: Path | None = None,
        sealer: Sealer | None = None,
    ) -> None:
        self.store, self.uow, self.rulebook = store, uow, rulebook
        self.masker, self.signer, self.work_dir, self.clock = masker, signer, work_dir, clock
        self.exports_root = exports_root
        self.sealer = sealer  # None: the older custos-publication/1 package (no log proof)
        self._viewed: dict[tuple[int | None, int | None], datetime] = {}

    def export_path(self, principal: Principal, export_id: int) -> Path:
        """A staff export the principal made, checked against its SHA-256 as recorded."""
        with self.uow() as uow:
            package = uow.exports.get(export_id)
        if package is None or package.user_id != principal.user_id or not self.exports_root:
            raise NotFound("export", export_id)
        path = self.exports_root / package.path
        if not path.is_file() or self.masker.digest(path) != package.sha256:
            raise ValidationFailed(
                FieldError("export_id", "the export's file is missing or not as recorded")
            )
        return path

    def request_export(
        self,
        principal: Principal,
        export_id: int,
        division_code: str,
        purpose: str,
        mask: Sequence[MaskTarget],
        mode: MaskMode = MaskMode.PIXELATE,
    ) -> list[PublicationCase]:
        """Ask for masked copies of one's staff export (the API's way in): one case per video
        of the export, in member order, stored in one transaction."""
        principal.require(Permission.EXPORT)
        duty = publication_duty(self.rulebook.packs_for_division(division_code))
        duty.check(mask, field="publication.mask")  # refused before the file is read
        path = self.export_path(principal, export_id)
        members = self.masker.videos(path)
        if not members:
            raise ValidationFailed(FieldError("source.video", "the export holds no video"))
        asked = (division_code, purpose, mask, mode)
        with self.uow() as uow:
            cases = [
                uow.publications.add(c)
                for c in self._cases(principal, path, *asked, export_id, members)
            ]
            uow.commit()
        return cases

    def source_path(self, case: PublicationCase) -> Path:
        """The package a case was asked for: its export's file, or the path given."""
        if case.export_id is not None:
            with self.uow() as uow:
                package = uow.exports.get(case.export_id)
            if package is None or not self.exports_root:
                raise ValidationFailed(FieldError("source", "the case's export is gone"))
            return self.exports_root / package.path
        if case.job is None or case.job.source is None:
            raise ValidationFailed(FieldError("source", "the case names no package"))
        return Path(case.job.source)

    def package_file(self, principal: Principal, case_id: int) -> tuple[PublicationCase, Path]:
        case = self.get(principal, case_id)
        name = case.package_name
        if name is None or not (self.work_dir / name).is_file():
            raise NotFound("publication package", case_id)
        return case, self.work_dir / name

    def request(
        self,
        principal: Principal,
        package: Path,
        division_code: str,
        purpose: str,
        mask: Sequence[MaskTarget],
        mode: MaskMode = MaskMode.PIXELATE,
        export_id: int | None = None,
        member: str | None = None,
    ) -> PublicationCase:
        """Refused as the packs say before the file is read; else stored ``detecting``."""
        asked = (division_code, purpose, mask, mode)
        return self.store.add(self._cases(principal, package, *asked, export_id, [member])[0])

    def _cases(
        self,
        principal: Principal,
        package: Path,
        division_code: str,
        purpose: str,
        mask: Sequence[MaskTarget],
        mode: MaskMode,
        export_id: int | None,
        members: Sequence[str | None],
    ) -> list[PublicationCase]:
        """One case per video member of the package (None: its only video)."""
        principal.require(Permission.EXPORT)
        if not purpose.strip() or len(purpose) > MAX_PURPOSE:
            raise ValidationFailed(FieldError("purpose", f"1 to {MAX_PURPOSE} characters"))
        duty = publication_duty(self.rulebook.packs_for_division(division_code))
        duty.check(mask, field="publication.mask")
        source_sha256 = self.masker.digest(package)
        return [
            PublicationCase(
                id=None,
                source_sha256=source_sha256,
                source_name=package.name,
                division_code=division_code,
                purpose=purpose,
                requested_by=principal.user_id,
                requested_by_name=principal.username,
                requested_at=self.clock.now(),
                required={t: tuple(c.rule_id for c in cs) for t, cs in duty.targets.items()},
                video=VideoFacts("", 0, 0, "", 0),  # detection's job fills it
                tracks=[],
                settings={},
                mode=mode,
                state=PublicationState.DETECTING,
                export_id=export_id,
                job=PublicationJob(
                    JobStage.DETECT, actor(principal), source=None if export_id else str(package)
                ),
                member=member,
            )
            for member in members
        ]

    def get(self, principal: Principal, case_id: int) -> PublicationCase:
        if not (principal.can(Permission.PUBLICATION_REVIEW) or principal.can(Permission.EXPORT)):
            principal.require(Permission.PUBLICATION_REVIEW)
        case = self.store.get(case_id)
        if case is None:
            raise NotFound("publication", case_id)
        return case

    def cases(self, principal: Principal, limit: int = 100) -> list[PublicationCase]:
        """The cases in reach: every case for a reviewer, one's own requests otherwise."""
        if not 1 <= limit <= MAX_LIST:
            raise ValidationFailed(FieldError("limit", f"1 to {MAX_LIST}"))
        if principal.can(Permission.PUBLICATION_REVIEW):
            return self.store.latest(limit)
        principal.require(Permission.EXPORT)
        return self.store.latest(limit, requested_by=principal.user_id)

    def frame(self, principal: Principal, case_id: int, index: int) -> bytes:
        """Frame ``index`` of the delivered video as a JPEG (unmasked: reviewers only)."""
        principal.require(Permission.PUBLICATION_REVIEW)
        case = self.get(principal, case_id)
        if not case.video.frames:
            raise Conflict("state", f"the publication is {case.state.value}: no frames yet")
        if not 0 <= index < case.video.frames:
            raise ValidationFailed(FieldError("frame", f"0 to {case.video.frames - 1}"))
        work = self.work_dir / case.source_work
        video = work / "source.mp4"
        if not video.is_file():
            if case.export_id is None or not self.exports_root:
                raise NotFound("publication video", case_id)
            with self.uow() as uow:
                package = uow.exports.get(case.export_id)
            path = self.exports_root / package.path if package else None
            if path is None or not path.is_file() or self.masker.digest(path) != case.source_sha256:
                raise NotFound("publication video", case_id)
            _, video = self.masker.extract_video(path, work, case.member)
        jpeg = self.masker.frame_jpeg(video, index)
        self._log_unmasked_view(principal, case, index)
        return jpeg

    def _log_unmasked_view(self, principal: Principal, case: PublicationCase, index: int) -> None:
        """An unmasked frame seen is logged: once per reviewer and case per VIEW_LOG_WINDOW (a
        review scrubs hundreds of frames; the entry names the first of them)."""
        now, key = self.clock.now(), (principal.user_id, case.id)
        if (last := self._viewed.get(key)) is not None and now - last < VIEW_LOG_WINDOW:
            return
        with self.uow() as uow:
            uow.audit.append(
                AuditEvent(
                    at=now, actor=principal.username, action="publication.view_unmasked",
                    object_type="publication", object_id=str(case.id),
                    detail={"original_sha256": case.source_sha256, "frame": index},
                )
            )  # fmt: skip
            uow.commit()
        self._viewed[key] = now

    def edit(
        self,
        principal: Principal,
        case_id: int,
        remove_tracks: set[int] | None = None,
        restore_tracks: set[int] | None = None,
        add_regions: list[AddedRegion] | None = None,
        zones: list[StaticZone] | None = None,
    ) -> PublicationCase:
        principal.require(Permission.PUBLICATION_REVIEW)
        case = self.get(principal, case_id)
        changes = case.edit(remove_tracks or set(), restore_tracks or set(), add_regions, zones)
        self._store_reviewed(principal, case, REVIEW_ACTION, changes)
        return case

    def remove_region(self, principal: Principal, case_id: int, region_id: int) -> PublicationCase:
        """Take back an added region by its id (the reviewer's edit, like adding one); refused
        once the case is approved."""
        principal.require(Permission.PUBLICATION_REVIEW)
        case = self.get(principal, case_id)
        region = case.remove_region(region_id)
        self._store_reviewed(
            principal, case, REVIEW_ACTION, {"regions_removed": [region.as_dict()]}
        )
        return case

    def _store_reviewed(
        self, principal: Principal, case: PublicationCase, action: str, detail: dict[str, Any]
    ) -> None:
        """The case as reviewed and its log entry (none for an edit that changed nothing), in
        one transaction of the unit of work (docs/design/evidence.md, review edits)."""
        with self.uow() as uow:
            uow.publications.update(case)
            if detail:
                uow.audit.append(
                    AuditEvent(
                        at=self.clock.now(), actor=principal.username, action=action,
                        object_type="publication", object_id=str(case.id), detail=detail,
                    )
                )  # fmt: skip
            uow.commit()

    def approve(
        self, principal: Principal, case_id: int, confirmed: Sequence[MaskTarget]
    ) -> PublicationCase:
        principal.require(Permission.PUBLICATION_REVIEW)
        case = self.get(principal, case_id)
        duty = publication_duty(self.rulebook.packs_for_division(case.division_code))
        case.approve(
            principal.user_id, principal.username, self.clock.now(), frozenset(confirmed), duty
        )
        self._store_reviewed(principal, case, APPROVE_ACTION, case.approval_detail())
        return case

    def release(
        self, principal: Principal, case_id: int, package: Path | None = None
    ) -> PublicationCase:
        """Queue the approved case's render (``rendering``), from its export's file or from
        ``package`` (the same bytes as requested, checked by the job)."""
        principal.require(Permission.PUBLICATION_REVIEW)
        case = self.get(principal, case_id)
        case.start_render(actor(principal))
        if package is not None and case.job is not None:
            case.job.source = str(package)
        self.store.update(case)
        return case

    def retry(self, principal: Principal, case_id: int) -> PublicationCase:
        """A failed job queued again: detection by its requester or a reviewer, rendering by a
        reviewer (who is then the one the release names)."""
        case = self.get(principal, case_id)
        own = principal.user_id is not None and principal.user_id == case.requested_by
        if case.job is None or case.job.stage is JobStage.RENDER or not own:
            principal.require(Permission.PUBLICATION_REVIEW)
        case.retry(actor(principal))
        self.store.update(case)
        return case


def actor(principal: Principal) -> JobActor:
    return JobActor(
        principal.user_id, principal.username,
        principal.role.value if principal.role else None, principal.unit_id,
    )  # fmt: skip


def principal_of(by: JobActor) -> Principal:
    """Who the job acts for (the register entry's user and unit, the log's actor)."""
    return Principal(by.user_id, by.username, Role(by.role) if by.role else None, by.unit_id)


def mark_released(
    uow: PublicationUnitOfWork, case: PublicationCase, masked: str, package: str, at: datetime
) -> None:
    """The case released, in the release's transaction, only if it is still rendering at the
    attempt this job started (else :class:`JobSupersededError`: the transaction rolls back)."""
    assert case.job is not None
    attempt = case.job.attempt
    case.released(masked, package, at)
    if not uow.publications.update_if(case, PublicationState.RENDERING, attempt):
        raise JobSupersededError(case.id)
