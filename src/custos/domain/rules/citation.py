"""Citations: which article of which rule pack a duty or refusal comes from.

A rule id is ``<pack-id>:<article>`` (obligations.md §0.2), e.g. ``chongqing-2016:art10.i1``:

* ``art<N>`` — article (条) N; ``tspr<N>`` — article N of the Shaanxi Technical Security
  Prevention Regulation, which Shaanxi art. 7(1) incorporates (``shaanxi-2011:tspr14.i3``);
* ``.p<K>`` — paragraph (款) K; omitted for the first or only paragraph when an item follows;
* ``.i<M>`` — item (项) M.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from custos.domain.errors import FieldError, ValidationFailed

_PACK_ID = r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*-\d{4}"
_ARTICLE = r"(?:art|tspr)[1-9]\d*(?:\.p[1-9]\d*)?(?:\.i[1-9]\d*)?"
_RULE_ID = re.compile(rf"(?P<pack>{_PACK_ID}):(?P<article>{_ARTICLE})")
_ARTICLE_ONLY = re.compile(_ARTICLE)
_PACK_ONLY = re.compile(_PACK_ID)
_PARTS = re.compile(r"(?P<kind>art|tspr)(?P<n>\d+)(?:\.p(?P<p>\d+))?(?:\.i(?P<i>\d+))?")

PACK_LABELS: dict[str, str] = {
    "national-2025": "Decree 799",
    "beijing-2007": "Beijing Measures",
    "liaoning-2008": "Liaoning Measures",
    "shaanxi-2011": "Shaanxi Measures",
    "chongqing-2016": "Chongqing Measures",
    "xian-2020": "Xi'an Measures",
}
"""Short English names of the instruments, for the human form of a citation."""


def is_pack_id(text: str) -> bool:
    """True when ``text`` has the shape of a pack id (``chongqing-2016``)."""
    return _PACK_ONLY.fullmatch(text) is not None


def is_article(text: str) -> bool:
    """True when ``text`` has the shape of an article reference (``art10.i1``)."""
    return _ARTICLE_ONLY.fullmatch(text) is not None


@dataclass(frozen=True, slots=True, order=True)
class Citation:
    """One article of one rule pack: ``Citation("chongqing-2016", "art10.i1")``."""

    pack_id: str
    article: str

    def __post_init__(self) -> None:
        if not is_pack_id(self.pack_id) or not is_article(self.article):
            raise ValidationFailed(
                FieldError(
                    "rule_id",
                    f"{self.pack_id}:{self.article!s} is not <pack-id>:art<N>[.p<K>][.i<M>]",
                )
            )

    @classmethod
    def parse(cls, rule_id: str) -> Citation:
        """``"chongqing-2016:art10.i1"`` → ``Citation("chongqing-2016", "art10.i1")``."""
        match = _RULE_ID.fullmatch(rule_id)
        if match is None:
            raise ValidationFailed(
                FieldError("rule_id", f"{rule_id!r} is not <pack-id>:art<N>[.p<K>][.i<M>]")
            )
        return cls(match["pack"], match["article"])

    @property
    def rule_id(self) -> str:
        """The stable id, ``chongqing-2016:art10.i1``."""
        return f"{self.pack_id}:{self.article}"

    @property
    def human(self) -> str:
        """The article as a reader writes it: ``Chongqing Measures art. 10(1)``."""
        parts = _PARTS.fullmatch(self.article)
        assert parts is not None  # checked in __post_init__
        text = f"art. {parts['n']}"
        if parts["kind"] == "tspr":
            text = f"TSPR {text}"
        if parts["p"]:
            text += f" para {parts['p']}"
        if parts["i"]:
            text += f"({parts['i']})"
        return f"{PACK_LABELS.get(self.pack_id, self.pack_id)} {text}"

    def covers(self, other: Citation) -> bool:
        """True when ``other`` is this article or a paragraph or item inside it.

        ``art16`` covers ``art16.p2`` and ``art16.i7``; ``art1`` does not cover ``art16``. Items
        of the first paragraph are written without ``.p1``, so ``art18.p1`` covers ``art18.i2``.
        """
        if self.pack_id != other.pack_id:
            return False
        inside = other.article == self.article or other.article.startswith(self.article + ".")
        if inside or not self.article.endswith(".p1"):
            return inside
        article = self.article.removesuffix(".p1")
        return other.article.startswith(article + ".i")

    def __str__(self) -> str:
        return self.rule_id
