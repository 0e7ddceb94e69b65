"""Regions added in review: stable ids, never reused in a case; what each edit reports for the
log; a case stored before ids gets them by position."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from custos.adapters.db.publication_repositories import from_json, to_json
from custos.domain.errors import Conflict, NotFound
from custos.domain.masking import Box, MaskKind, StaticZone
from custos.domain.publication import AddedRegion, ProposedTrack
from custos.domain.rules.publication import PublicationDuty
from tests.unit.masking.test_publication_package import _case


def _region(x: int) -> AddedRegion:
    return AddedRegion(0, 3, Box(x, 10, x + 20, 30), f"at {x}")


def test_ids_are_given_in_order_and_never_reused_after_a_removal() -> None:
    case = _case()
    changes = case.edit(add_regions=[_region(0), _region(100)])
    assert [r["id"] for r in changes["regions_added"]] == [0, 1]
    assert case.remove_region(0).box == Box(0, 10, 20, 30)
    with pytest.raises(NotFound):
        case.remove_region(0)  # already taken back: not the region now first
    case.edit(add_regions=[_region(200)])
    assert [r.id for r in case.regions] == [1, 2]
    assert case.remove_region(2).box.x0 == 200
    assert [source for source, _ in case.boxes_at(1)] == ["region:1"]


def test_an_edit_reports_only_what_it_changed() -> None:
    case = _case()
    case.tracks = [ProposedTrack(n, MaskKind.FACE, ((0, Box(0, 0, 9, 9)),)) for n in (1, 2)]
    assert case.edit(remove_tracks={1, 2}) == {"tracks_removed": [1, 2]}
    assert case.edit(remove_tracks={1}, restore_tracks={2}) == {"tracks_restored": [2]}
    zone, sign = StaticZone(0, 0, 0.5, 0.5, "a"), StaticZone(0.5, 0.5, 1, 1, "b")
    assert case.edit(zones=[zone]) == {"zones_added": [zone.as_dict()]}
    assert case.edit(zones=[zone]) == {}  # the same zones: nothing changed
    assert case.edit(zones=[sign]) == {
        "zones_added": [sign.as_dict()],
        "zones_removed": [zone.as_dict()],
    }


def test_no_region_is_removed_once_the_case_is_approved() -> None:
    case = _case()
    case.edit(add_regions=[_region(0)])
    case.approve(2, "reviewer", datetime(2026, 12, 7, 4, tzinfo=UTC), frozenset(), _no_duty())
    with pytest.raises(Conflict):
        case.remove_region(0)
    assert case.approval_detail()["regions"] == [0]


def test_a_case_stored_before_region_ids_gets_them_by_position() -> None:
    case = _case()
    case.edit(add_regions=[_region(0), _region(100)])
    body = to_json(case)
    for r in body["regions"]:
        del r["id"]
    del body["next_region_id"]
    old = from_json(4, body)
    assert [r.id for r in old.regions] == [0, 1] and old.next_region_id == 2
    old.edit(add_regions=[_region(200)])
    assert [r.id for r in old.regions] == [0, 1, 2]
    again = from_json(4, to_json(old))
    assert again.regions == old.regions and again.next_region_id == 3


def _no_duty() -> PublicationDuty:
    return PublicationDuty({})
