"""The duties in force for one division (and, when known, one kind of site), layered.

:func:`layer` turns the packs that apply into one :class:`EffectiveRules`: the strictest duty
wins and every duty carries the citations that produce it (docs/design/rules.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from custos.domain.calendar import add_calendar_days
from custos.domain.kinds import AccessAction, PublicPlaceArticle
from custos.domain.rules.citation import Citation
from custos.domain.rules.duty import (
    Candidate,
    Duty,
    any_required,
    strictest,
    to_json,
    with_messages,
)
from custos.domain.rules.model import (
    AccessEntitlement,
    ApproverRule,
    Cited,
    DeadlineRule,
    FilingRule,
    RulePack,
    SignageRule,
)
from custos.domain.rules.operating import OperatingDuties, layer_operating
from custos.domain.rules.terms import (
    AccessOperation,
    ApproverRole,
    Credential,
    FilingTrigger,
    OutsideCaptureStance,
    RequesterKind,
)

T = TypeVar("T")

PROMPTLY = "promptly (及时): the text sets no number of days"
DEFAULT_MIN_HANDLERS = 2

_FALLBACK: dict[FilingTrigger, FilingTrigger] = {
    FilingTrigger.REMOVAL: FilingTrigger.CHANGE,
    FilingTrigger.RELOCATION: FilingTrigger.CHANGE,
}
_STANCE_ORDER = {
    OutsideCaptureStance.SILENT: 0,
    OutsideCaptureStance.ENCOURAGED: 1,
    OutsideCaptureStance.PROHIBITED: 2,
}
LAYERED_TRIGGERS = (
    FilingTrigger.AFTER_ACCEPTANCE,
    FilingTrigger.AFTER_IN_USE,
    FilingTrigger.CHANGE,
    FilingTrigger.RELOCATION,
    FilingTrigger.REMOVAL,
)


def filing_rules_for(pack: RulePack, trigger: FilingTrigger) -> tuple[FilingRule, ...]:
    """The pack's rules for ``trigger``; a removal or relocation with no rule of its own is a
    change of the filed system and takes the change rules (§8 F-01, F-02)."""
    own = pack.filing_rules(trigger)
    if own or trigger not in _FALLBACK:
        return own
    return pack.filing_rules(_FALLBACK[trigger])


@dataclass(frozen=True, slots=True)
class EffectiveRules:
    """Every duty in force for a division, each a :class:`Duty` with its citations."""

    division_code: str
    site_article: PublicPlaceArticle | None
    packs: tuple[RulePack, ...]
    retention_floor_days: Duty[int]
    important_footage_retention_years: Duty[int | None]
    filing_deadlines: Mapping[FilingTrigger, Duty[DeadlineRule | None]]
    preexisting_filing_due: tuple[Cited[date], ...]
    preexisting_upgrade_due: tuple[Cited[date], ...]
    acceptance_before_use: Duty[bool]
    min_handlers: Duty[int]
    credentials: Duty[frozenset[Credential]]
    approval_required: Mapping[AccessAction, Duty[bool]]
    approvers: tuple[ApproverRule, ...]
    entitlements: tuple[AccessEntitlement, ...]
    registration_required: Duty[bool]
    registration_form_required: Duty[bool]
    scope_limited_to_duty: Duty[bool]
    signage_required: Duty[bool]
    signage_conspicuous: Duty[bool]
    signage_rules: tuple[SignageRule, ...]
    classified_no_internet: Duty[bool]
    max_network_interruption_days: Duty[int | None]
    government_only_public_roads: Duty[bool]
    outside_premises_capture: Duty[OutsideCaptureStance]
    mandatory_categories: Mapping[str, tuple[Citation, ...]]
    prohibited_categories: Mapping[str, tuple[Citation, ...]]
    operating: OperatingDuties

    @property
    def filing_after_acceptance(self) -> Duty[DeadlineRule | None]:
        return self.filing_deadlines[FilingTrigger.AFTER_ACCEPTANCE]

    @property
    def filing_after_in_use(self) -> Duty[DeadlineRule | None]:
        return self.filing_deadlines[FilingTrigger.AFTER_IN_USE]

    @property
    def filing_change(self) -> Duty[DeadlineRule | None]:
        return self.filing_deadlines[FilingTrigger.CHANGE]

    @property
    def filing_removal(self) -> Duty[DeadlineRule | None]:
        return self.filing_deadlines[FilingTrigger.REMOVAL]

    def approvers_for(
        self, requester: RequesterKind, operation: AccessOperation
    ) -> Duty[frozenset[ApproverRole]]:
        """Every approver some pack names for this requester and operation (all are needed)."""
        rules = [
            r for r in self.approvers if requester in r.requesters and operation in r.operations
        ]
        roles = frozenset(r.approver for r in rules if r.approver is not None)
        return Duty(roles, tuple(dict.fromkeys(r.citation for r in rules)))

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able form for ``GET /cameras/{id}/obligations`` and ``GET /rules``; each duty
        carries a message ``key`` and ``params`` (:func:`~custos.domain.rules.duty.with_messages`)."""
        result: dict[str, Any] = with_messages(self._plain_dict())
        return result

    def _plain_dict(self) -> dict[str, Any]:
        return {
            "division_code": self.division_code,
            "site_article": to_json(self.site_article),
            "packs": [p.id for p in self.packs],
            "retention_floor_days": self.retention_floor_days.as_dict(),
            "important_footage_retention_years": self.important_footage_retention_years.as_dict(),
            "filing": {t.value: d.as_dict() for t, d in self.filing_deadlines.items()},
            "preexisting_filing_due": [_cited_json(c) for c in self.preexisting_filing_due],
            "preexisting_upgrade_due": [_cited_json(c) for c in self.preexisting_upgrade_due],
            "acceptance_before_use": self.acceptance_before_use.as_dict(),
            "access": self._access_dict(),
            "signage_required": self.signage_required.as_dict(),
            "signage_conspicuous": self.signage_conspicuous.as_dict(),
            "signage_scopes": {s.citation.rule_id: s.scope.value for s in self.signage_rules},
            "classified_no_internet": self.classified_no_internet.as_dict(),
            "max_network_interruption_days": self.max_network_interruption_days.as_dict(),
            "government_only_public_roads": self.government_only_public_roads.as_dict(),
            "outside_premises_capture": self.outside_premises_capture.as_dict(),
            "mandatory_categories": _categories_json(self.mandatory_categories),
            "prohibited_categories": _categories_json(self.prohibited_categories),
            "operating": self.operating.as_dict(),
        }

    def _access_dict(self) -> dict[str, Any]:
        return {
            "min_handlers": self.min_handlers.as_dict(),
            "credentials": self.credentials.as_dict(),
            "approval_required": {a.value: d.as_dict() for a, d in self.approval_required.items()},
            "approvers": [_approver_json(r) for r in self.approvers],
            "entitlements": [_entitlement_json(e) for e in self.entitlements],
            "registration_required": self.registration_required.as_dict(),
            "registration_form_required": self.registration_form_required.as_dict(),
            "scope_limited_to_duty": self.scope_limited_to_duty.as_dict(),
        }


def layer(
    division_code: str, packs: Sequence[RulePack], site_article: PublicPlaceArticle | None
) -> EffectiveRules:
    """Layer ``packs`` (national first, then province, then city) into effective duties."""
    scope = _Scope(tuple(packs), site_article)
    return EffectiveRules(
        division_code=division_code,
        site_article=site_article,
        packs=tuple(packs),
        retention_floor_days=_retention(scope),
        important_footage_retention_years=scope.floor(
            lambda p: _cited(p.retention.important_footage_years, p.retention.citation)
        ),
        filing_deadlines={t: _deadline(scope, t) for t in LAYERED_TRIGGERS},
        preexisting_filing_due=_preexisting_due(scope),
        preexisting_upgrade_due=tuple(
            Cited(add_calendar_days(p.effective_date, u.value.days), u.citation)
            for p in scope.packs
            if (u := p.preexisting_upgrade) is not None and scope.applies(u.citation)
        ),
        acceptance_before_use=scope.required(lambda p: p.acceptance_before_use),
        min_handlers=_min_handlers(scope),
        credentials=_credentials(scope),
        approval_required={a: _approval(scope, a) for a in AccessAction},
        approvers=tuple(
            r for p in scope.packs for r in p.access.approvers if scope.applies(r.citation)
        ),
        entitlements=tuple(
            e for p in scope.packs for e in p.access.entitlements if scope.applies(e.citation)
        ),
        registration_required=scope.required(lambda p: p.access.registration),
        registration_form_required=scope.required(lambda p: p.access.registration_form),
        scope_limited_to_duty=scope.required(lambda p: p.access.scope_limited_to_duty),
        signage_required=scope.required(lambda p: p.signage.citation if p.signage else None),
        signage_conspicuous=scope.required(
            lambda p: p.signage.citation if p.signage and p.signage.conspicuous else None
        ),
        signage_rules=tuple(
            p.signage for p in scope.packs if p.signage and scope.applies(p.signage.citation)
        ),
        classified_no_internet=_classified_network(scope),
        max_network_interruption_days=_max_interruption(scope),
        government_only_public_roads=scope.required(
            lambda p: g.citation if (g := p.public_area.government_only) else None
        ),
        outside_premises_capture=_outside_capture(scope),
        mandatory_categories=_categories(scope, lambda p: p.mandatory_categories),
        prohibited_categories=_categories(scope, lambda p: p.prohibited_categories),
        operating=layer_operating(scope.packs, scope.applies),
    )


@dataclass(frozen=True, slots=True)
class _Scope:
    packs: tuple[RulePack, ...]
    site_article: PublicPlaceArticle | None

    def applies(self, citation: Citation) -> bool:
        pack = next(p for p in self.packs if p.id == citation.pack_id)
        return pack.applies_on_site(citation, self.site_article)

    def offers(self, pick: Callable[[RulePack], Cited[T] | None]) -> list[Candidate[T]]:
        found = (pick(p) for p in self.packs)
        return [Candidate(c.value, c.citation) for c in found if c and self.applies(c.citation)]

    def required(self, pick: Callable[[RulePack], Citation | None]) -> Duty[bool]:
        cites = [c for p in self.packs if (c := pick(p)) is not None and self.applies(c)]
        return any_required([Candidate(True, c) for c in cites])

    def floor(self, pick: Callable[[RulePack], Cited[int] | None]) -> Duty[int | None]:
        duty = strictest(self.offers(pick), float, 0, keep_weaker=True)
        return Duty(duty.value if duty.citations else None, duty.citations)


def _cited(value: T | None, citation: Citation) -> Cited[T] | None:
    return None if value is None else Cited(value, citation)


def _retention(scope: _Scope) -> Duty[int]:
    candidates: list[Candidate[int]] = []
    for pack in scope.packs:
        rule = pack.retention
        if not scope.applies(rule.citation):
            continue
        if rule.min_days is not None:
            candidates.append(Candidate(rule.min_days, rule.citation))
        elif rule.default_days is not None:
            candidates.append(Candidate(rule.default_days, rule.citation, True, rule.note))
    return strictest(candidates, float, 0, keep_weaker=True)


def _deadline(scope: _Scope, trigger: FilingTrigger) -> Duty[DeadlineRule | None]:
    rules = [
        r for p in scope.packs for r in filing_rules_for(p, trigger) if scope.applies(r.citation)
    ]
    numeric = [Candidate(r.deadline, r.citation, note=r.note) for r in rules if r.deadline]
    prompt = [r.citation for r in rules if r.deadline is None]
    if not numeric:
        return Duty(None, tuple(prompt), note=PROMPTLY if prompt else None)
    won = strictest(numeric, lambda d: -d.ranking_days, numeric[0].value, keep_weaker=True)
    return Duty(won.value, tuple(dict.fromkeys([*won.citations, *prompt])), note=won.note)


def _preexisting_due(scope: _Scope) -> tuple[Cited[date], ...]:
    return tuple(
        Cited(add_calendar_days(p.effective_date, r.deadline.days), r.citation)
        for p in scope.packs
        for r in p.filing_rules(FilingTrigger.PREEXISTING)
        if r.deadline is not None and scope.applies(r.citation)
    )


def _min_handlers(scope: _Scope) -> Duty[int]:
    offers = scope.offers(lambda p: p.access.min_handlers)
    if not offers:
        note = "no pack states a number; Custos requires two handlers (obligations.md §9)"
        return Duty(DEFAULT_MIN_HANDLERS, (), product_default=True, note=note)
    return strictest(offers, float, DEFAULT_MIN_HANDLERS, keep_weaker=True)


def _credentials(scope: _Scope) -> Duty[frozenset[Credential]]:
    offers = scope.offers(lambda p: p.access.credentials)
    items = frozenset(item for offer in offers for item in offer.value)
    return Duty(items, tuple(offer.citation for offer in offers))


def _approval(scope: _Scope, action: AccessAction) -> Duty[bool]:
    rules = [r for p in scope.packs for r in p.access.approval_documents if r.action is action]
    candidates = [Candidate(r.required, r.citation) for r in rules if scope.applies(r.citation)]
    return any_required(candidates)


def _classified_network(scope: _Scope) -> Duty[bool]:
    rules = [p.network.classified_no_internet for p in scope.packs]
    found = [r for r in rules if r is not None and scope.applies(r.citation)]
    if not found:
        return Duty(False)
    express = [r for r in found if r.express]
    ordered = [*express, *(r for r in found if not r.express)]
    cites = tuple(dict.fromkeys(c for r in ordered for c in (r.citation, *r.also_cites)))
    note = None if express else "no applicable text bans it expressly: product default §8 N-01"
    return Duty(True, cites, product_default=not express, note=note)


def _max_interruption(scope: _Scope) -> Duty[int | None]:
    offers = scope.offers(lambda p: p.network.max_interruption_days)
    if not offers:
        return Duty(None)
    won = strictest(offers, lambda days: -days, offers[0].value, keep_weaker=True)
    return Duty(won.value, won.citations)


def _outside_capture(scope: _Scope) -> Duty[OutsideCaptureStance]:
    offers = scope.offers(lambda p: p.public_area.outside_capture)
    return strictest(
        offers, lambda s: _STANCE_ORDER[s], OutsideCaptureStance.SILENT, keep_weaker=False
    )


def _categories(
    scope: _Scope, pick: Callable[[RulePack], Iterable[Any]]
) -> dict[str, tuple[Citation, ...]]:
    found: dict[str, list[Citation]] = {}
    for pack in scope.packs:
        for rule in pick(pack):
            cites = [c for c in rule.citations if scope.applies(c)]
            if cites:
                found.setdefault(rule.key, []).extend(cites)
    return {key: tuple(cites) for key, cites in sorted(found.items())}


def _cited_json(cited: Cited[date]) -> dict[str, Any]:
    return {"due": cited.value.isoformat(), "rule_id": cited.citation.rule_id}


def _categories_json(categories: Mapping[str, tuple[Citation, ...]]) -> dict[str, list[str]]:
    return {key: [c.rule_id for c in cites] for key, cites in categories.items()}


def _approver_json(rule: ApproverRule) -> dict[str, Any]:
    return {
        "requesters": to_json(rule.requesters),
        "operations": to_json(rule.operations),
        "approver": to_json(rule.approver),
        "condition": rule.condition,
        "rule_id": rule.citation.rule_id,
    }


def _entitlement_json(entitlement: AccessEntitlement) -> dict[str, Any]:
    return {
        "requesters": to_json(entitlement.requesters),
        "operations": to_json(entitlement.operations),
        "emergency_only": entitlement.emergency_only,
        "condition": entitlement.condition,
        "rule_id": entitlement.citation.rule_id,
    }
