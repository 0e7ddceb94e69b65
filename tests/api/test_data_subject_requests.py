"""A data subject's or relative's view (Decree 799 art. 21): the management unit consents; the
authorities' rules (handlers, credentials, approval document) do not judge it."""

from __future__ import annotations

from typing import Any

from tests.api.access_world import CHONGQING, World
from tests.api.builders import rule_ids
from tests.api.test_access_requests import file_request, post


def _subject_view(w: World, consents: list[dict[str, Any]]) -> dict[str, Any]:
    return file_request(
        w, CHONGQING, "view", requester_kind="data_subject", organ="李某 (本人之父)",
        legal_basis="", purpose="寻找走失的孩子 (a missing child)", handlers=[], consents=consents,
    )  # fmt: skip


def _consent(unit_id: int) -> dict[str, Any]:
    return {
        "unit_id": unit_id,
        "given_by": "物业经理 陈某",
        "given_on": "2026-11-19",
        "relation": "close_relative",
        "reference": "同意书 2026-07",
    }


def test_without_the_units_consent_it_is_refused_citing_art21_only(world: World) -> None:
    req = _subject_view(world, [])
    r = post(world, f"/requests/{req['id']}/submit", "officer")
    assert r.status_code == 422
    assert rule_ids(r.json()) == {"national-2025:art21"}
    assert {e["field"] for e in r.json()["errors"]} == {"consents"}


def test_consent_from_another_unit_is_refused(world: World) -> None:
    req = _subject_view(world, [_consent(world.unit_id + 1000)])
    r = post(world, f"/requests/{req['id']}/submit", "officer")
    assert r.status_code == 422
    assert rule_ids(r.json()) == {"national-2025:art21"}
    assert "has not consented" in r.json()["errors"][0]["reason"]


def test_with_the_units_consent_the_view_goes_through_and_is_executed(world: World) -> None:
    w = world
    req = _subject_view(w, [_consent(w.unit_id)])
    assert req["consents"][0]["relation"] == "close_relative"
    r = post(w, f"/requests/{req['id']}/submit", "officer")
    assert r.status_code == 200, r.text
    assert r.json()["citations"][0] == "national-2025:art21"
    assert post(w, f"/requests/{req['id']}/approve", "plain-approver").status_code == 200
    out = post(w, f"/requests/{req['id']}/execute", "officer")
    assert out.status_code == 200, out.text
    assert out.json()["kind"] == "session"


def test_a_data_subject_may_not_copy(world: World) -> None:
    req = file_request(
        world, CHONGQING, "copy", requester_kind="data_subject", handlers=[],
        consents=[_consent(world.unit_id)],
    )  # fmt: skip
    r = post(world, f"/requests/{req['id']}/submit", "officer")
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"requester_kind"}
