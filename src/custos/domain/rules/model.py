"""Rule packs as plain data: one :class:`RulePack` per regulation, every rule with its article.

The vocabulary (triggers, roles, violation keys…) is in :mod:`custos.domain.rules.terms`.

The packs are loaded from ``src/custos/rulepacks/*.yaml`` by an adapter; nothing here reads a
file. Conventions (obligations.md §0.2, §7): ``None`` means the text is silent; money is RMB
yuan; ``*_min = None`` with a maximum means "X元以下" (no stated minimum).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Generic, TypeVar

from custos.domain.kinds import AccessAction, PublicPlaceArticle
from custos.domain.rules.citation import Citation
from custos.domain.rules.terms import (
    AccessOperation,
    ApproverRole,
    Credential,
    FilingTrigger,
    MaskTarget,
    Milestone,
    OutsideCaptureStance,
    PenaltyTrigger,
    PlacementScope,
    ReportUrgency,
    RequesterKind,
    RoomAccessBan,
    SignageScope,
    TrainingContent,
    ViolationKey,
)

T = TypeVar("T")

NATIONWIDE = "*"
"""The ``applies_to`` entry of a pack in force in every division (Decree 799)."""


@dataclass(frozen=True, slots=True)
class Cited(Generic[T]):
    """One value a pack states, with the article that states it."""

    value: T
    citation: Citation


@dataclass(frozen=True, slots=True, order=True)
class DeadlineRule:
    """``days`` calendar days, or working days (工作日), counted with the start day excluded."""

    days: int
    working_days: bool = False

    def __post_init__(self) -> None:
        if self.days < 1:
            raise ValueError(f"a deadline needs at least one day, got {self.days}")

    @property
    def ranking_days(self) -> int:
        """A generous calendar-day span, to rank deadlines without a calendar.

        Working days are stretched by weekends (7/5) plus 10 days for the longest holiday run;
        compliance compares exact due dates on the real calendar instead.
        """
        if not self.working_days:
            return self.days
        return -(-self.days * 7 // 5) + 10

    def __str__(self) -> str:
        return f"{self.days} {'working ' if self.working_days else ''}days"


@dataclass(frozen=True, slots=True)
class FineRange:
    """Fines in yuan: the unit, each responsible person of it, an individual violator."""

    unit_min: int | None = None
    unit_max: int | None = None
    person_min: int | None = None
    person_max: int | None = None
    individual_min: int | None = None
    individual_max: int | None = None

    @property
    def is_empty(self) -> bool:
        return all(value is None for value in self.as_dict().values())

    @property
    def highest(self) -> int:
        """The largest single amount, for ranking penalties; 0 when there is none."""
        return max((value for value in self.as_dict().values() if value is not None), default=0)

    def as_dict(self) -> dict[str, int | None]:
        return {
            "unit_min": self.unit_min,
            "unit_max": self.unit_max,
            "person_min": self.person_min,
            "person_max": self.person_max,
            "individual_min": self.individual_min,
            "individual_max": self.individual_max,
        }


@dataclass(frozen=True, slots=True)
class Penalty:
    """A penalty article: which obligations it punishes, and how."""

    citation: Citation
    violates: tuple[Citation, ...]
    violation_key: ViolationKey
    trigger: PenaltyTrigger | None
    warning: bool
    fine: FineRange
    measures: tuple[str, ...] = ()
    note: str | None = None

    def punishes(self, obligation: Citation) -> bool:
        return any(article.covers(obligation) for article in self.violates)


@dataclass(frozen=True, slots=True)
class DeferredPenalty:
    """A pack without fines of its own points an obligation at its parent's penalty article."""

    obligation: Citation
    penalty: Citation


@dataclass(frozen=True, slots=True)
class RetentionRule:
    """Minimum storage period (留存期). ``default_days`` is a product default, not law."""

    min_days: int | None
    default_days: int | None
    citation: Citation
    important_footage_years: int | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class FilingRule:
    """A filing or report deadline. ``deadline=None`` means "promptly" (及时), no number.

    A ``PREEXISTING`` rule counts from the pack's effective date and replaces the pack's other
    initial-filing rules for a system that reached ``preexisting_if`` before that date.
    """

    trigger: FilingTrigger
    deadline: DeadlineRule | None
    citation: Citation
    note: str | None = None
    preexisting_if: Milestone | None = None


@dataclass(frozen=True, slots=True)
class SiteExemption:
    """Rules of a pack that do not apply on sites under some Decree 799 articles.

    Decree 799 art. 9 ¶2 exempts art. 9 places from arts. 11, 14, 15, 16 ¶2 and 17; art. 33
    alone governs places that are not public; art. 33 does not reach public places.
    """

    site_articles: frozenset[PublicPlaceArticle]
    exempt: tuple[Citation, ...]
    citation: Citation

    def exempts(self, obligation: Citation, site_article: PublicPlaceArticle) -> bool:
        if site_article not in self.site_articles:
            return False
        return any(article.covers(obligation) for article in self.exempt)


@dataclass(frozen=True, slots=True)
class CategoryRule:
    """A category key a pack makes mandatory or prohibited, and the articles that do."""

    key: str
    citations: tuple[Citation, ...]


@dataclass(frozen=True, slots=True)
class ApprovalDocumentRule:
    """Whether a requester must show an approval document (批准文件) for this action."""

    action: AccessAction
    required: bool
    citation: Citation


@dataclass(frozen=True, slots=True)
class ApproverRule:
    """Who approves which operations for which requesters (``approver=None``: no approval)."""

    requesters: frozenset[RequesterKind]
    operations: frozenset[AccessOperation]
    approver: ApproverRole | None
    citation: Citation
    condition: str | None = None


@dataclass(frozen=True, slots=True)
class AccessEntitlement:
    """Who may access footage, for what, and whether only in an emergency."""

    requesters: frozenset[RequesterKind]
    operations: frozenset[AccessOperation]
    emergency_only: bool
    citation: Citation
    condition: str | None = None


@dataclass(frozen=True, slots=True)
class AccessRules:
    min_handlers: Cited[int] | None
    credentials: Cited[frozenset[Credential]] | None
    approval_documents: tuple[ApprovalDocumentRule, ...]
    approvers: tuple[ApproverRule, ...]
    entitlements: tuple[AccessEntitlement, ...]
    registration: Citation | None
    registration_form: Citation | None
    scope_limited_to_duty: Citation | None


@dataclass(frozen=True, slots=True)
class GovernmentOnlyRule:
    """Only government may build on these sites; everyone else is barred."""

    citation: Citation
    also_cites: tuple[Citation, ...]
    scope: frozenset[PlacementScope]


@dataclass(frozen=True, slots=True)
class PublicAreaRules:
    government_only: GovernmentOnlyRule | None
    outside_capture: Cited[OutsideCaptureStance] | None


@dataclass(frozen=True, slots=True)
class SignageRule:
    """Signage duty; ``conspicuous=None`` when the text does not say 明显/显著."""

    conspicuous: bool | None
    scope: SignageScope
    citation: Citation


@dataclass(frozen=True, slots=True)
class ClassifiedNetworkRule:
    """Classified sites: no internet or public network. ``express=False``: by deferral."""

    citation: Citation
    also_cites: tuple[Citation, ...]
    express: bool


@dataclass(frozen=True, slots=True)
class NetworkRules:
    classified_no_internet: ClassifiedNetworkRule | None
    max_interruption_days: Cited[int] | None
    # the duty to reserve hardware and software interfaces for police networking (Chongqing
    # art. 12 ¶1, Xi'an art. 14 ¶1); a fine, where one exists, is a penalty of its own
    reserved_interface: Citation | None = None


@dataclass(frozen=True, slots=True)
class OperatingRules:
    """The operating unit's duties a pack states (``operating:``), each with its article.

    ``None`` means the pack is silent. The texts give no numbers for intervals or deadlines;
    the product defaults are applied when the packs are layered (:mod:`.operating`).
    """

    duty_monitoring: Citation | None = None
    report_suspicious: Cited[ReportUrgency] | None = None
    room_access: Cited[RoomAccessBan] | None = None
    staff_archive: Citation | None = None
    training: Cited[frozenset[TrainingContent]] | None = None
    inspection_maintenance: Citation | None = None
    restore_after_fault: Citation | None = None
    keep_location_and_function: Citation | None = None
    entrustment_agreement: Citation | None = None
    assessment: Citation | None = None
    emergency_plan: Citation | None = None

    def citations(self) -> tuple[Citation, ...]:
        found: list[Citation] = []
        for value in (
            self.duty_monitoring, self.report_suspicious, self.room_access, self.staff_archive,
            self.training, self.inspection_maintenance, self.restore_after_fault,
            self.keep_location_and_function, self.entrustment_agreement, self.assessment,
            self.emergency_plan,
        ):  # fmt: skip
            if isinstance(value, Cited):
                found.append(value.citation)
            elif value is not None:
                found.append(value)
        return tuple(found)


@dataclass(frozen=True, slots=True)
class PublicationRule:
    """What must be masked before footage is used for public dissemination (``publication:``)."""

    mask: frozenset[MaskTarget]
    citation: Citation


@dataclass(frozen=True, slots=True)
class RulePack:
    """One regulation as data (obligations.md §7), every rule carrying its article."""

    id: str
    name_zh: str
    name_en: str
    instrument: str
    effective_date: date
    parent: str | None
    applies_to: tuple[str, ...]
    source_file: str
    notes: tuple[str, ...]
    retention: RetentionRule
    filing: tuple[FilingRule, ...]
    acceptance_before_use: Citation | None
    preexisting_upgrade: Cited[DeadlineRule] | None
    access: AccessRules
    mandatory_categories: tuple[CategoryRule, ...]
    prohibited_categories: tuple[CategoryRule, ...]
    public_area: PublicAreaRules
    signage: SignageRule | None
    network: NetworkRules
    penalties: tuple[Penalty, ...]
    deferred_penalties: tuple[DeferredPenalty, ...] = ()
    site_exemptions: tuple[SiteExemption, ...] = ()
    operating: OperatingRules = OperatingRules()
    publication: PublicationRule | None = None

    def applies_to_division(self, division_code: str) -> bool:
        return any(p == NATIONWIDE or division_code.startswith(p) for p in self.applies_to)

    @property
    def is_nationwide(self) -> bool:
        return NATIONWIDE in self.applies_to

    def mandatory_citations(self, key: str) -> tuple[Citation, ...]:
        return next((r.citations for r in self.mandatory_categories if r.key == key), ())

    def prohibited_citations(self, key: str) -> tuple[Citation, ...]:
        return next((r.citations for r in self.prohibited_categories if r.key == key), ())

    def applies_on_site(
        self, obligation: Citation, site_article: PublicPlaceArticle | None
    ) -> bool:
        """False when a site exemption of this pack lifts ``obligation`` on such a site.

        ``site_article=None`` (site unknown) applies every rule.
        """
        if site_article is None:
            return True
        return not any(e.exempts(obligation, site_article) for e in self.site_exemptions)

    def own_penalty_for(self, obligation: Citation) -> Penalty | None:
        """The pack's heaviest penalty article that punishes ``obligation`` (§8 P-07)."""
        matching = [p for p in self.penalties if p.punishes(obligation)]
        return max(matching, key=lambda p: p.fine.highest, default=None)

    def filing_rules(self, trigger: FilingTrigger) -> tuple[FilingRule, ...]:
        return tuple(rule for rule in self.filing if rule.trigger is trigger)

    def citations(self) -> tuple[Citation, ...]:
        """Every citation the pack carries (for checks that every rule id is well formed)."""
        found: list[Citation] = [self.retention.citation]
        found += [r.citation for r in self.filing]
        found += [self.acceptance_before_use] if self.acceptance_before_use else []
        found += [self.preexisting_upgrade.citation] if self.preexisting_upgrade else []
        found += [self.network.reserved_interface] if self.network.reserved_interface else []
        for rule in self.mandatory_categories + self.prohibited_categories:
            found += rule.citations
        for penalty in self.penalties:
            found += [penalty.citation, *penalty.violates]
        found += [d.obligation for d in self.deferred_penalties]
        for exemption in self.site_exemptions:
            found += [exemption.citation, *exemption.exempt]
        found += self.operating.citations()
        found += [self.publication.citation] if self.publication else []
        return tuple(found)
