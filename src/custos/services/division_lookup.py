"""The GB/T 2260 tree as the console and the filing pages browse it (docs/design/filing.md D1).

Reading the shipped table needs no transaction: these are functions of the
:class:`~custos.domain.divisions.DivisionTable` the container holds. The permission is the
caller's: the API asks ``REGISTRY_READ`` (any signed-in registry reader) of both routes. A code
the table does not know is a :class:`~custos.domain.errors.NotFound`, never guessed.
"""

from __future__ import annotations

from typing import Any

from custos.domain.divisions import Division, DivisionTable
from custos.domain.errors import NotFound
from custos.domain.filing_recipient import filing_recipient

#: What the 404 calls an unknown code.
UNKNOWN = "GB/T 2260 division"


def _has_children(table: DivisionTable, d: Division) -> bool:
    return d.level != "county" and bool(table.children(d.code))


def brief(table: DivisionTable, d: Division) -> dict[str, Any]:
    """One division as a node of the tree."""
    return {
        "code": d.code,
        "name": d.name,
        "level": d.level,
        "full_name": table.full_name(d.code),
        "has_children": _has_children(table, d),
    }


def children(table: DivisionTable, parent: str | None) -> list[dict[str, Any]]:
    """The provinces (no ``parent``), else the children of ``parent`` in code order (a county
    has none); an unknown ``parent`` is refused."""
    if parent is not None and (len(parent) != 6 or table.by_code.get(parent) is None):
        raise NotFound(UNKNOWN, parent)
    return [brief(table, d) for d in table.children(parent)]


def describe(table: DivisionTable, code: str) -> dict[str, Any]:
    """Name, full name, ancestors, the organ that receives filings there and the centroid."""
    d = table.by_code.get(code) if len(code) == 6 else None
    if d is None:
        raise NotFound(UNKNOWN, code)
    centroid = table.centroid(code)
    return {
        **brief(table, d),
        "local_name": table.local_name(code),
        "ancestors": [
            {"code": a.code, "name": a.name, "level": a.level} for a in table.ancestors(code)[:-1]
        ],
        "organ": filing_recipient(code, table.local_name(code)).as_dict(),
        "centroid": (
            None if centroid is None else {"longitude": centroid[0], "latitude": centroid[1]}
        ),
        "source": table.source,
    }
