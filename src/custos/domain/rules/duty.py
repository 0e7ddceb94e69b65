"""A :class:`Duty` is one effective value with the articles behind it; :func:`strictest` layers.

Layering (docs/design/rules.md): among the candidates the packs offer, the strictest wins; its
citation comes first, followed by the others that also apply, strictest first.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from custos.domain.rules.citation import Citation
from custos.domain.rules.model import DeadlineRule, FineRange

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Duty(Generic[T]):
    """An effective value and the citations that produce it (the winning one first).

    ``product_default`` is true when the value is Custos's default where the law states no
    number (e.g. Beijing retention, §8 D-01), or a reading the texts do not state expressly.
    """

    value: T
    citations: tuple[Citation, ...] = ()
    product_default: bool = False
    note: str | None = None

    @property
    def rule_ids(self) -> list[str]:
        return [c.rule_id for c in self.citations]

    def as_dict(self) -> dict[str, Any]:
        return {
            "value": to_json(self.value),
            "rule_ids": self.rule_ids,
            "articles": [c.human for c in self.citations],
            "product_default": self.product_default,
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class Candidate(Generic[T]):
    """One pack's offer for a duty."""

    value: T
    citation: Citation
    product_default: bool = False
    note: str | None = None


def strictest(
    candidates: Sequence[Candidate[T]],
    strictness: Callable[[T], float],
    default: T,
    *,
    keep_weaker: bool,
) -> Duty[T]:
    """The strictest candidate's value, citing it first and then the others that also apply.

    Ties go to law before product defaults, then to the earlier pack (national first).
    ``keep_weaker`` keeps citations of weaker values (floors and deadlines all apply at once);
    without it only citations that agree with the winner stay (a "not required" rule no longer
    applies once another pack requires).
    """
    if not candidates:
        return Duty(default)
    ranked = sorted(
        enumerate(candidates),
        key=lambda pair: (-strictness(pair[1].value), pair[1].product_default, pair[0]),
    )
    winner = ranked[0][1]
    kept = [c for _, c in ranked if keep_weaker or c.value == winner.value]
    return Duty(
        winner.value,
        _unique(c.citation for c in kept),
        product_default=winner.product_default,
        note=winner.note,
    )


def any_required(candidates: Sequence[Candidate[bool]]) -> Duty[bool]:
    """True when any pack requires; cites the packs that agree with the outcome."""
    return strictest(candidates, lambda required: float(required), False, keep_weaker=False)


def with_more_citations(duty: Duty[T], extra: Iterable[Citation]) -> Duty[T]:
    """The same duty, with citations that apply without changing its value appended."""
    return Duty(duty.value, _unique([*duty.citations, *extra]), duty.product_default, duty.note)


def _unique(citations: Iterable[Citation]) -> tuple[Citation, ...]:
    return tuple(dict.fromkeys(citations))


def to_json(value: object) -> Any:
    """A JSON-able form of a duty's value."""
    if isinstance(value, enum.Enum):
        return value.value
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, DeadlineRule):
        return {"days": value.days, "working_days": value.working_days}
    if isinstance(value, FineRange):
        return value.as_dict()
    if isinstance(value, Citation):
        return value.rule_id
    if isinstance(value, frozenset | set):
        return sorted(to_json(item) for item in value)
    if isinstance(value, tuple | list):
        return [to_json(item) for item in value]
    if isinstance(value, dict):
        return {str(to_json(k)): to_json(v) for k, v in value.items()}
    as_dict = getattr(value, "as_dict", None)
    if callable(as_dict):
        return as_dict()
    raise TypeError(f"no JSON form for {type(value).__name__}")


def duty_message(path: str, value: Any) -> tuple[str, dict[str, Any]]:
    """The catalogue key and parameters that say a duty in words, from its name (``filing.
    after_in_use``) and JSON value: ``duty.<name>`` with the value, or ``duty.none`` /
    ``duty.not_required`` where the texts set nothing (no value, none, zero); a deadline in working days gets
    ``duty.<name>.working``, a stance (``prohibited``) ``duty.<name>.<stance>``."""
    if value is None or value == [] or (type(value) is int and value == 0):
        return "duty.none", {"duty": path}
    if value is False:
        return "duty.not_required", {"duty": path}
    if value is True:
        return f"duty.{path}", {}
    if isinstance(value, dict) and "days" in value:
        working = ".working" if value.get("working_days") else ""
        return f"duty.{path}{working}", {"days": value["days"]}
    if isinstance(value, str):
        return f"duty.{path}.{value}", {}
    if isinstance(value, list):
        return f"duty.{path}", {path.rsplit(".", 1)[-1]: value}
    return f"duty.{path}", {"value": value}


def with_messages(node: Any, path: str = "") -> Any:
    """A copy of a duties dict (``EffectiveRules.as_dict``) in which every duty also carries
    ``key`` and ``params`` (:func:`duty_message`)."""
    if isinstance(node, dict) and "rule_ids" in node and "value" in node:
        key, params = duty_message(path, node["value"])
        return {**node, "key": key, "params": params}
    if isinstance(node, dict):
        return {k: with_messages(v, f"{path}.{k}" if path else k) for k, v in node.items()}
    return node
