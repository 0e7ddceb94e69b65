"""The facts compliance is judged on, and the findings it reports. Plain data, no I/O."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from custos.domain.kinds import LifecycleState, PublicPlaceArticle, Severity, UnitKind
from custos.domain.rules.citation import Citation
from custos.domain.rules.model import FineRange
from custos.domain.rules.terms import Milestone


class FilingKind(enum.StrEnum):
    INITIAL = "initial"  # 备案 after acceptance / put-in-use, or for a pre-existing system
    CHANGE = "change"  # 备案变更 / 变更报告
    RELOCATION = "relocation"  # 迁移报告 (Xi'an art. 19); elsewhere a change
    REMOVAL = "removal"  # 拆除报告


OPERATING_STATES = frozenset(
    {LifecycleState.IN_SERVICE, LifecycleState.CHANGED, LifecycleState.RELOCATED}
)
"""States in which a camera is recording and counts as covering its categories."""

INSTALLED_STATES = OPERATING_STATES | {LifecycleState.BUILT, LifecycleState.ACCEPTED}
"""States in which a camera is physically in place (signage and retention duties apply)."""


@dataclass(frozen=True, slots=True)
class Transition:
    """A camera reached ``state`` on ``on`` (an Asia/Shanghai date)."""

    state: LifecycleState
    on: date


@dataclass(frozen=True, slots=True)
class SiteFacts:
    """One site and its system (the unit files per system, which Custos keeps per site).

    ``categories`` are the site's mandatory category keys. The dates are the system's:
    completion acceptance (竣工验收合格), put into use (投入使用/启用), and built (建成) when known.
    Whether the system is "pre-existing" for a pack is derived from them and the pack's
    effective date, so one site can be pre-existing for Decree 799 and new for Beijing's rule.
    """

    site_id: int
    division_code: str
    unit_kind: UnitKind
    categories: frozenset[str]
    public_place_article: PublicPlaceArticle
    in_use_date: date | None = None
    acceptance_date: date | None = None
    built_date: date | None = None
    is_classified: bool = False
    is_public_road_or_square: bool = False
    government_invested: bool = False  # 政府投资建设 (Liaoning art. 13)

    @property
    def subject(self) -> str:
        return f"site:{self.site_id}"

    @property
    def is_public_place(self) -> bool:
        return self.public_place_article is not PublicPlaceArticle.NOT_PUBLIC

    def reached_before(self, milestone: Milestone, day: date) -> bool:
        """True when the system had reached ``milestone`` before ``day`` (so it pre-exists)."""
        if milestone is Milestone.IN_USE:
            dates = [self.in_use_date]
        else:
            dates = [self.built_date, self.acceptance_date, self.in_use_date]
        return any(d is not None and d < day for d in dates)


@dataclass(frozen=True, slots=True)
class CameraFacts:
    """One camera. ``network_digit=None`` (unknown) is judged as not on the Internet."""

    camera_id: int
    categories: frozenset[str]
    covers_public_area: bool
    signage_installed: bool
    retention_days: int | None
    state: LifecycleState
    history: tuple[Transition, ...] = ()
    network_digit: int | None = None
    captures_public_area_outside_premises: bool = False

    @property
    def subject(self) -> str:
        return f"camera:{self.camera_id}"

    @property
    def is_installed(self) -> bool:
        return self.state in INSTALLED_STATES

    @property
    def is_operating(self) -> bool:
        return self.state in OPERATING_STATES


@dataclass(frozen=True, slots=True)
class FilingFacts:
    """A filing the unit owes: what started it, and when it was filed (None: not yet)."""

    kind: FilingKind
    trigger_date: date
    filed_on: date | None
    camera_id: int | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing a compliance check found, with the articles behind it.

    ``code`` is stable (``filing.change.overdue``); ``subject`` is ``site:3`` or ``camera:7``;
    ``fine`` and ``penalty_rule_id`` come from the penalty article for the first cited breach
    that has one; ``due`` is the Asia/Shanghai date a deadline ends (inclusive).
    """

    code: str
    severity: Severity
    subject: str
    message: str
    citations: tuple[Citation, ...]
    fine: FineRange | None = None
    due: date | None = None
    penalty_rule_id: str | None = None
    # the message in the catalogue (``finding.filing.overdue``) and its parameters; ``message``
    # is the same in English, for logs and scripts
    key: str = ""
    params: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def message_key(self) -> str:
        return self.key or f"finding.{self.code}"

    @property
    def rule_ids(self) -> list[str]:
        return [c.rule_id for c in self.citations]

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "subject": self.subject,
            "message": self.message,
            "rule_ids": self.rule_ids,
            "articles": [c.human for c in self.citations],
            "fine": self.fine.as_dict() if self.fine else None,
            "due": self.due.isoformat() if self.due else None,
            "penalty_rule_id": self.penalty_rule_id,
            "key": self.message_key,
            "params": dict(self.params),
        }
