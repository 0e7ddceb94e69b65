"""Publication jobs in the background: detection (the proposal) and rendering (the release)
(docs/design/evidence.md, "Detection and rendering as background jobs").

:meth:`PublicationJobs.run_pending` runs every case in ``detecting`` or ``rendering``, oldest
first, one at a time: the housekeeper calls it where the ``publications`` duty lease is held;
tests call it directly. A start increments the job's attempt and begins again from frame 0 (a
case left in its stage by a server that died or restarted is simply run again); progress is
written at most once a second; the result is written only if the case is still in its stage at
that attempt (the release's in the transaction of its register entry and log entries). A job
that fails moves its case to ``failed`` with a reason the page shows, logs it
(``publication.job_failed``) and says so in the server's log: nothing is refused silently.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from custos.domain.audit import AuditEvent
from custos.domain.errors import FieldError, ValidationFailed
from custos.domain.evidence import (
    EXPORT_KEY,
    MANIFEST,
    SIGNATURE,
    PackedFile,
    canonical_manifest,
    fingerprint,
)
from custos.domain.publication import MAX_TRACKS, PublicationCase, PublicationState
from custos.domain.publication_job import FailureCode, JobStage, JobSupersededError
from custos.domain.register import Person, RegisterEntry, RegisterKind
from custos.domain.users import Principal
from custos.services.evidence import BuiltEvidence
from custos.services.publication import (
    RELEASE_ACTION,
    PublicationService,
    mark_released,
    principal_of,
)
from custos.services.publication_package import legacy_manifest, publication_order
from custos.services.publication_ports import PublicationUnitOfWork

log = logging.getLogger(__name__)
FAILED_ACTION = "publication.job_failed"
PROGRESS_EVERY_S = 1.0
#: Each write rewrites the case's body (with its tracks: megabytes for an hour of a crowded
#: scene), so between the 1 % steps of a long job progress is written at most this often.
PROGRESS_SLOW_S = 30.0


class JobAbandonedError(Exception):
    """The job stops where it is: the lease moved, or a later start took the case over."""


class PublicationJobs:
    def __init__(
        self,
        service: PublicationService,
        monotonic: Callable[[], float] = time.monotonic,
        progress_every_s: float = PROGRESS_EVERY_S,
    ) -> None:
        self.service = service
        self._monotonic = monotonic
        self._every_s = progress_every_s

    def run_pending(self, held: Callable[[], bool] = lambda: True) -> int:
        """Run each case waiting in ``detecting`` or ``rendering`` once, oldest first, while
        ``held()`` (the duty lease); return how many jobs ended (done or failed)."""
        ended = 0
        for case_id in self.service.store.pending():
            if not held():
                break
            ended += self.run(case_id, held)
        return ended

    def run(self, case_id: int, held: Callable[[], bool] = lambda: True) -> int:
        """One job from its start; 1 when it ended (done or failed), 0 when abandoned."""
        store, clock = self.service.store, self.service.clock
        case = store.get(case_id)
        state = None if case is None else case.job_state
        if case is None or case.job is None or state is None or case.state is not state:
            return 0
        attempt = case.job.attempt
        case.job.begin(clock.now())
        if not store.update_if(case, state, attempt):
            return 0  # another server started it meanwhile
        progress = self._progress(case, state, held)
        try:
            if case.job.stage is JobStage.DETECT:
                self._detect(case, progress)
            else:
                self._render(case, progress)
        except (JobAbandonedError, JobSupersededError):
            log.info("publication %d: %s job left to the next start", case_id, state.value)
            return 0
        except ValidationFailed as exc:
            error = exc.errors[0] if exc.errors else FieldError("source", "refused")
            self._fail(case, _code(error.field), f"{error.field}: {error.reason}")
        except (OSError, ValueError) as exc:  # a file that vanished, a video that cannot decode
            log.warning("publication %d: %s failed: %s", case_id, state.value, exc)
            self._fail(case, FailureCode.VIDEO, type(exc).__name__)
        except Exception as exc:  # the job's boundary: the case shows it failed, the log why
            log.exception("publication %d: %s failed", case_id, state.value)
            self._fail(case, FailureCode.INTERNAL, type(exc).__name__)
        return 1

    def _progress(
        self, case: PublicationCase, state: PublicationState, held: Callable[[], bool]
    ) -> Callable[[int, int], None]:
        """Written at most once per ``progress_every_s``, and, between steps of 1 % of the
        frames, at most once per PROGRESS_SLOW_S; stops the job (JobAbandonedError) when the
        lease is gone or the case was taken over."""
        assert case.job is not None
        job, attempt = case.job, case.job.attempt
        last, last_done = [self._monotonic()], [0]

        def report(done: int, total: int) -> None:
            now = self._monotonic()
            if now - last[0] < self._every_s:
                return
            if done - last_done[0] < total / 100 and now - last[0] < PROGRESS_SLOW_S:
                return
            last[0], last_done[0] = now, done
            if not held():
                raise JobAbandonedError(case.id)
            job.progress(done, total, self.service.clock.now())
            if not self.service.store.update_if(case, state, attempt):
                raise JobAbandonedError(case.id)

        return report

    def _detect(self, case: PublicationCase, progress: Callable[[int, int], None]) -> None:
        service = self.service
        assert case.job is not None
        package = service.source_path(case)
        if not package.is_file() or service.masker.digest(package) != case.source_sha256:
            raise ValidationFailed(
                FieldError("source", "the package is not the one the publication was asked for")
            )
        work = service.work_dir / case.source_work
        member, video = service.masker.extract_video(package, work, case.member)
        proposal = service.masker.propose(member, video, progress)
        if len(proposal.tracks) > MAX_TRACKS:
            raise ValidationFailed(FieldError("tracks", f"more than {MAX_TRACKS} proposed"))
        attempt = case.job.attempt
        case.job.progress(proposal.video.frames, proposal.video.frames, service.clock.now())
        case.detected(proposal.video, proposal.tracks, proposal.settings)
        if not service.store.update_if(case, PublicationState.DETECTING, attempt):
            raise JobSupersededError(case.id)

    def _render(self, case: PublicationCase, progress: Callable[[int, int], None]) -> Path:
        """Render the approved case from its package and sign, register and log it, the case
        marked released in the same transaction."""
        service = self.service
        assert case.job is not None
        assert case.id is not None
        principal = principal_of(case.job.by)
        package = service.source_path(case)
        if not package.is_file() or service.masker.digest(package) != case.source_sha256:
            raise ValidationFailed(
                FieldError("source", "the package is not the one the publication was asked for")
            )
        work = service.work_dir / f"publication-{case.id}" / f"attempt-{case.job.attempt}"
        shutil.rmtree(work.parent, ignore_errors=True)  # an earlier attempt's work files
        member, video = service.masker.extract_video(package, work, case.member)
        masked_name = "video/" + Path(member).stem + "-masked.mp4"
        masked = work / "masked.mp4"
        masked_sha256 = service.masker.render(
            video, masked, case.boxes_per_frame(), case.zones, case.mode, progress
        )
        packed = PackedFile(masked_name, masked_sha256, masked.stat().st_size)
        if service.sealer is not None:
            original = service.masker.read_manifest(package)
            return self._seal(principal, case, original, member, (packed, masked), work)
        # the older custos-publication/1 package (a service without a sealer: tests with fakes)
        now = service.clock.now()
        signer = service.signer()
        public_key = signer.public_key
        manifest = legacy_manifest(case, member, packed, now, fingerprint(public_key))
        body = canonical_manifest(manifest)
        target = service.work_dir / f"publication-{case.id}-{masked_sha256[:12]}.zip"
        package_sha256 = service.masker.write_package(
            target,
            [(masked_name, masked)],
            [
                (MANIFEST, body),
                (SIGNATURE, f"{signer.sign(body).hex()}\n".encode()),
                (EXPORT_KEY, f"{public_key.hex()}\n".encode()),
            ],
        )
        with service.uow() as uow:
            entry = uow.register.add(
                _release_entry(principal, case, now, package_sha256, target.name)
            )
            uow.audit.append(
                AuditEvent(
                    at=now, actor=principal.username, action=RELEASE_ACTION,
                    object_type="publication", object_id=str(case.id),
                    detail={
                        "original_sha256": case.source_sha256,
                        "manifest_sha256": hashlib.sha256(body).hexdigest(),
                        "package_sha256": package_sha256, "register_entry": entry.id,
                        "reviewer": case.reviewer_name,
                    },
                )
            )  # fmt: skip
            mark_released(uow, case, masked_sha256, package_sha256, now)
            uow.commit()
        return target

    def _seal(
        self,
        principal: Principal,
        case: PublicationCase,
        original: dict[str, Any],
        member: str,
        masked: tuple[PackedFile, Path],
        work: Path,
    ) -> Path:
        """The masked copy as custos-evidence/1 (kind publication): registered, then sealed
        with its log entry, checkpoint and proof in the same transaction, then logged."""
        service = self.service
        assert service.sealer is not None
        assert case.id is not None
        now = service.clock.now()
        name = f"publication-{case.id}-{masked[0].sha256[:12]}"
        dst = service.work_dir / f"{name}.zip"
        with service.uow() as uow:
            entry = uow.register.add(_release_entry(principal, case, now))
            order = publication_order(case, original, member, masked, entry.id, name)
            try:
                built = service.sealer.seal(uow, principal, order, dst, work)
                self._log_release(uow, principal, case, entry.id, built)
                mark_released(uow, case, masked[0].sha256, built.sha256, now)
                uow.commit()
            except BaseException:
                dst.unlink(missing_ok=True)
                raise
        return dst

    def _log_release(
        self,
        uow: PublicationUnitOfWork,
        principal: Principal,
        case: PublicationCase,
        entry_id: int | None,
        built: BuiltEvidence,
    ) -> None:
        if entry_id is not None:
            uow.register.set_output([entry_id], built.sha256, built.path.name)
        uow.audit.append(
            AuditEvent(
                at=self.service.clock.now(), actor=principal.username, action=RELEASE_ACTION,
                object_type="publication", object_id=str(case.id),
                detail={
                    "original_sha256": case.source_sha256,
                    "manifest_sha256": built.manifest_sha256, "package_sha256": built.sha256,
                    "register_entry": entry_id, "reviewer": case.reviewer_name,
                    "export_package_seq": built.seq,
                },
            )
        )  # fmt: skip

    def _fail(self, case: PublicationCase, code: FailureCode, detail: str) -> None:
        """The case ``failed`` with its reason, and the failure logged, in one transaction
        (only if the case is still this attempt's)."""
        service = self.service
        assert case.job is not None
        assert case.id is not None
        state, attempt, stage = case.job_state, case.job.attempt, case.job.stage
        assert state is not None
        fresh = service.store.get(case.id)
        if fresh is None or fresh.job is None or fresh.state is not state:
            return  # taken over meanwhile: the later start decides
        now = service.clock.now()
        fresh.fail(code, detail, now)
        with service.uow() as uow:
            if not uow.publications.update_if(fresh, state, attempt):
                return
            uow.audit.append(
                AuditEvent(
                    at=now, actor=fresh.job.by.username, action=FAILED_ACTION,
                    object_type="publication", object_id=str(case.id),
                    detail={"stage": stage.value, "reason": fresh.job.reason, "detail": detail,
                            "attempt": attempt},
                )
            )  # fmt: skip
            uow.commit()
        log.warning("publication %d: %s job failed (%s)", case.id, stage.value, fresh.job.reason)


def _code(field: str) -> FailureCode:
    if field.startswith("source"):
        return FailureCode.SOURCE
    if field.startswith("tracks"):
        return FailureCode.TRACKS
    return FailureCode.VIDEO if field.startswith(("video", "frame")) else FailureCode.INTERNAL


def _release_entry(
    principal: Principal,
    case: PublicationCase,
    now: datetime,
    output_sha256: str | None = None,
    output_name: str | None = None,
) -> RegisterEntry:
    """The register's entry of a release (kind publication): requester and reviewer, the
    request it answers, and the package once its hash is known."""
    return RegisterEntry(
        id=None, at=now, kind=RegisterKind.PUBLICATION, unit_id=principal.unit_id,
        user_id=principal.user_id,
        persons=(
            Person(case.requested_by_name, "requester"), Person(case.reviewer_name, "reviewer")
        ),
        organ="", purpose=case.purpose, camera_ids=(), start=None, end=None,
        request_id=case.request_id, output_sha256=output_sha256, output_name=output_name,
    )  # fmt: skip
