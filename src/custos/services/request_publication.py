"""An access request for publication (公开传播): its ask checked against the packs, its cases
opened when the grant is executed (one per camera video), the masked copies handed to the
organ instead of the original (docs/design/evidence.md, "An access request for publication"
and "A multi-camera package").

The ask (``publication: {mask, mode}``) lives in the request's ``extra`` and in its canonical
content, so approvals vouch for it. :meth:`RequestPublication.refusals` runs wherever the
request's shape is checked (create, update, submit); :meth:`RequestPublication.open_cases` runs
inside the request's execute transaction, after the original package is built and registered.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import cast

from custos.domain.access_requests import AccessRequest
from custos.domain.audit import AuditEvent
from custos.domain.clock import Clock
from custos.domain.errors import Conflict, FieldError, NotFound, ValidationFailed
from custos.domain.kinds import AccessAction
from custos.domain.publication import MAX_PURPOSE, PublicationCase, PublicationState, VideoFacts
from custos.domain.publication_job import JobStage, PublicationJob
from custos.domain.rules import RuleBook
from custos.domain.rules.publication import PublicationDuty, publication_duty
from custos.domain.users import Principal
from custos.services.evidence import camera_members
from custos.services.ports import AccessUnitOfWork, AccessUnitOfWorkFactory
from custos.services.publication import actor as job_actor
from custos.services.publication_ports import Publications, PublicationUnitOfWork

DOWNLOAD_ACTION = "publication.download"


class RequestPublication:
    def __init__(
        self,
        rules: RuleBook,
        store: Publications,
        uow: AccessUnitOfWorkFactory,
        work_dir: Path,
        clock: Clock,
    ) -> None:
        self._rules, self._store, self._uow = rules, store, uow
        self._work_dir, self._clock = work_dir, clock

    # ---- the ask ---------------------------------------------------------------------------
    def refusals(self, uow: AccessUnitOfWork, req: AccessRequest) -> list[FieldError]:
        """Why the request's ask for publication is refused (empty: it is not, or none)."""
        ask = req.publication
        if ask is None:
            return []
        errors: list[FieldError] = []
        if req.action is AccessAction.VIEW:
            errors.append(
                FieldError(
                    "publication",
                    "only a copy or a retrieval can be asked for publication",
                    key="refusal.publication_view",
                )
            )
        if len(req.purpose) > MAX_PURPOSE:
            errors.append(
                FieldError("purpose", f"at most {MAX_PURPOSE} characters for a publication")
            )
        for division in self._divisions(uow, req.scope.camera_ids):
            for error in self._duty(division).refusals(ask.mask, field="publication.mask"):
                if error not in errors:
                    errors.append(error)
        return errors

    # ---- the grant -------------------------------------------------------------------------
    def open_cases(
        self,
        uow: AccessUnitOfWork,
        actor: Principal,
        req: AccessRequest,
        export_id: int,
        package_sha256: str,
    ) -> list[PublicationCase]:
        """One case per camera of the scope with footage in the range (its video in the
        original package just built), in the request's transaction; each checked against its
        camera's division's packs again (they may have changed since the request was filed)."""
        ask = req.publication
        assert ask is not None
        assert req.id is not None
        scope, found = req.scope, []
        for cid in scope.camera_ids:
            cam = uow.cameras.get(cid)
            site = uow.sites.get(cam.site_id) if cam else None
            if cam is None or site is None:
                raise ValidationFailed(FieldError("scope.camera_ids", f"camera {cid} has no site"))
            found.append((cid, cam.address_code, site.division_code))
        members = camera_members([(cid, code) for cid, code, _ in found])
        cases = []
        for cid, _, division in found:
            if not uow.segments.find(cid, scope.start, scope.end):
                continue  # no footage in the range: no video in the original, nothing to mask
            duty = self._duty(division)
            duty.check(ask.mask, field="publication.mask")
            case = PublicationCase(
                id=None,
                source_sha256=package_sha256,
                source_name=f"request-{req.id}",
                division_code=division,
                purpose=req.purpose[:MAX_PURPOSE],
                requested_by=actor.user_id,
                requested_by_name=actor.username,
                requested_at=self._clock.now(),
                required={t: tuple(c.rule_id for c in cs) for t, cs in duty.targets.items()},
                video=VideoFacts("", 0, 0, "", 0),  # detection's job fills it
                tracks=[],
                settings={},
                mode=ask.mode,
                state=PublicationState.DETECTING,
                export_id=export_id,
                job=PublicationJob(JobStage.DETECT, job_actor(actor), source=None),
                request_id=req.id,
                member=members[cid],
            )
            # one unit of work serves both (bootstrap): the case joins the request's transaction
            cases.append(cast(PublicationUnitOfWork, uow).publications.add(case))
        return cases

    def case_of(self, req: AccessRequest) -> PublicationCase | None:
        """The request's first case (the only one for one camera)."""
        cases = self.cases_of(req)
        return cases[0] if cases else None

    def cases_of(self, req: AccessRequest) -> list[PublicationCase]:
        """Every case of the request, one per camera video, in the order opened."""
        found = (self._store.get(case_id) for case_id in req.publication_case_ids)
        return [case for case in found if case is not None]

    def withheld(self, uow: AccessUnitOfWork, request_id: int) -> Conflict | None:
        """Why a request's original package is not handed out: it was asked for publication,
        and the organ receives the masked copy (None: it is handed out as any)."""
        req = uow.access_requests.get(request_id)
        if req is None or req.publication is None:
            return None
        store = cast(PublicationUnitOfWork, uow).publications
        cases = [c for c in map(store.get, req.publication_case_ids) if c is not None]
        case = cases[0] if cases else None
        rule_ids = _rule_ids(r for c in cases for r in c.required.values())
        where = f"publication {', '.join(str(c.id) for c in cases)}" if cases else "its publication"
        return Conflict(
            "export_id",
            f"request {request_id} asked for publication: the organ receives the masked copy "
            f"of {where} once released, not the original",
            rule_id=", ".join(rule_ids) or None,
            key="refusal.publication_original",
            params={"request": request_id, "case": case.id if case else ""},
        )

    def package(
        self, actor: Principal, req: AccessRequest, case_id: int | None = None
    ) -> tuple[PublicationCase, Path]:
        """The released masked copy of the request's case ``case_id`` (None: its only case),
        for its requester or handlers (the caller checked who they are); the download logged."""
        cases = self.cases_of(req)
        if case_id is None and len(cases) > 1:
            raise ValidationFailed(
                FieldError("case_id", f"the request has {len(cases)} publications: name one")
            )
        case = next((c for c in cases if case_id in (None, c.id)), None)
        if case is None:
            raise NotFound("publication of request", req.id if case_id is None else case_id)
        name = case.package_name
        if case.state is not PublicationState.RELEASED or name is None:
            raise Conflict(
                "publication",
                f"the masked copy is not released yet: the publication is {case.state.value}",
                key="refusal.publication_not_released",
                params={"state": case.state.value},
            )
        path = self._work_dir / name
        if not path.is_file():
            raise NotFound("publication package", case.id)
        with self._uow() as uow:
            uow.audit.append(
                AuditEvent(
                    at=self._clock.now(), actor=actor.username, action=DOWNLOAD_ACTION,
                    object_type="publication", object_id=str(case.id),
                    detail={"request_id": req.id, "package_sha256": case.package_sha256},
                )
            )  # fmt: skip
            uow.commit()
        return case, path

    # ---- helpers ---------------------------------------------------------------------------
    def _duty(self, division: str) -> PublicationDuty:
        return publication_duty(self._rules.packs_for_division(division))

    def _divisions(self, uow: AccessUnitOfWork, camera_ids: Iterable[int]) -> list[str]:
        found: list[str] = []
        for cid in camera_ids:
            cam = uow.cameras.get(cid)
            site = uow.sites.get(cam.site_id) if cam else None
            if site is not None and site.division_code not in found:
                found.append(site.division_code)
        return found


def _rule_ids(groups: Iterable[tuple[str, ...]]) -> list[str]:
    return list(dict.fromkeys(r for group in groups for r in group))
