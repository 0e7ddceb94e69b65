"""Masking before public dissemination: what the packs require, and refusing copies that lack it.

Decree 799 art. 22 (every pack: faces, plates, the names and business licences of organisations)
and Xi'an art. 28 (individual features of the persons concerned, plates) are read from each pack's
``publication:`` section (docs/design/evidence.md "Masked copies for publication").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from custos.domain.errors import FieldError, ValidationFailed
from custos.domain.rules.citation import Citation
from custos.domain.rules.model import RulePack
from custos.domain.rules.terms import MaskTarget


@dataclass(frozen=True, slots=True)
class PublicationDuty:
    """Everything a copy for publication must have masked, each target with its articles."""

    targets: dict[MaskTarget, tuple[Citation, ...]]

    @property
    def required(self) -> bool:
        return bool(self.targets)

    @property
    def citations(self) -> tuple[Citation, ...]:
        seen: dict[str, Citation] = {}
        for cites in self.targets.values():
            for citation in cites:
                seen.setdefault(citation.rule_id, citation)
        return tuple(seen.values())

    def refusals(self, masked: Iterable[MaskTarget], field: str = "masking") -> list[FieldError]:
        """One refusal per target the copy does not mask, naming ``field`` and the articles."""
        done = frozenset(masked)
        return [
            FieldError(
                field=f"{field}.{target.value}",
                reason=f"a copy for public dissemination must mask {target.value}",
                rule_id=", ".join(c.rule_id for c in cites),
                article="; ".join(c.human for c in cites),
                key="refusal.publication_unmasked",
                params={"target": target.value},
            )
            for target, cites in sorted(self.targets.items())
            if target not in done
        ]

    def check(self, masked: Iterable[MaskTarget], field: str = "masking") -> None:
        """Raise :class:`ValidationFailed` when ``masked`` leaves out a required target."""
        errors = self.refusals(masked, field)
        if errors:
            raise ValidationFailed(errors)


def publication_duty(packs: Iterable[RulePack]) -> PublicationDuty:
    """The union of the ``publication:`` rules of ``packs`` (those of one division)."""
    targets: dict[MaskTarget, list[Citation]] = {}
    for pack in packs:
        if pack.publication is None:
            continue
        for target in pack.publication.mask:
            targets.setdefault(target, []).append(pack.publication.citation)
    return PublicationDuty({t: tuple(c) for t, c in targets.items()})
