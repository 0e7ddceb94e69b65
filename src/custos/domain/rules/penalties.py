"""Which penalty article a finding shows: the first cited breach that carries one."""

from __future__ import annotations

from collections.abc import Iterable

from custos.domain.rules.citation import Citation
from custos.domain.rules.engine import RuleBook
from custos.domain.rules.model import Penalty


def penalised(book: RuleBook, breached: Iterable[Citation]) -> Penalty | None:
    """The penalty for the first breached article that has a fine; failing that, the first
    penalty article at all (an order to correct, a warning); None when no text punishes it."""
    penalties = [p for c in breached if (p := book.penalty_for(c)) is not None]
    with_fine = [p for p in penalties if not p.fine.is_empty]
    chosen = with_fine or penalties
    return chosen[0] if chosen else None
