"""The :class:`RuleBook`: which packs apply where, their layered duties, placement refusals."""

from __future__ import annotations

from collections.abc import Iterable

from custos.domain.errors import CustosError, FieldError, ValidationFailed
from custos.domain.kinds import PublicPlaceArticle
from custos.domain.rules.categories import unknown_categories
from custos.domain.rules.citation import Citation
from custos.domain.rules.effective import EffectiveRules, filing_rules_for, layer
from custos.domain.rules.model import FilingRule, Penalty, RulePack
from custos.domain.rules.placement import PlacementFacts, RuleViolation, find_violations
from custos.domain.rules.terms import FilingTrigger


class RuleBookInvalid(CustosError):  # noqa: N818 - the domain's word, as in errors.py
    """The rule packs are broken (a bad file, duplicate ids, a missing parent…).

    A build defect, not a user error: Custos refuses to start rather than enforce broken law.
    """


class RuleBook:
    """All rule packs Custos enforces, and the questions asked of them."""

    def __init__(self, packs: Iterable[RulePack]) -> None:
        self.packs: tuple[RulePack, ...] = tuple(packs)
        self._by_id = {pack.id: pack for pack in self.packs}
        self._check()
        self._effective: dict[tuple[str, PublicPlaceArticle | None], EffectiveRules] = {}

    def pack(self, pack_id: str) -> RulePack:
        try:
            return self._by_id[pack_id]
        except KeyError:
            raise RuleBookInvalid(f"no rule pack {pack_id!r}") from None

    def packs_for_division(self, division_code: str) -> tuple[RulePack, ...]:
        """National packs first, then the province (first 2 digits), then the city (first 4);
        a pack pulls in its parent (Xi'an → Shaanxi)."""
        _check_division_code(division_code)
        chosen: dict[str, RulePack] = {}
        for pack in self.packs:
            if pack.applies_to_division(division_code):
                for member in self._lineage(pack):
                    chosen.setdefault(member.id, member)
        return tuple(sorted(chosen.values(), key=self._layer_order))

    def effective(
        self, division_code: str, site_article: PublicPlaceArticle | None = None
    ) -> EffectiveRules:
        """The layered duties for a division; with ``site_article``, the Decree 799 site
        exemptions (art. 9 ¶2, art. 33) are applied too."""
        key = (division_code, site_article)
        if key not in self._effective:
            packs = self.packs_for_division(division_code)
            self._effective[key] = layer(division_code, packs, site_article)
        return self._effective[key]

    def placement_violations(self, facts: PlacementFacts) -> list[RuleViolation]:
        """Every pack and article that refuses this placement; empty when it is allowed."""
        packs = self.packs_for_division(facts.division_code)
        return find_violations(packs, facts, self.penalty_for)

    def filing_rules(
        self,
        division_code: str,
        trigger: FilingTrigger,
        site_article: PublicPlaceArticle | None = None,
    ) -> tuple[FilingRule, ...]:
        """Each applicable pack's rules for ``trigger`` (removal and relocation fall back to
        change rules per pack), in layer order."""
        return tuple(
            rule
            for pack in self.packs_for_division(division_code)
            for rule in filing_rules_for(pack, trigger)
            if pack.applies_on_site(rule.citation, site_article)
        )

    def penalty_for(self, obligation: Citation) -> Penalty | None:
        """The penalty article that punishes a breach of ``obligation``, if any.

        A pack without fines of its own for it (Xi'an, art. 33) defers to its parent's.
        """
        pack = self._by_id.get(obligation.pack_id)
        if pack is None:
            return None
        own = pack.own_penalty_for(obligation)
        if own is not None or pack.parent is None:
            return own
        parent = self._by_id[pack.parent]
        for deferred in pack.deferred_penalties:
            if deferred.obligation.covers(obligation):
                return next(p for p in parent.penalties if p.citation == deferred.penalty)
        return None

    @staticmethod
    def unknown_categories(keys: Iterable[str]) -> set[str]:
        """The keys that are not in the category catalogue."""
        return unknown_categories(keys)

    def _lineage(self, pack: RulePack) -> list[RulePack]:
        chain = [pack]
        while chain[-1].parent is not None:
            chain.append(self._by_id[chain[-1].parent])
        return chain

    def _layer_order(self, pack: RulePack) -> tuple[bool, int, str]:
        return (not pack.is_nationwide, len(self._lineage(pack)), pack.id)

    def _check(self) -> None:
        if len(self._by_id) != len(self.packs):
            raise RuleBookInvalid("two rule packs share an id")
        for pack in self.packs:
            if pack.parent is not None and pack.parent not in self._by_id:
                raise RuleBookInvalid(f"{pack.id}: parent {pack.parent!r} is not loaded")
            if len(self._lineage_ids(pack)) > len(self.packs):
                raise RuleBookInvalid(f"{pack.id}: its parents form a cycle")
            for deferred in pack.deferred_penalties:
                self._check_deferred(pack, deferred.penalty)

    def _lineage_ids(self, pack: RulePack) -> list[str]:
        ids = [pack.id]
        current = pack
        while current.parent is not None and len(ids) <= len(self.packs):
            current = self._by_id[current.parent]
            ids.append(current.id)
        return ids

    def _check_deferred(self, pack: RulePack, penalty: Citation) -> None:
        parent = self._by_id.get(pack.parent or "")
        if parent is None or all(p.citation != penalty for p in parent.penalties):
            raise RuleBookInvalid(
                f"{pack.id}: deferred penalty {penalty.rule_id} is not a penalty of its parent"
            )


def _check_division_code(code: str) -> None:
    if not (code.isascii() and code.isdigit() and 2 <= len(code) <= 12):
        raise ValidationFailed(
            FieldError("division_code", f"{code!r} is not an administrative division code")
        )
