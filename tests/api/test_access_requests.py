"""Access by registered request, end to end through the API, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import zipfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from custos.adapters.db.access_tables import access_requests
from custos.bootstrap import Container
from custos.domain.access import Role
from custos.domain.audit import Outcome
from custos.domain.clock import ManualClock
from custos.domain.errors import ValidationFailed
from custos.domain.rules.terms import ApproverRole
from custos.domain.users import Principal
from tests.api.access_world import (
    BEIJING,
    SHENYANG,
    TONGCHUAN,
    XIAN,
    World,
    handlers,
    request_body,
)
from tests.api.builders import API, rule_ids

HEAD = ApproverRole.HEAD_OF_POLICE_COUNTY_PLUS


def refused_actions(container: Container) -> list[str]:
    with container.uow() as uow:
        entries = uow.audit.find(limit=100_000)
    return [e.action for _, e in entries if e.outcome is Outcome.REFUSED]


def file_request(w: World, division: str, action: str, **over: Any) -> dict[str, Any]:
    r = w.client.post(
        f"{API}/requests",
        json=request_body(w, division, action, **over),
        headers=w.people["officer"],
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def attach_document(w: World, request_id: int, content: bytes = b"%PDF-1.4 approval") -> Any:
    return w.client.post(
        f"{API}/requests/{request_id}/document",
        data={
            "number": "雁公刑审〔2026〕118号",
            "issuer": "西安市公安局雁塔分局",
            "issued_on": "2026-11-19",
        },
        files={"file": ("approval.pdf", content, "application/pdf")},
        headers=w.people["officer"],
    )


def post(w: World, path: str, who: str, body: dict[str, Any] | None = None) -> Any:
    return w.client.post(f"{API}{path}", json=body or {}, headers=w.people[who])


def approved_request(w: World, division: str, action: str, **over: Any) -> dict[str, Any]:
    req = file_request(w, division, action, **over)
    if action != "view" or division == SHENYANG:
        assert attach_document(w, req["id"]).status_code == 200
    r = post(w, f"/requests/{req['id']}/submit", "officer")
    assert r.status_code == 200, r.text
    approver = "head" if r.json()["required_titles"] else "plain-approver"
    r = post(w, f"/requests/{req['id']}/approve", approver)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "approved"
    return dict(r.json())


# ---- refusals: each with its reason and articles, each logged, nothing changed ----------------
def test_one_handler_is_refused_with_the_articles(world: World) -> None:
    req = file_request(world, XIAN, "copy", handlers=handlers("王警官", credential="work_id"))
    assert attach_document(world, req["id"]).status_code == 200
    r = post(world, f"/requests/{req['id']}/submit", "officer")
    assert r.status_code == 422
    assert {"xian-2020:art27.p2.i1", "shaanxi-2011:art18.i1"} <= rule_ids(r.json())
    assert (
        world.client.get(f"{API}/requests/{req['id']}", headers=world.people["officer"]).json()[
            "state"
        ]
        == "draft"
    )
    assert "request.submit" in refused_actions(world.container)


def test_missing_approval_document_is_refused_where_required(world: World) -> None:
    req = file_request(world, XIAN, "retrieve")
    r = post(world, f"/requests/{req['id']}/submit", "officer")
    assert r.status_code == 422
    errors = r.json()["errors"]
    assert {e["field"] for e in errors} == {"document"}
    assert "xian-2020:art27.p3" in rule_ids(r.json())


def test_liaoning_requires_the_document_even_to_view(world: World) -> None:
    req = file_request(world, SHENYANG, "view")
    r = post(world, f"/requests/{req['id']}/submit", "officer")
    assert r.status_code == 422
    assert "liaoning-2008:art18.i2" in rule_ids(r.json())


def test_a_credential_no_pack_accepts_is_refused(world: World) -> None:
    req = file_request(
        world, XIAN, "view", handlers=handlers("王警官", "李警官", credential="certifying_document")
    )
    r = post(world, f"/requests/{req['id']}/submit", "officer")
    assert r.status_code == 422
    assert "handlers[0].credentials" in {e["field"] for e in r.json()["errors"]}
    assert "xian-2020:art27.p2.i2" in rule_ids(r.json())


@pytest.mark.parametrize(
    ("division", "shown", "article"),
    [
        (BEIJING, ("work_id",), "beijing-2007:art17.i2"),
        (XIAN, ("law_enforcement_id", "work_id"), "xian-2020:art27.p2.i2"),
    ],
)
def test_a_handler_with_the_work_id_alone_is_refused_where_two_papers_are_required(
    world: World, division: str, shown: tuple[str, ...], article: str
) -> None:
    req = file_request(
        world, division, "view", handlers=handlers("王警官", "李警官", credential=shown)
    )
    r = post(world, f"/requests/{req['id']}/submit", "officer")
    assert r.status_code == 422
    refused = [e for e in r.json()["errors"] if e["field"] == "handlers[0].credentials"]
    assert [e["rule_id"] for e in refused] == [article]
    assert (
        world.client.get(f"{API}/requests/{req['id']}", headers=world.people["officer"]).json()[
            "state"
        ]
        == "draft"
    )


def test_a_handler_shows_both_papers_and_the_request_goes_through(world: World) -> None:
    papers = ("work_id", "certifying_document")
    req = file_request(
        world, BEIJING, "view", handlers=handlers("王警官", "李警官", credential=papers)
    )
    assert [c["type"] for c in req["handlers"][0]["credentials"]] == list(papers)
    r = post(world, f"/requests/{req['id']}/submit", "officer")
    assert r.status_code == 200, r.text


def test_beijing_gives_government_departments_access_only_in_emergencies(world: World) -> None:
    # The national Decree (art. 20) entitles departments to view and retrieve, so Beijing's
    # emergency-only rule (art. 16) does not narrow a retrieval; copying is another matter only
    # where no pack entitles it — the reading is in docs/design/approvals.md.
    consent = {
        "unit_id": world.unit_id, "given_by": "物业经理 陈某", "given_on": "2026-11-19",
        "relation": "self",
    }  # fmt: skip
    req = file_request(world, BEIJING, "view", requester_kind="data_subject", consents=[consent])
    r = post(world, f"/requests/{req['id']}/submit", "officer")
    assert r.status_code == 200, r.text  # national-2025 art. 21: with the unit's consent


def test_a_camera_the_requester_cannot_see_is_refused_and_logged(world: World) -> None:
    world.person("xian-officer", Role.OFFICER, jurisdiction="610100")
    body = request_body(world, BEIJING, "view")
    r = world.client.post(f"{API}/requests", json=body, headers=world.people["xian-officer"])
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "scope.camera_ids[0]"
    assert "request.create" in refused_actions(world.container)
    body = request_body(world, XIAN, "view")
    r = world.client.post(f"{API}/requests", json=body, headers=world.people["xian-officer"])
    assert r.status_code == 201, r.text


# ---- the two-person rule and titles ----------------------------------------------------------
def test_approval_by_the_requester_or_a_handler_or_the_wrong_title_is_refused(world: World) -> None:
    w = world
    w.person("officer-approver", Role.APPROVER, full_name="王警官", title=HEAD)  # also a handler
    req = file_request(w, XIAN, "copy")
    assert attach_document(w, req["id"]).status_code == 200
    r = post(w, f"/requests/{req['id']}/submit", "officer")
    assert r.status_code == 200, r.text
    assert r.json()["required_titles"] == [HEAD.value]
    assert "xian-2020:art27.p1" in r.json()["citations"]

    assert post(w, f"/requests/{req['id']}/approve", "officer").status_code == 403  # no APPROVE
    assert "access.denied" in refused_actions(w.container)
    r = post(w, f"/requests/{req['id']}/approve", "officer-approver")
    assert r.status_code == 422 and "handler" in r.json()["errors"][0]["reason"]
    r = post(w, f"/requests/{req['id']}/approve", "plain-approver")
    assert r.status_code == 422
    assert "xian-2020:art27.p1" in rule_ids(r.json())
    r = post(w, f"/requests/{req['id']}/approve", "head", {"note": "同意"})
    assert r.status_code == 200 and r.json()["state"] == "approved"
    approval = r.json()["approvals"][0]
    assert approval["request_hash"] == r.json()["request_hash"] and approval["signature"]
    refused = refused_actions(w.container)
    assert refused.count("request.approve") == 2


def test_the_requester_cannot_approve_even_with_every_permission(world: World) -> None:
    w = world
    req = file_request(w, TONGCHUAN, "view")
    assert post(w, f"/requests/{req['id']}/submit", "officer").status_code == 200
    # No role both files and approves; were one to (role None: every permission), the
    # two-person rule in the service still refuses the requester.
    everything = Principal(w.user_ids["officer"], "officer", None, None, approver_title=HEAD)
    with pytest.raises(ValidationFailed) as refused:
        w.container.requests.approve(everything, req["id"])
    assert "requester" in str(refused.value)
    assert "request.approve" in refused_actions(w.container)


# ---- grants: used once, time-boxed, bounded by scope -----------------------------------------
def test_a_copy_grant_yields_a_package_once_and_registers_it(world: World, tmp_path: Path) -> None:
    w = world
    req = approved_request(w, XIAN, "copy")
    r = post(w, f"/requests/{req['id']}/execute", "officer")
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["kind"] == "export" and len(out["sha256"]) == 64
    again = post(w, f"/requests/{req['id']}/execute", "officer")
    assert again.status_code == 422
    assert "used once" in again.json()["errors"][0]["reason"]

    d = w.client.get(f"{API}/exports/{out['export_id']}/file", headers=w.people["officer"])
    assert d.status_code == 200
    assert hashlib.sha256(d.content).hexdigest() == out["sha256"]
    z = zipfile.ZipFile(io.BytesIO(d.content))
    manifest = json.loads(z.read("manifest.json"))  # custos-evidence/1 (docs/design/evidence.md)
    assert manifest["kind"] == "copy" and manifest["request"]["organ"].startswith("西安市公安局")
    assert len(manifest["sources"]) == 3
    assert manifest["sources"][-1]["cut"] == {"whole": False, "from_ms": 0, "to_ms": 5000}
    (camera,) = manifest["cameras"]  # the range ends 5 s into the third segment
    member = tmp_path / "camera.mp4"
    member.write_bytes(z.read(camera["file"]))
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(member)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    asked = manifest["range_asked"]
    span = datetime.fromisoformat(asked["end"]) - datetime.fromisoformat(asked["start"])
    assert abs(float(probe.stdout) - span.total_seconds()) <= 0.05

    reg = w.client.get(f"{API}/register", params={"request_id": req["id"]}, headers=w.admin).json()
    kinds = {e["kind"] for e in reg}
    assert kinds == {"copy", "download"}
    copy = next(e for e in reg if e["kind"] == "copy")
    assert copy["output_sha256"] == out["sha256"]
    assert [p["name"] for p in copy["persons"]] == ["赵警官", "王警官", "李警官"]
    assert copy["organ"] == "西安市公安局雁塔分局"


def test_a_view_grant_is_refused_one_second_outside_its_scope(world: World) -> None:
    w = world
    req = approved_request(w, TONGCHUAN, "view")
    out = post(w, f"/requests/{req['id']}/execute", "officer").json()
    sid, cam = out["session_id"], req["scope"]["camera_ids"][0]
    inside = {"camera_id": cam, **w.range(0, 25)}
    r = w.client.get(f"{API}/sessions/{sid}/segments", params=inside, headers=w.people["officer"])
    assert r.status_code == 200 and len(r.json()) == 3
    late = {"camera_id": cam, **w.range(0, 26)}
    r = w.client.get(f"{API}/sessions/{sid}/segments", params=late, headers=w.people["officer"])
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "end"
    early = {"camera_id": cam, **w.range(-1, 10)}
    r = w.client.get(f"{API}/sessions/{sid}/segments", params=early, headers=w.people["officer"])
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "start"
    assert "session.read" in refused_actions(w.container)
    seg_id = w.client.get(
        f"{API}/sessions/{sid}/segments", params=inside, headers=w.people["officer"]
    ).json()[2]["id"]
    media = w.client.get(
        f"{API}/sessions/{sid}/segments/{seg_id}/media", headers=w.people["officer"]
    )
    assert media.status_code == 200 and media.content[4:8] == b"ftyp"
    # someone else cannot use the session
    w.person("other-officer", Role.OFFICER)
    r = w.client.get(
        f"{API}/sessions/{sid}/segments", params=inside, headers=w.people["other-officer"]
    )
    assert r.status_code == 404


def test_a_grant_after_its_expiry_is_refused(world: World) -> None:
    w = world
    expires = w.container.clock.now() + timedelta(hours=2)
    req = approved_request(w, TONGCHUAN, "view", expires_at=expires.isoformat())
    clock = w.container.clock
    assert isinstance(clock, ManualClock)
    clock.advance(timedelta(hours=2, seconds=1))
    r = post(w, f"/requests/{req['id']}/execute", "officer")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "expires_at"
    state = w.client.get(f"{API}/requests/{req['id']}", headers=w.people["officer"]).json()["state"]
    assert state == "expired"


def test_a_request_changed_after_approval_cannot_be_executed(world: World) -> None:
    w = world
    req = approved_request(w, TONGCHUAN, "view")
    with w.container.engine.begin() as conn:  # someone edits the database behind Custos's back
        body = json.loads(
            conn.execute(
                select(access_requests.c.body).where(access_requests.c.id == req["id"])
            ).scalar_one()
        )
        body["scope"]["end"] = body["scope"]["end"].replace(":25", ":59")
        conn.execute(
            update(access_requests)
            .where(access_requests.c.id == req["id"])
            .values(body=json.dumps(body))
        )
    v = w.client.get(f"{API}/requests/{req['id']}/verification", headers=w.people["officer"]).json()
    assert v["valid"] is False and "void" in v["problems"][0]
    r = post(w, f"/requests/{req['id']}/execute", "officer")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "approvals"


def test_pending_and_approved_requests_freeze_their_footage(world: World) -> None:
    w = world
    draft = file_request(w, TONGCHUAN, "view")
    assert w.container.requests.frozen_scopes() == []
    post(w, f"/requests/{draft['id']}/submit", "officer")
    [scope] = w.container.requests.frozen_scopes()
    assert scope.camera_ids == (w.cameras[TONGCHUAN],)
    post(w, f"/requests/{draft['id']}/approve", "plain-approver")
    assert len(w.container.requests.frozen_scopes()) == 1
    post(w, f"/requests/{draft['id']}/execute", "officer")
    assert w.container.requests.frozen_scopes() == []


def test_emergency_requests_are_short_lived(world: World) -> None:
    w = world
    now = w.container.clock.now()
    body = request_body(
        w, SHENYANG, "view", requester_kind="gov_dept", emergency="natural_disaster",
        expires_at=(now + timedelta(days=5)).isoformat(),
    )  # fmt: skip
    r = w.client.post(f"{API}/requests", json=body, headers=w.people["officer"])
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "expires_at"


# ---- staff: purpose, live sessions, the register ----------------------------------------------
def test_staff_playback_needs_a_purpose_and_is_registered(world: World) -> None:
    w = world
    op = w.person("operator1", Role.OPERATOR, full_name="值班员甲", unit_id=w.unit_id)
    cam = w.cameras[XIAN]
    body = {"camera_ids": [cam], **w.range(0, 20), "purpose": " "}
    r = w.client.post(f"{API}/playback/sessions", json=body, headers=op)
    assert r.status_code == 422
    assert rule_ids(r.json()) == {"national-2025:art16.p2.i3"}
    body["purpose"] = "核查顾客投诉 (customer complaint 17)"
    r = w.client.post(f"{API}/playback/sessions", json=body, headers=op)
    assert r.status_code == 201, r.text
    [entry] = w.client.get(f"{API}/register", params={"kind": "playback"}, headers=w.admin).json()
    assert entry["purpose"].startswith("核查") and entry["persons"][0]["name"] == "值班员甲"
    assert entry["camera_ids"] == [cam]


def test_live_view_sessions_register_who_watched_what_from_when_to_when(world: World) -> None:
    w = world
    op = w.person("operator1", Role.OPERATOR, unit_id=w.unit_id)
    cams = [w.cameras[XIAN], w.cameras[BEIJING]]
    r = w.client.post(f"{API}/live/sessions", json={"camera_ids": cams}, headers=op)
    assert r.status_code == 201, r.text
    clock = w.container.clock
    assert isinstance(clock, ManualClock)
    clock.advance(timedelta(minutes=30))
    r = w.client.post(f"{API}/live/sessions/{r.json()['id']}/close", headers=op)
    assert r.status_code == 200
    [entry] = w.client.get(f"{API}/register", params={"kind": "live_view"}, headers=w.admin).json()
    assert entry["camera_ids"] == cams and entry["ended_at"] is not None


def test_an_operator_scoped_to_one_camera_sees_only_that_camera(world: World) -> None:
    w = world
    mine = w.cameras[XIAN]
    op = w.person("narrow", Role.OPERATOR, unit_id=w.unit_id, scopes=(f"camera:{mine}",))
    listed = w.client.get(f"{API}/cameras", headers=op).json()
    assert [c["id"] for c in listed] == [mine]
    r = w.client.post(f"{API}/live/sessions", json={"camera_ids": [w.cameras[BEIJING]]}, headers=op)
    assert r.status_code == 422


def test_the_register_exports_as_csv_and_a_printable_form(world: World) -> None:
    w = world
    req = approved_request(w, XIAN, "retrieve")
    out = post(w, f"/requests/{req['id']}/execute", "officer").json()
    csv_text = w.client.get(f"{API}/register/export.csv", headers=w.admin)
    assert csv_text.status_code == 200 and csv_text.headers["content-type"].startswith("text/csv")
    assert out["sha256"] in csv_text.text and "调取 retrieve" in csv_text.text
    form = w.client.get(f"{API}/register/form", headers=w.admin)
    assert form.status_code == 200 and "登记表" in form.text and out["sha256"] in form.text
    auditor = w.person("auditor", Role.AUDITOR)
    assert w.client.get(f"{API}/register", headers=auditor).status_code == 200
    assert w.client.get(f"{API}/register", headers=w.people["officer"]).status_code == 403


def test_a_scope_with_an_id_no_database_holds_is_refused_naming_it(world: World) -> None:
    w = world
    user_id = w.user_ids["officer"]
    body = {"scopes": [f"camera:{w.cameras[XIAN]}", "camera:²", f"site:{2**64}", "unit:0"]}
    r = w.client.put(f"{API}/users/{user_id}/profile", json=body, headers=w.admin)
    assert r.status_code == 422, r.text
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {"scopes[1]", "scopes[2]", "scopes[3]"}
