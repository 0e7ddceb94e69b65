"""The GB/T 2260 division table: province → city → county, with names and centroids.

Loaded from the shipped data file by ``adapters/division_table.py`` (docs/design/filing.md D1);
this module is the table itself, pure. A code the table does not hold is unknown: callers refuse
it (a filing for an unknown division is never guessed)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Division:
    code: str  # six digits
    name: str  # its own name: 渭滨区
    longitude: float | None
    latitude: float | None

    @property
    def level(self) -> str:
        """``province`` (xx0000), ``city`` (xxxx00) or ``county``."""
        if self.code.endswith("0000"):
            return "province"
        if self.code.endswith("00"):
            return "city"
        return "county"


@dataclass(frozen=True, slots=True)
class DivisionTable:
    """Immutable once built; ``source`` names the data and its date (the file's header)."""

    by_code: dict[str, Division]
    source: str = ""

    @classmethod
    def of(cls, divisions: Iterable[Division], source: str = "") -> DivisionTable:
        return cls({d.code: d for d in divisions}, source)

    def lookup(self, code: str) -> Division | None:
        """The division of a six-digit code, or of the first six digits of a longer code
        (a 20-digit camera address code starts with its division)."""
        return self.by_code.get(code[:6]) if len(code) >= 6 else None

    def knows(self, code: str) -> bool:
        return self.lookup(code) is not None

    def parent(self, code: str) -> Division | None:
        d = self.lookup(code)
        if d is None or d.level == "province":
            return None
        if d.level == "county":
            city = self.by_code.get(d.code[:4] + "00")
            if city is not None:
                return city
        return self.by_code.get(d.code[:2] + "0000")

    def ancestors(self, code: str) -> list[Division]:
        """From the province down to the division itself (empty when unknown)."""
        chain: list[Division] = []
        d = self.lookup(code)
        while d is not None:
            chain.append(d)
            d = self.parent(d.code)
        return chain[::-1]

    def children(self, code: str | None) -> list[Division]:
        """The provinces (``code`` None), a province's cities (and its directly administered
        counties), or a city's counties; in code order."""
        if code is None:
            return [d for c, d in sorted(self.by_code.items()) if d.level == "province"]
        return sorted(
            (d for d in self.by_code.values() if (p := self.parent(d.code)) and p.code == code),
            key=lambda d: d.code,
        )

    def within(self, code: str) -> list[Division]:
        """Every division inside ``code`` (itself included), by the GB/T 2260 prefix rule."""
        return [d for c, d in sorted(self.by_code.items()) if contains(code, c)]

    def full_name(self, code: str) -> str:
        """陕西省宝鸡市渭滨区; a municipality's name once (北京市朝阳区); '' when unknown."""
        parts: list[str] = []
        for d in self.ancestors(code):
            if not parts or d.name != parts[-1]:
                parts.append(d.name)
        return "".join(parts)

    def local_name(self, code: str) -> str:
        """The name without its province, as organs are named: 宝鸡市渭滨区, 重庆市铜梁区."""
        chain = self.ancestors(code)
        if len(chain) >= 2 and chain[0].name != chain[1].name:
            chain = chain[1:]
        parts: list[str] = []
        for d in chain:
            if not parts or d.name != parts[-1]:
                parts.append(d.name)
        return "".join(parts)

    def centroid(self, code: str) -> tuple[float, float] | None:
        """(longitude, latitude) of the division, else of the nearest ancestor that has one."""
        for d in reversed(self.ancestors(code)):
            if d.longitude is not None and d.latitude is not None:
                return (d.longitude, d.latitude)
        return None


def contains(outer: str, inner: str) -> bool:
    """GB/T 2260 containment of six-digit codes: a province (xx0000) holds every code starting
    with its two digits, a city (xxxx00) every code starting with its four, a county itself."""
    outer, inner = outer[:6], inner[:6]
    if outer.endswith("0000"):
        return inner[:2] == outer[:2]
    if outer.endswith("00"):
        return inner[:4] == outer[:4]
    return inner == outer
