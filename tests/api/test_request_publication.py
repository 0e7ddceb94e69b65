"""An access request for publication (公开传播), through the API on SQLite and PostgreSQL: refused
without the packs' masking (the fields and articles, in the user's language); executed, it
opens a publication case linked to it, the organ is refused the original and, once the case is
reviewed and released, gets the masked signed copy that custos-verify accepts."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from custos.domain.audit import Outcome
from custos.domain.register import RegisterKind, RegisterQuery
from custos.services.publication_jobs import PublicationJobs
from tests.api.access_world import XIAN, World, request_body
from tests.api.builders import API
from tests.api.test_access_requests import attach_document, post

VERIFY = Path(sys.executable).with_name("custos-verify")
EVERYTHING = ["faces", "plates", "organisation_names", "individual_features"]
ARTICLES = "national-2025:art22, xian-2020:art28"


def _file(w: World, body: dict[str, Any], lang: str = "en") -> Any:
    headers = {**w.people["officer"], "Accept-Language": lang}
    return w.client.post(f"{API}/requests", json=body, headers=headers)


def _own_requests(w: World) -> list[dict[str, Any]]:
    r = w.client.get(f"{API}/requests", headers=w.people["officer"])
    assert r.status_code == 200, r.text
    return list(r.json())


def test_a_request_for_publication_without_the_masking_is_refused_with_the_articles(
    world: World,
) -> None:
    w = world
    body = request_body(w, XIAN, "copy", publication={"mask": ["faces"]})
    refused = _file(w, body, lang="zh-CN")
    assert refused.status_code == 422, refused.text
    by_field = {e["field"]: e for e in refused.json()["errors"]}
    assert set(by_field) == {
        "publication.mask.plates",
        "publication.mask.organisation_names",
        "publication.mask.individual_features",
    }
    assert by_field["publication.mask.plates"]["rule_id"] == ARTICLES
    assert by_field["publication.mask.organisation_names"]["rule_id"] == "national-2025:art22"
    assert "必须遮蔽" in by_field["publication.mask.plates"]["text"]  # the user's language
    english = _file(w, body).json()["errors"][0]
    assert english["text"].startswith("A copy for public dissemination must mask")
    assert _own_requests(w) == []  # nothing stored

    # a view hands nothing over to publish (several cameras are allowed: one case each,
    # tests/api/test_publication_cameras.py)
    view = _file(w, request_body(w, XIAN, "view", publication={"mask": EVERYTHING}))
    assert view.status_code == 422
    assert [e["field"] for e in view.json()["errors"]] == ["publication"]
    assert _own_requests(w) == []

    # a draft given the ask later: refused the same way, its ask unchanged
    plain = _file(w, request_body(w, XIAN, "copy"))
    assert plain.status_code == 201, plain.text
    assert plain.json()["publication"] is None
    url = f"{API}/requests/{plain.json()['id']}"
    patch = w.client.patch(
        url, json={"publication": {"mask": ["faces", "plates"]}}, headers=w.people["officer"]
    )
    assert patch.status_code == 422, patch.text
    assert "publication.mask.organisation_names" in {e["field"] for e in patch.json()["errors"]}
    assert w.client.get(url, headers=w.people["officer"]).json()["publication"] is None
    ask = {"mask": EVERYTHING, "mode": "blur"}
    patched = w.client.patch(url, json={"publication": ask}, headers=w.people["officer"])
    assert patched.status_code == 200, patched.text
    assert patched.json()["publication"] == {"mask": sorted(EVERYTHING), "mode": "blur"}
    assert patched.json()["request_hash"] != plain.json()["request_hash"]  # approvals vouch
    back = w.client.patch(url, json={"publication": None}, headers=w.people["officer"])
    assert back.json()["request_hash"] == plain.json()["request_hash"]


def test_a_request_without_publication_is_unchanged(world: World) -> None:
    w = world
    r = _file(w, request_body(w, XIAN, "copy"))
    assert r.status_code == 201, r.text
    assert r.json()["publication"] is None and r.json()["publication_case"] is None
    with w.container.uow() as uow:
        stored = uow.access_requests.get(int(r.json()["id"]))
    assert stored is not None
    assert stored.extra == {} and "publication" not in stored.content()
    assert r.json()["request_hash"] == stored.canonical_hash()


def _approved_for_publication(w: World) -> dict[str, Any]:
    ask = {"mask": EVERYTHING}
    body = request_body(w, XIAN, "copy", publication=ask)
    body["scope"] = {"camera_ids": [w.cameras[XIAN]], **w.range(0, 10)}
    r = _file(w, body)
    assert r.status_code == 201, r.text
    req = r.json()
    assert attach_document(w, req["id"]).status_code == 200
    assert post(w, f"/requests/{req['id']}/submit", "officer").status_code == 200
    r = post(w, f"/requests/{req['id']}/approve", "head")
    assert r.status_code == 200 and r.json()["state"] == "approved", r.text
    return dict(r.json())


@pytest.mark.slow  # an export, detection and an H.264 re-encode
def test_an_executed_request_for_publication_yields_the_masked_copy_not_the_original(
    world: World,
) -> None:
    w, officer, reviewer = world, world.people["officer"], world.people["head"]
    req = _approved_for_publication(w)
    url = f"{API}/requests/{req['id']}"
    out = post(w, f"/requests/{req['id']}/execute", "officer")
    assert out.status_code == 200, out.text
    case_id = out.json()["publication_case_id"]
    assert case_id is not None and out.json()["kind"] == "export"

    # the case: opened on the original, linked to the request, detecting in the background
    case = w.client.get(f"{API}/publications/{case_id}", headers=reviewer).json()
    assert case["state"] == "detecting" and case["request_id"] == req["id"]
    assert case["export_id"] == out.json()["export_id"]
    assert case["source_sha256"] == out.json()["sha256"] and case["requested_by"] == "officer"
    shown = w.client.get(url, headers=officer).json()
    assert shown["publication_case"]["id"] == case_id
    assert shown["publication_case"]["state"] == "detecting"
    assert shown["publication_case"]["file"] is None

    # the original is not handed to the organ, naming the rule
    original = w.client.get(f"{API}/exports/{out.json()['export_id']}/file", headers=officer)
    assert original.status_code == 409, original.text
    (error,) = original.json()["errors"]
    assert error["field"] == "export_id" and error["rule_id"] == ARTICLES
    assert "遮蔽副本" in error["text"] and "masked copy" in error["reason"]  # zh by default
    with w.container.uow() as uow:
        refused = [e for _, e in uow.audit.find(limit=1000) if e.outcome is Outcome.REFUSED]
    assert [e.action for e in refused] == ["export.download"]  # the attempt is logged
    assert refused[0].detail["rule_id"] == ARTICLES
    early = w.client.get(f"{url}/publication/file", headers=officer)
    assert early.status_code == 409  # not released yet

    # review, approve, release as any case (the job runner's one pass instead of waiting)
    jobs = PublicationJobs(w.container.publications)
    assert jobs.run_pending() == 1
    case_url = f"{API}/publications/{case_id}"
    confirmed = {"confirmed": ["organisation_names", "individual_features"]}
    assert w.client.post(f"{case_url}/approve", json=confirmed, headers=reviewer).status_code == 200
    assert w.client.post(f"{case_url}/release", headers=reviewer).status_code == 202
    assert jobs.run_pending() == 1

    shown = w.client.get(url, headers=officer).json()
    released = shown["publication_case"]
    assert released["state"] == "released" and released["package_sha256"]
    assert released["file"] == f"/api/v1/requests/{req['id']}/publication/file"
    got = w.client.get(f"{url}/publication/file", headers=officer)
    assert got.status_code == 200, got.text
    assert hashlib.sha256(got.content).hexdigest() == released["package_sha256"]
    assert w.client.get(f"{url}/publication/file", headers=reviewer).status_code in (403, 404)

    with w.container.uow() as uow:
        (entry,) = uow.register.find(RegisterQuery(kind=RegisterKind.PUBLICATION))
        log = [e for _, e in uow.audit.find(limit=1000) if e.object_id == str(case_id)]
    assert entry.request_id == req["id"] and entry.output_sha256 == released["package_sha256"]
    actions = [e.action for e in log if e.object_type == "publication"]
    assert "publication.release" in actions and "publication.download" in actions

    path = Path(w.container.settings.data_dir) / "organ.zip"
    path.write_bytes(got.content)
    assert VERIFY.exists(), "custos-verify is installed with the project (verifier/)"
    keys = w.client.get(f"{API}/keys").json()
    (fp,) = [k["fingerprint"] for k in keys if k["kind"] == "export" and k["current"]]
    run = subprocess.run(
        [str(VERIFY), str(path), "--fingerprint", fp],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert "kind publication" in run.stdout
