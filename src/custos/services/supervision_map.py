"""The console's map: a plain scatter, no tiles, no boundary polygons (docs/design/filing.md D5).

Sites are placed at their own coordinates; a site without them falls back to its division's
centroid from the GB/T 2260 table and is marked ``approximate``. The county-level divisions of
the console's area (the jurisdiction, or the picked division inside it; for a system principal
with none, the counties of the sites it sees) are given as labelled centroid points for
orientation; a county the table gives no coordinates (凤翔区) is drawn at its city's and marked
``approximate`` too. ``bounds`` frames every point, for the SVG's view box.
"""

from __future__ import annotations

from typing import Any

from custos.domain.divisions import Division, DivisionTable
from custos.services.supervision_scope import Snapshot


def _counties(snap: Snapshot, table: DivisionTable) -> list[Division]:
    if snap.area == "":
        return []
    if snap.area is not None:
        inside = table.within(snap.area)
        return [d for d in inside if d.level == "county" or len(inside) == 1]
    codes = sorted({s.division_code[:6] for s in snap.sites})
    return [d for c in codes if (d := table.lookup(c)) is not None]


def site_map(snap: Snapshot, table: DivisionTable) -> dict[str, Any]:
    sites: list[dict[str, Any]] = []
    for s in snap.sites:
        own = s.longitude is not None and s.latitude is not None
        point = (s.longitude, s.latitude) if own else table.centroid(s.division_code)
        sites.append(
            {
                "site_id": s.id,
                "name": s.name,
                "unit_id": s.unit_id,
                "unit_name": snap.unit_name(s.unit_id),
                "division_code": s.division_code,
                "longitude": None if point is None else point[0],
                "latitude": None if point is None else point[1],
                "approximate": not own,
            }
        )
    counties: list[dict[str, Any]] = []
    for d in _counties(snap, table):
        point = table.centroid(d.code)  # the table's own, else its city's (approximate)
        if point is None:
            continue
        counties.append(
            {
                "code": d.code,
                "name": d.name,
                "full_name": table.full_name(d.code),
                "longitude": point[0],
                "latitude": point[1],
                "approximate": d.longitude is None or d.latitude is None,
            }
        )
    points = [(p["longitude"], p["latitude"]) for p in [*sites, *counties]]
    placed = [(x, y) for x, y in points if x is not None and y is not None]
    bounds = None
    if placed:
        xs, ys = [x for x, _ in placed], [y for _, y in placed]
        bounds = {"west": min(xs), "east": max(xs), "south": min(ys), "north": max(ys)}
    return {"sites": sites, "counties": counties, "bounds": bounds}
