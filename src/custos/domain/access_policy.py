"""What the rule packs demand of an access request, checked before it may be submitted.

Each camera in the request brings the packs of its site's division; every demand is the union
(the strictest) over those cameras. Readings the texts leave open are in
docs/design/approvals.md: each handler shows every credential each pack of every camera in
the request names (the texts join them with 和); copying is
covered by an entitlement to retrieve (a copy is how footage is taken away); an entitlement in any
applicable pack that is not limited to emergencies suffices, so the national Decree's general
entitlement (art. 20) is not narrowed by an older local rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from custos.domain.access_requests import AccessRequest, Handler
from custos.domain.errors import FieldError
from custos.domain.kinds import AccessAction
from custos.domain.rules.citation import Citation
from custos.domain.rules.effective import EffectiveRules
from custos.domain.rules.terms import AccessOperation, ApproverRole, Credential, RequesterKind


@dataclass(frozen=True)
class RequestDemands:
    """What the request's cameras' packs require, and the articles behind it."""

    min_handlers: int
    min_handlers_citations: tuple[Citation, ...]
    credentials: frozenset[str]
    credential_citations: tuple[Citation, ...]
    document_required: bool
    document_citations: tuple[Citation, ...]
    titles: tuple[ApproverRole, ...]
    title_citations: tuple[Citation, ...]
    registration_citations: tuple[Citation, ...]

    def all_citations(self) -> list[str]:
        every = (
            self.min_handlers_citations
            + self.credential_citations
            + self.document_citations
            + self.title_citations
            + self.registration_citations
        )
        return list(dict.fromkeys(c.rule_id for c in every))


def demands(action: AccessAction, rules: Sequence[EffectiveRules]) -> RequestDemands:
    """The demands that do not depend on who asks (approver titles are added per requester)."""
    handlers = max(rules, key=lambda r: r.min_handlers.value)
    doc = [r.approval_required[action] for r in rules]
    creds = [r.credentials for r in rules]
    return RequestDemands(
        min_handlers=handlers.min_handlers.value,
        min_handlers_citations=_unique(c for r in rules for c in r.min_handlers.citations),
        credentials=frozenset(v.value for d in creds for v in d.value),
        credential_citations=_unique(c for d in creds for c in d.citations),
        document_required=any(d.value for d in doc),
        document_citations=_unique(c for d in doc if d.value for c in d.citations),
        titles=(),
        title_citations=(),
        registration_citations=_unique(c for r in rules for c in r.registration_required.citations),
    )


def check_request(
    req: AccessRequest, rules: Sequence[EffectiveRules]
) -> tuple[list[FieldError], RequestDemands]:
    """Every way the request falls short of its packs (empty when it may be submitted)."""
    if req.requester_kind is RequesterKind.DATA_SUBJECT:
        return check_data_subject_request(req, rules)
    d = demands(req.action, rules)
    operation = AccessOperation(req.action.value)
    titles: set[ApproverRole] = set()
    title_cites: list[Citation] = []
    for r in rules:
        duty = r.approvers_for(req.requester_kind, operation)
        titles |= duty.value
        title_cites.extend(duty.citations)
    d = replace(d, titles=tuple(sorted(titles)), title_citations=_unique(title_cites))
    errors: list[FieldError] = []
    if len(req.handlers) < d.min_handlers:
        errors += _cited(
            "handlers",
            f"at least {d.min_handlers} handlers must take part; {len(req.handlers)} named",
            d.min_handlers_citations,
            ("refusal.min_handlers", {"min": d.min_handlers, "named": len(req.handlers)}),
        )
    for i, h in enumerate(req.handlers):
        errors += _handler_errors(i, h, rules)
    names = [h.name for h in req.handlers]
    if len({"".join(n.split()).casefold() for n in names}) != len(names):
        errors.append(
            FieldError("handlers", "the same person is named twice", key="refusal.handler_twice")
        )
    if d.document_required and req.document is None:
        # the document shows the approval the packs demand: cite both (Liaoning art. 18(2) and
        # the art. 17 ¶2 approval by county-level police)
        errors += _cited(
            "document",
            f"an approval document (批准文件) is required to {req.action.value} footage here",
            _unique((*d.document_citations, *approval_citations(req, rules))),
            ("refusal.document_required", {"action": req.action.value}),
        )
    errors += _entitlement(req, rules, operation)
    for f, value in (
        ("organ", req.organ),
        ("legal_basis", req.legal_basis),
        ("purpose", req.purpose),
    ):
        if not value.strip():
            errors.append(FieldError(f, "must not be empty"))
    return _dedupe(errors), d


def check_data_subject_request(
    req: AccessRequest, rules: Sequence[EffectiveRules]
) -> tuple[list[FieldError], RequestDemands]:
    """A data subject's or relative's view (Decree 799 art. 21) is not an authority's access:
    no handler count, credentials or approval document (those rules bind state organs), but
    the management unit's consent. Which unit operates each camera is checked by the service
    (:func:`consent_gaps`)."""
    operation = AccessOperation(req.action.value)
    errors = _entitlement(req, rules, operation)
    art21 = _unique(
        e.citation
        for r in rules
        for e in r.entitlements
        if RequesterKind.DATA_SUBJECT in e.requesters
    )
    if not req.consents:
        errors += _cited(
            "consents",
            "a data subject or relative may view footage only with the management unit's "
            "consent (经管理单位同意); record who at the unit consented and when",
            art21,
            ("refusal.consent_required", {}),
        )
    for i, h in enumerate(req.handlers):
        if not h.name.strip():
            errors.append(FieldError(f"handlers[{i}].name", "must not be empty"))
    for i, c in enumerate(req.consents):
        if not c.given_by.strip():
            errors.append(FieldError(f"consents[{i}].given_by", "name who consented"))
    for f, value in (("organ", req.organ), ("purpose", req.purpose)):
        if not value.strip():
            errors.append(FieldError(f, "must not be empty"))
    d = RequestDemands(
        min_handlers=0,
        min_handlers_citations=(),
        credentials=frozenset(),
        credential_citations=(),
        document_required=False,
        document_citations=(),
        titles=(),
        title_citations=art21,
        registration_citations=_unique(c for r in rules for c in r.registration_required.citations),
    )
    return _dedupe(errors), d


def consent_gaps(
    req: AccessRequest, operators: Sequence[tuple[int, int]], rules: Sequence[EffectiveRules]
) -> list[FieldError]:
    """Cameras (``(camera id, operating unit id)``) whose management unit has not consented."""
    art21 = _unique(
        e.citation
        for r in rules
        for e in r.entitlements
        if RequesterKind.DATA_SUBJECT in e.requesters
    )
    consented = {c.unit_id for c in req.consents}
    errors: list[FieldError] = []
    for camera_id, unit_id in operators:
        if req.consents and unit_id not in consented:
            errors += _cited(
                "consents",
                f"camera {camera_id} is run by unit {unit_id}, which has not consented",
                art21,
                ("refusal.unit_not_consented", {"camera": camera_id, "unit": unit_id}),
            )
    return _dedupe(errors)


def approval_citations(req: AccessRequest, rules: Sequence[EffectiveRules]) -> tuple[Citation, ...]:
    """The articles that make someone other than the requester approve this request (e.g.
    Shaanxi art. 17 ¶1: 经县级以上公安机关负责人批准); empty where no pack names an approver."""
    operation = AccessOperation(req.action.value)
    return _unique(
        a.citation
        for r in rules
        for a in r.approvers
        if a.approver is not None
        and req.requester_kind in a.requesters
        and operation in a.operations
    )


def _handler_errors(i: int, h: Handler, rules: Sequence[EffectiveRules]) -> list[FieldError]:
    """A handler's name and papers: every credential each applicable pack names must be shown
    (the texts join them with 和: Beijing art. 17(2), Chongqing art. 25 ¶2(2), Xi'an art. 27 ¶2(2));
    each pack binds, so a division under two packs wants the papers of both."""
    errors: list[FieldError] = []
    if not h.name.strip():
        errors.append(FieldError(f"handlers[{i}].name", "must not be empty"))
    if not h.credentials:
        errors.append(FieldError(f"handlers[{i}].credentials", "name at least one credential"))
    for k, shown in enumerate(h.credentials):
        if not shown.number.strip():
            errors.append(
                FieldError(
                    f"handlers[{i}].credentials[{k}].number", "the credential's number is needed"
                )
            )
    if len(h.credential_types) != len(h.credentials):
        errors.append(FieldError(f"handlers[{i}].credentials", "a credential is named twice"))
    for r in rules:
        for need, cites in required_credentials(r).items():
            if need not in h.credential_types:
                shown_text = ", ".join(sorted(c.value for c in h.credential_types)) or "none"
                errors += _cited(
                    f"handlers[{i}].credentials",
                    f"each handler must show a {need.value} in division {r.division_code}; "
                    f"{h.name or 'this handler'} shows {shown_text}",
                    cites,
                    ("refusal.credential_missing", {"credential": need.value, "name": h.name}),
                )
    return errors


def required_credentials(r: EffectiveRules) -> dict[Credential, tuple[Citation, ...]]:
    """Each credential the division's packs require of every handler, with the articles."""
    applying = set(r.credentials.citations)
    needs: dict[Credential, list[Citation]] = {}
    for pack in r.packs:
        rule = pack.access.credentials
        if rule is None or rule.citation not in applying:
            continue
        for item in sorted(rule.value):
            needs.setdefault(item, []).append(rule.citation)
    return {k: _unique(v) for k, v in needs.items()}


def _entitlement(
    req: AccessRequest, rules: Sequence[EffectiveRules], operation: AccessOperation
) -> list[FieldError]:
    wanted = {operation}
    if operation is AccessOperation.COPY:
        wanted.add(AccessOperation.RETRIEVE)
    errors: list[FieldError] = []
    for r in rules:
        if not r.entitlements:
            continue
        matching = [
            e
            for e in r.entitlements
            if req.requester_kind in e.requesters and wanted & e.operations
        ]
        if not matching:
            errors += _cited(
                "requester_kind",
                f"no rule in force for division {r.division_code} entitles a "
                f"{req.requester_kind.value} to {operation.value} footage",
                _unique(e.citation for e in r.entitlements),
                (
                    "refusal.not_entitled",
                    {"requester_kind": req.requester_kind.value, "action": operation.value},
                ),
            )
        elif req.emergency is None and all(e.emergency_only for e in matching):
            errors += _cited(
                "emergency",
                f"a {req.requester_kind.value} may {operation.value} footage in division "
                f"{r.division_code} only in a public emergency; name the emergency",
                _unique(e.citation for e in matching),
                (
                    "refusal.emergency_only",
                    {"requester_kind": req.requester_kind.value, "action": operation.value},
                ),
            )
    return _dedupe(errors)


def _cited(
    field: str,
    reason: str,
    citations: Iterable[Citation],
    message: tuple[str, dict[str, Any]] | None = None,
) -> list[FieldError]:
    """One error per citation; ``message`` is the catalogue key and parameters."""
    key, params = message or (None, {})
    cites = list(citations)
    if not cites:
        return [FieldError(field, reason, key=key, params=params)]
    return [FieldError(field, reason, c.rule_id, c.human, key, params) for c in cites]


def _unique(citations: Iterable[Citation]) -> tuple[Citation, ...]:
    return tuple(dict.fromkeys(citations))


def _dedupe(errors: list[FieldError]) -> list[FieldError]:
    return list(dict.fromkeys(errors))
