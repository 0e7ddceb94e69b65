"""Refusals that were right but cited nothing now cite their articles (issue 11 §6).

The walk over src/ in tests/unit/test_refusals_cite_rules.py names these tests as the ones that
drive each refusal path.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from custos.domain.errors import RuleRefusal
from custos.domain.users import Principal
from tests.api.access_world import CHONGQING, SHENYANG, TONGCHUAN, World
from tests.api.builders import API, address_code, camera_body, make_site, make_unit, rule_ids
from tests.api.test_access_requests import (
    HEAD,
    approved_request,
    attach_document,
    file_request,
    post,
    refused_actions,
)


def _state(w: World, request_id: int) -> str:
    r = w.client.get(f"{API}/requests/{request_id}", headers=w.people["officer"])
    return str(r.json()["state"])


def test_the_requester_approving_cites_shaanxi_art17(world: World) -> None:
    w = world
    req = file_request(w, TONGCHUAN, "copy")
    assert attach_document(w, req["id"]).status_code == 200
    assert post(w, f"/requests/{req['id']}/submit", "officer").status_code == 200
    # were the requester to hold every permission and the title, the two-person rule still
    # refuses, citing the article that puts the approval in another's hands
    everything = Principal(w.user_ids["officer"], "officer", None, None, approver_title=HEAD)
    with pytest.raises(RuleRefusal) as refused:
        w.container.requests.approve(everything, req["id"])
    assert refused.value.rule_ids == ["shaanxi-2011:art17.p1"]
    assert "requester" in str(refused.value)
    assert _state(w, req["id"]) == "submitted"
    assert "request.approve" in refused_actions(w.container)


def test_reading_outside_a_grant_cites_the_scope_articles(world: World) -> None:
    w = world
    req = approved_request(w, CHONGQING, "view")
    out = post(w, f"/requests/{req['id']}/execute", "officer").json()
    sid, cam = out["session_id"], req["scope"]["camera_ids"][0]
    late = {"camera_id": cam, **w.range(0, 26)}
    r = w.client.get(f"{API}/sessions/{sid}/segments", params=late, headers=w.people["officer"])
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"end"}
    assert {"chongqing-2016:art25.p2.i4", "national-2025:art20"} <= rule_ids(r.json())
    inside = {"camera_id": cam, **w.range(0, 25)}
    r = w.client.get(f"{API}/sessions/{sid}/segments", params=inside, headers=w.people["officer"])
    assert r.status_code == 200 and len(r.json()) == 3


def _emergency_view(w: World) -> dict[str, Any]:
    """A government department's emergency view in Shenyang (Liaoning art. 17 ¶2)."""
    expires = w.container.clock.now() + timedelta(hours=24)
    return file_request(
        w, SHENYANG, "view", requester_kind="gov_dept", emergency="natural_disaster",
        expires_at=expires.isoformat(),
    )  # fmt: skip


def test_an_emergency_view_in_liaoning_without_the_document_cites_art17_and_art18(
    world: World,
) -> None:
    w = world
    req = _emergency_view(w)
    r = post(w, f"/requests/{req['id']}/submit", "officer")
    assert r.status_code == 422
    cited = {e["rule_id"] for e in r.json()["errors"] if e["field"] == "document"}
    assert cited == {"liaoning-2008:art18.i2", "liaoning-2008:art17.p2"}
    assert _state(w, req["id"]) == "draft"


def test_an_emergency_view_in_liaoning_is_not_executed_unapproved(world: World) -> None:
    w = world
    req = _emergency_view(w)
    assert attach_document(w, req["id"]).status_code == 200
    r = post(w, f"/requests/{req['id']}/submit", "officer")
    assert r.status_code == 200, r.text
    r = post(w, f"/requests/{req['id']}/execute", "officer")
    assert r.status_code == 422
    assert rule_ids(r.json()) == {"liaoning-2008:art17.p2", "liaoning-2008:art18.i2"}
    assert _state(w, req["id"]) == "submitted"
    assert "request.execute" in refused_actions(w.container)


def test_classifying_a_site_with_an_internet_camera_cites_xian_art20(
    client: TestClient, admin: dict[str, str]
) -> None:
    unit = make_unit(client, admin, kind="government_organ")
    site = make_site(client, admin, unit, "610113")
    internet = address_code("610113", 1, network="7")
    body = camera_body(site, "610113", address_code=internet)
    assert client.post(f"{API}/cameras", json=body, headers=admin).status_code == 201
    r = client.patch(f"{API}/sites/{site}", json={"is_classified": True}, headers=admin)
    assert r.status_code == 422
    assert "xian-2020:art20" in rule_ids(r.json())
    assert client.get(f"{API}/sites/{site}", headers=admin).json()["is_classified"] is False
