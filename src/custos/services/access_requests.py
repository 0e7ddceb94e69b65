"""Access requests by authorities: draft, submit, approve or reject, execute once.

Invariants (docs/design/approvals.md): the approver is neither the requester nor a handler;
every approval signs the request's canonical hash, so a request changed afterwards has void
approvals and cannot be executed; the grant is used once and only before the request expires;
execution opens a view session or builds an export bounded by the request's scope. A submitted
or approved request freezes its footage (:meth:`AccessRequestService.frozen_scopes`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import NoReturn

from custos.domain.access import Permission
from custos.domain.access_policy import (
    approval_citations,
    check_request,
    consent_gaps,
    demands,
)
from custos.domain.access_requests import (
    FREEZING_STATES,
    AccessRequest,
    Approval,
    ApprovalDocument,
    FootageScope,
    PublicationAsk,
    RequestState,
    approval_statement,
    check_scope,
    same_person,
)
from custos.domain.audit import AuditEvent
from custos.domain.audit_chain import canonical_time
from custos.domain.calendar import shanghai_date
from custos.domain.clock import Clock
from custos.domain.errors import (
    FieldError,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    RuleRefusal,
    ValidationFailed,
)
from custos.domain.publication import PublicationCase
from custos.domain.rules.citation import Citation
from custos.domain.rules.effective import EffectiveRules
from custos.domain.rules.engine import RuleBook
from custos.domain.rules.terms import RequesterKind
from custos.domain.users import Principal
from custos.services.audit_log import Signer
from custos.services.footage import FootageService, Outcome
from custos.services.ports import AccessUnitOfWork, AccessUnitOfWorkFactory
from custos.services.reach import reaches
from custos.services.refusals import refusals_logged
from custos.services.request_publication import RequestPublication

MAX_REQUEST_DAYS = 90  # a request may not stay open longer than this
EMERGENCY_MAX_HOURS = 72  # an emergency grant is short

Verify = Callable[[bytes, bytes, str], bool]  # (message, signature, key id) → valid?


@dataclass(frozen=True)
class DocumentUpload:
    number: str
    issuer: str
    issued_on: str  # ISO date
    filename: str
    data: bytes


class AccessRequestService:
    def __init__(
        self,
        uow: AccessUnitOfWorkFactory,
        rules: RuleBook,
        signer: Signer,
        verify: Verify,
        clock: Clock,
        footage: FootageService,
        put_document: Callable[[bytes], str],
        publication: RequestPublication | None = None,
    ) -> None:
        self._publication = publication  # requests for publication (None: refused)
        self._uow = uow
        self._rules = rules
        self._signer = signer
        self._verify = verify
        self._clock = clock
        self._footage = footage
        self._put_document = put_document

    # ---- drafting ----------------------------------------------------------------------------
    def create(self, actor: Principal, req: AccessRequest) -> AccessRequest:
        """File a draft. The requester must be able to see every camera named."""
        actor.require(Permission.REQUEST_FILE)
        now = self._clock.now()
        with self._logged(actor, "request.create", None), self._uow() as uow:
            req = dataclasses.replace(
                req,
                id=None,
                state=RequestState.DRAFT,
                requested_by=actor.user_id or 0,
                created_at=now,
                approvals=(),
                required_titles=(),
            )
            self._check_shape(uow, actor, req, now)
            uow.access_requests.add(req)
            self._audit(uow, actor, "request.create", req)
            uow.commit()
        return req

    def update(
        self, actor: Principal, request_id: int, changes: dict[str, object]
    ) -> AccessRequest:
        actor.require(Permission.REQUEST_FILE)
        now = self._clock.now()
        allowed = {
            "action",
            "scope",
            "requester_kind",
            "organ",
            "organ_unit",
            "legal_basis",
            "purpose",
            "handlers",
            "emergency",
            "expires_at",
            "consents",
            "publication",
        }
        with self._logged(actor, "request.update", request_id), self._uow() as uow:
            req = self._own(uow, actor, request_id)
            unknown = sorted(set(changes) - allowed)
            if unknown:
                raise ValidationFailed([FieldError(k, "cannot be changed") for k in unknown])
            if "publication" in changes:  # kept in extra (no column): None takes it away
                ask = changes.pop("publication")
                assert ask is None or isinstance(ask, PublicationAsk)
                changes["extra"] = req.extra_with(ask)
            updated = req.editable_copy(**changes)
            self._check_shape(uow, actor, updated, now)
            uow.access_requests.update(updated)
            self._audit(uow, actor, "request.update", updated)
            uow.commit()
        return updated

    def attach_document(
        self, actor: Principal, request_id: int, upload: DocumentUpload
    ) -> AccessRequest:
        """Attach the approval document (批准文件): its particulars and the file itself."""
        actor.require(Permission.REQUEST_FILE)
        with self._logged(actor, "request.document", request_id), self._uow() as uow:
            req = self._own(uow, actor, request_id)
            errors = []
            for f, v in (("number", upload.number), ("issuer", upload.issuer)):
                if not v.strip():
                    errors.append(FieldError(f"document.{f}", "must not be empty"))
            if not upload.data:
                errors.append(FieldError("document.file", "the uploaded file is empty"))
            try:
                issued = date.fromisoformat(upload.issued_on)
            except ValueError:
                errors.append(FieldError("document.issued_on", "a date like 2026-11-20"))
                issued = None
            if issued is not None and issued > shanghai_date(self._clock.now()):
                errors.append(FieldError("document.issued_on", "is in the future"))
            if errors:
                raise ValidationFailed(errors)
            assert issued is not None
            digest = self._put_document(upload.data)
            doc = ApprovalDocument(
                upload.number.strip(),
                upload.issuer.strip(),
                issued,
                digest,
                upload.filename[-200:],
                len(upload.data),
            )
            updated = req.editable_copy(document=doc)
            uow.access_requests.update(updated)
            self._audit(uow, actor, "request.document", updated, {"sha256": digest})
            uow.commit()
        return updated

    # ---- the decision --------------------------------------------------------------------------
    def submit(self, actor: Principal, request_id: int) -> AccessRequest:
        actor.require(Permission.REQUEST_FILE)
        now = self._clock.now()
        with self._logged(actor, "request.submit", request_id), self._uow() as uow:
            req = self._own(uow, actor, request_id)
            if req.state is not RequestState.DRAFT:
                raise _transition(req, RequestState.SUBMITTED)
            self._check_shape(uow, actor, req, now)
            rules = self._rules_for(uow, req.scope)
            errors, d = check_request(req, rules)
            if req.requester_kind is RequesterKind.DATA_SUBJECT:
                errors += consent_gaps(req, self._operators(uow, req.scope), rules)
            if errors:
                if all(e.rule_id for e in errors):
                    raise RuleRefusal(errors)
                raise ValidationFailed(errors)  # shape first; the cited errors keep their rule
            req.required_titles = d.titles
            req.citations = tuple(d.all_citations())
            req.move(RequestState.SUBMITTED)
            req.submitted_at = now
            uow.access_requests.update(req)
            self._audit(uow, actor, "request.submit", req)
            uow.commit()
        return req

    def approve(self, actor: Principal, request_id: int, note: str = "") -> AccessRequest:
        actor.require(Permission.APPROVE)
        now = self._clock.now()
        with self._logged(actor, "request.approve", request_id), self._uow() as uow:
            req = self._visible(uow, actor, request_id)
            self._expire_if_due(uow, req, now)
            if req.state is not RequestState.SUBMITTED:
                raise _transition(req, RequestState.APPROVED)
            self._check_approver(actor, req, self._approval_articles(uow, req))
            req_hash = req.canonical_hash()
            at = canonical_time(now)
            title = actor.approver_title.value if actor.approver_title else None
            signature = self._signer.sign(
                approval_statement(req_hash, actor.user_id or 0, title, at)
            )
            req.approvals = (
                *req.approvals,
                Approval(
                    actor.user_id or 0,
                    actor.username,
                    actor.approver_title,
                    req_hash,
                    now,
                    self._signer.key_id,
                    signature.hex(),
                ),
            )
            if req.fully_approved():
                req.move(RequestState.APPROVED)
                req.decided_at, req.decided_by, req.decision_note = now, actor.user_id, note
            uow.access_requests.update(req)
            self._audit(uow, actor, "request.approve", req, {"note": note, "title": title})
            uow.commit()
        return req

    def reject(self, actor: Principal, request_id: int, note: str) -> AccessRequest:
        actor.require(Permission.APPROVE)
        now = self._clock.now()
        with self._logged(actor, "request.reject", request_id), self._uow() as uow:
            req = self._visible(uow, actor, request_id)
            if not note.strip():
                raise ValidationFailed(FieldError("note", "say why the request is rejected"))
            if req.state is not RequestState.SUBMITTED:
                raise _transition(req, RequestState.REJECTED)
            self._check_separation(actor, req, self._approval_articles(uow, req))
            req.move(RequestState.REJECTED)
            req.decided_at, req.decided_by, req.decision_note = now, actor.user_id, note
            uow.access_requests.update(req)
            self._audit(uow, actor, "request.reject", req, {"note": note})
            uow.commit()
        return req

    def cancel(self, actor: Principal, request_id: int) -> AccessRequest:
        actor.require(Permission.REQUEST_FILE)
        with self._logged(actor, "request.cancel", request_id), self._uow() as uow:
            req = self._own(uow, actor, request_id)
            req.move(RequestState.CANCELLED)
            uow.access_requests.update(req)
            self._audit(uow, actor, "request.cancel", req)
            uow.commit()
        return req

    # ---- the grant -----------------------------------------------------------------------------
    def execute(self, actor: Principal, request_id: int, language: str | None = None) -> Outcome:
        """Use the grant, once: a view session for ``view``, a package for copy and retrieve
        (its custody sheet in ``language``: "zh", or "en" for Chinese with English)."""
        actor.require(Permission.REQUEST_FILE)
        now = self._clock.now()
        with self._logged(actor, "request.execute", request_id), self._uow() as uow:
            req = self._executor(uow, actor, request_id)
            if self._expire_if_due(uow, req, now):
                uow.commit()
                raise ValidationFailed(
                    FieldError("expires_at", f"the grant expired at {req.expires_at.isoformat()}")
                )
            if req.state is RequestState.EXECUTED:
                raise ValidationFailed(
                    FieldError("state", "the grant was already used: a grant is used once")
                )
            if req.state is not RequestState.APPROVED:
                self._refuse_unapproved(uow, req)
            self._check_signatures(req)
            req.move(RequestState.EXECUTED)
            req.executed_at, req.executed_by = now, actor.user_id
            outcome = self._footage.execute_grant(uow, actor, req, language)
            req.output_sha256 = outcome.sha256
            opened: dict[str, object] = {}
            if req.publication is not None:
                if self._publication is None:  # never the original in place of the masked copy
                    raise ValidationFailed(FieldError("publication", "not available here"))
                assert outcome.export_id is not None
                assert outcome.sha256 is not None
                cases = self._publication.open_cases(
                    uow, actor, req, outcome.export_id, outcome.sha256
                )
                ids = [case.id for case in cases]
                opened = {"publication_case_id": ids[0] if ids else None}
                opened["publication_case_ids"] = ids
                req.extra = {**req.extra, **opened}
            uow.access_requests.update(req)
            self._audit(uow, actor, "request.execute", req, {**outcome.as_dict(), **opened})
            uow.commit()
        return outcome

    def verify_approvals(self, actor: Principal, request_id: int) -> list[str]:
        """Why the approvals of a request no longer hold (empty: they hold)."""
        with self._uow() as uow:
            req = self._visible(uow, actor, request_id)
        try:
            self._check_signatures(req)
        except ValidationFailed as exc:
            return [e.reason for e in exc.errors]
        return []

    def publication_case(self, actor: Principal, request_id: int) -> PublicationCase | None:
        """The publication case of a request asked for publication, once executed."""
        req = self.get(actor, request_id)
        return self._publication.case_of(req) if self._publication else None

    def publication_cases(self, actor: Principal, request_id: int) -> list[PublicationCase]:
        """Every publication case of the request (one per camera video), once executed."""
        req = self.get(actor, request_id)
        return self._publication.cases_of(req) if self._publication else []

    def publication_package(
        self, actor: Principal, request_id: int, case_id: int | None = None
    ) -> tuple[PublicationCase, Path]:
        """A masked copy, released, for the request's requester or handlers (``case_id``:
        which, where the request has several)."""
        actor.require(Permission.REQUEST_FILE)
        with self._uow() as uow:
            req = self._executor(uow, actor, request_id)
        if self._publication is None or req.publication is None:
            raise NotFound("publication of request", request_id)
        return self._publication.package(actor, req, case_id)

    # ---- reading -------------------------------------------------------------------------------
    def get(self, actor: Principal, request_id: int) -> AccessRequest:
        with self._uow() as uow:
            req = self._visible(uow, actor, request_id)
            if self._expire_if_due(uow, req, self._clock.now()):
                uow.commit()
            return req

    def find(
        self, actor: Principal, states: set[RequestState] | None = None
    ) -> list[AccessRequest]:
        with self._uow() as uow:
            if actor.can(Permission.REQUEST_READ):
                found = uow.access_requests.find(states)
                return [r for r in found if self._reaches_all(uow, actor, r.scope)]
            actor.require(Permission.REQUEST_FILE)
            return uow.access_requests.find(states, requested_by=actor.user_id)

    def awaiting(self, actor: Principal) -> list[AccessRequest]:
        """Submitted requests this approver may approve now."""
        actor.require(Permission.APPROVE)
        out = []
        for r in self.find(actor, {RequestState.SUBMITTED}):
            try:
                self._check_approver(actor, r)
            except (PermissionDenied, ValidationFailed):
                continue
            out.append(r)
        return out

    def frozen_scopes(self) -> list[FootageScope]:
        """Footage no purge may touch: the scopes of requests submitted or approved."""
        with self._uow() as uow:
            return [r.scope for r in uow.access_requests.find(set(FREEZING_STATES))]

    def expire_due(self) -> int:
        """Mark every approved or submitted request past its expiry as expired."""
        now = self._clock.now()
        count = 0
        with self._uow() as uow:
            for r in uow.access_requests.find(set(FREEZING_STATES)):
                count += self._expire_if_due(uow, r, now)
            uow.commit()
        return count

    # ---- checks ----------------------------------------------------------------------------
    def _check_shape(
        self, uow: AccessUnitOfWork, actor: Principal, req: AccessRequest, now: datetime
    ) -> None:
        errors = check_scope(req.scope, "scope.")
        if req.scope.end > now:
            errors.append(FieldError("scope.end", "footage from the future cannot be requested"))
        if req.expires_at <= now:
            errors.append(FieldError("expires_at", "must be in the future"))
        limit = (
            timedelta(hours=EMERGENCY_MAX_HOURS)
            if req.emergency
            else timedelta(days=MAX_REQUEST_DAYS)
        )
        if req.expires_at - now > limit:
            errors.append(
                FieldError("expires_at", f"at most {limit} from now for this kind of request")
            )
        for i, cid in enumerate(req.scope.camera_ids):
            if not reaches(uow, actor, cid):
                errors.append(
                    FieldError(f"scope.camera_ids[{i}]", f"no camera {cid} that you can see")
                )
        if self._publication is not None:
            errors += self._publication.refusals(uow, req)
        elif req.publication is not None:
            errors.append(FieldError("publication", "publication is not available here"))
        if errors:
            raise ValidationFailed(errors)

    def _operators(self, uow: AccessUnitOfWork, scope: FootageScope) -> list[tuple[int, int]]:
        """Each camera with the unit that operates it (its management unit)."""
        found = []
        for cid in scope.camera_ids:
            cam = uow.cameras.get(cid)
            site = uow.sites.get(cam.site_id) if cam else None
            if site is not None:
                found.append((cid, site.unit_id))
        return found

    def _rules_for(self, uow: AccessUnitOfWork, scope: FootageScope) -> list[EffectiveRules]:
        rules: list[EffectiveRules] = []
        for cid in scope.camera_ids:
            cam = uow.cameras.get(cid)
            site = uow.sites.get(cam.site_id) if cam else None
            if site is not None:
                rules.append(self._rules.effective(site.division_code, site.public_place_article))
        return rules

    def _reaches_all(self, uow: AccessUnitOfWork, actor: Principal, scope: FootageScope) -> bool:
        return all(reaches(uow, actor, cid) for cid in scope.camera_ids)

    def _approval_articles(self, uow: AccessUnitOfWork, req: AccessRequest) -> tuple[Citation, ...]:
        return approval_citations(req, self._rules_for(uow, req.scope))

    def _refuse_unapproved(self, uow: AccessUnitOfWork, req: AccessRequest) -> NoReturn:
        """Executing before approval: where the packs name an approver, their articles refuse
        (e.g. Liaoning art. 17 ¶2 and art. 18(2) for an emergency view)."""
        rules = self._rules_for(uow, req.scope)
        document = demands(req.action, rules).document_citations
        cites = tuple(dict.fromkeys((*approval_citations(req, rules), *document)))
        if req.state is RequestState.SUBMITTED and cites:
            needed = ", ".join(sorted(t.value for t in req.titles_still_needed())) or "an approver"
            reason = f"the request is not approved yet; it needs approval by {needed}"
            raise RuleRefusal([FieldError("state", reason, c.rule_id, c.human) for c in cites])
        raise _transition(req, RequestState.EXECUTED)

    def _check_separation(
        self, actor: Principal, req: AccessRequest, cites: Sequence[Citation] = ()
    ) -> None:
        """The two-person rule: whoever decides neither asked nor handles. Where the packs name
        an approver (Shaanxi art. 17 ¶1: approval by the head of county-level police) the
        refusal cites them; elsewhere it is Custos's own rule (docs/design/approvals.md)."""
        reason = None
        if actor.user_id == req.requested_by:
            reason = "the requester cannot decide their own request"
        names = [n for n in (actor.full_name, actor.username) if n]
        if actor.user_id in req.handler_user_ids() or any(
            same_person(h.name, n) for h in req.handlers for n in names
        ):
            reason = reason or "a handler of the request cannot decide it"
        if reason is None:
            return
        if cites:
            raise RuleRefusal([FieldError("approver", reason, c.rule_id, c.human) for c in cites])
        raise ValidationFailed(FieldError("approver", reason))

    def _check_approver(
        self, actor: Principal, req: AccessRequest, cites: Sequence[Citation] = ()
    ) -> None:
        self._check_separation(actor, req, cites)
        if any(a.approver_id == actor.user_id for a in req.approvals):
            raise ValidationFailed(FieldError("approver", "you have already approved it"))
        needed = req.titles_still_needed()
        if req.required_titles and (actor.approver_title not in needed):
            titles = ", ".join(sorted(t.value for t in needed)) or "none"
            held = actor.approver_title.value if actor.approver_title else "no title"
            reason = f"this request needs approval by: {titles}; you hold {held}"
            if not cites:
                raise ValidationFailed(FieldError("approver", reason))
            errors = [FieldError("approver", reason, c.rule_id, c.human) for c in cites]
            raise RuleRefusal(errors)

    def _check_signatures(self, req: AccessRequest) -> None:
        current = req.canonical_hash()
        for a in req.approvals:
            if a.request_hash != current:
                raise ValidationFailed(
                    FieldError(
                        "approvals",
                        f"the request changed after {a.approver_username} approved it; "
                        "the approval is void",
                    )
                )
            title = a.title.value if a.title else None
            statement = approval_statement(
                a.request_hash, a.approver_id, title, canonical_time(a.at)
            )
            if not self._verify(statement, bytes.fromhex(a.signature), a.key_id):
                raise ValidationFailed(
                    FieldError("approvals", f"{a.approver_username}'s signature does not verify")
                )

    def _expire_if_due(self, uow: AccessUnitOfWork, req: AccessRequest, now: datetime) -> bool:
        if req.state in FREEZING_STATES and req.is_expired(now):
            if req.state is RequestState.SUBMITTED:
                req.state = RequestState.EXPIRED  # an undecided request lapses too
            else:
                req.move(RequestState.EXPIRED)
            uow.access_requests.update(req)
            uow.audit.append(
                AuditEvent(now, "system", "request.expire", "access_request", str(req.id))
            )
            return True
        return False

    # ---- loading -------------------------------------------------------------------------------
    def _load(self, uow: AccessUnitOfWork, request_id: int) -> AccessRequest:
        req = uow.access_requests.get(request_id, for_update=True)
        if req is None:
            raise NotFound("access request", request_id)
        return req

    def _own(self, uow: AccessUnitOfWork, actor: Principal, request_id: int) -> AccessRequest:
        req = self._load(uow, request_id)
        if req.requested_by != actor.user_id and not actor.is_system:
            raise NotFound("access request", request_id)
        return req

    def _executor(self, uow: AccessUnitOfWork, actor: Principal, request_id: int) -> AccessRequest:
        req = self._load(uow, request_id)
        if actor.user_id != req.requested_by and actor.user_id not in req.handler_user_ids():
            raise NotFound("access request", request_id)
        return req

    def _visible(self, uow: AccessUnitOfWork, actor: Principal, request_id: int) -> AccessRequest:
        req = self._load(uow, request_id)
        mine = req.requested_by == actor.user_id or actor.user_id in req.handler_user_ids()
        if mine or (
            actor.can(Permission.REQUEST_READ) and self._reaches_all(uow, actor, req.scope)
        ):
            return req
        raise NotFound("access request", request_id)

    # ---- the log -------------------------------------------------------------------------------
    def _logged(
        self, actor: Principal, action: str, obj_id: int | None
    ) -> AbstractContextManager[None]:
        return refusals_logged(self._uow, self._clock, actor, action, "access_request", obj_id)

    def _audit(
        self,
        uow: AccessUnitOfWork,
        actor: Principal,
        action: str,
        req: AccessRequest,
        extra: dict[str, object] | None = None,
    ) -> None:
        uow.audit.append(
            AuditEvent(
                self._clock.now(),
                actor.username,
                action,
                "access_request",
                str(req.id),
                detail={
                    "state": req.state.value,
                    "request_hash": req.canonical_hash(),
                    **req.content(),
                    **(extra or {}),
                },
            )
        )


def _transition(req: AccessRequest, to: RequestState) -> InvalidTransition:
    return InvalidTransition(
        req.state.value,
        to.value,
        field="state",
        reason=f"a {req.state.value} request cannot become {to.value}",
    )
