"""The jurisdiction rule engine: rule packs, their layering, placement refusals, compliance.

Pure domain (no framework, no YAML): packs are built by ``custos.adapters.rulepack_loader``.
See docs/design/rules.md for the layering semantics.
"""

from custos.domain.rules.categories import (
    CATEGORY_GROUPS,
    CATEGORY_KEYS,
    CategoryInfo,
    CategoryKind,
    expand_categories,
    unknown_categories,
)
from custos.domain.rules.citation import Citation
from custos.domain.rules.compliance import evaluate_compliance
from custos.domain.rules.duty import Duty
from custos.domain.rules.effective import EffectiveRules
from custos.domain.rules.engine import RuleBook, RuleBookInvalid
from custos.domain.rules.facts import (
    CameraFacts,
    FilingFacts,
    FilingKind,
    Finding,
    SiteFacts,
    Transition,
)
from custos.domain.rules.model import DeadlineRule, FineRange, Penalty, RulePack
from custos.domain.rules.placement import INTERNET_NETWORK_DIGIT, PlacementFacts, RuleViolation
from custos.domain.rules.terms import (
    AccessOperation,
    ApproverRole,
    Credential,
    FilingTrigger,
    RequesterKind,
    ViolationKey,
)

__all__ = [
    "CATEGORY_GROUPS",
    "CATEGORY_KEYS",
    "INTERNET_NETWORK_DIGIT",
    "AccessOperation",
    "ApproverRole",
    "CameraFacts",
    "CategoryInfo",
    "CategoryKind",
    "Citation",
    "Credential",
    "DeadlineRule",
    "Duty",
    "EffectiveRules",
    "FilingFacts",
    "FilingKind",
    "FilingTrigger",
    "Finding",
    "FineRange",
    "Penalty",
    "PlacementFacts",
    "RequesterKind",
    "RuleBook",
    "RuleBookInvalid",
    "RulePack",
    "RuleViolation",
    "SiteFacts",
    "Transition",
    "ViolationKey",
    "evaluate_compliance",
    "expand_categories",
    "unknown_categories",
]
