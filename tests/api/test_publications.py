"""The publication API: refused without the packs' masking, then propose → review → release."""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from custos.domain.access import Role
from custos.domain.evidence import MANIFEST
from custos.services.publication_jobs import PublicationJobs
from tests.api.access_world import XIAN, World
from tests.api.builders import API
from tests.verifier.builder import rezip

pytestmark = pytest.mark.slow  # an export, detection and an H.264 re-encode

PURPOSE = "公开通报 (public notice 3)"
VERIFY = Path(sys.executable).with_name("custos-verify")
ALL_TARGETS = ["faces", "plates", "organisation_names", "individual_features"]


def run_jobs(w: World) -> int:
    """The housekeeper's publication jobs, one pass (a fresh runner: as any server's)."""
    return PublicationJobs(w.container.publications).run_pending()


def _manager(w: World) -> dict[str, str]:
    return w.person("manager1", Role.UNIT_MANAGER, unit_id=w.unit_id)


def _only_zip(w: World) -> str:
    (one,) = (Path(w.container.settings.data_dir) / "exports").glob("*.zip")
    return one.name


def _export(w: World) -> int:
    body = {"camera_ids": [w.cameras[XIAN]], **w.range(0, 10), "purpose": PURPOSE}
    r = w.client.post(f"{API}/exports", json=body, headers=_manager(w))
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def test_publication_is_refused_without_masking_and_released_after_review(world: World) -> None:
    w, manager = world, _manager(world)
    export_id = _export(w)
    ask = {"export_id": export_id, "division_code": XIAN, "purpose": PURPOSE, "mask": ["faces"]}
    refused = w.client.post(f"{API}/publications", json=ask, headers=manager)
    assert refused.status_code == 422, refused.text
    by_field = {e["field"]: e for e in refused.json()["errors"]}
    assert by_field["publication.mask.plates"]["rule_id"] == "national-2025:art22, xian-2020:art28"
    assert "publication.mask.organisation_names" in by_field

    ask["mask"] = ["faces", "plates", "organisation_names", "individual_features"]
    r = w.client.post(f"{API}/publications", json=ask, headers=manager)
    assert r.status_code == 202, r.text  # detection runs in the background
    assert r.json()["state"] == "detecting" and r.json()["job"]["stage"] == "detect"
    url = f"{API}/publications/{r.json()['id']}"
    assert run_jobs(w) == 1
    case = w.client.get(url, headers=w.people["head"]).json()
    assert case["state"] == "proposed" and case["video"]["name"].startswith("video/")

    reviewer = w.people["head"]
    listed = w.client.get(f"{API}/publications", headers=reviewer)
    assert listed.status_code == 200 and [k["id"] for k in listed.json()] == [case["id"]]
    own = w.client.get(f"{API}/publications", headers=manager).json()
    assert [k["state"] for k in own] == ["proposed"]
    assert w.client.get(f"{API}/publications", headers=w.people["officer"]).status_code == 403
    frame = w.client.get(f"{url}/frame.jpg", params={"frame": 0}, headers=reviewer)
    assert frame.status_code == 200 and frame.headers["content-type"] == "image/jpeg"
    assert frame.content[:2] == b"\xff\xd8"  # a JPEG of the delivered, unmasked footage
    past = w.client.get(
        f"{url}/frame.jpg", params={"frame": case["video"]["frames"]}, headers=reviewer
    )
    assert past.status_code == 422
    assert w.client.get(f"{url}/frame.jpg", params={"frame": 0},
                        headers=w.people["officer"]).status_code == 403  # fmt: skip
    assert (
        w.client.get(f"{url}/frame.jpg", params={"frame": 1}, headers=reviewer).status_code == 200
    )
    log = w.client.get(f"{API}/audit/entries?limit=1000", headers=w.admin).json()["entries"]
    views = [e["entry"] for e in log if e["entry"]["action"] == "publication.view_unmasked"]
    assert len(views) == 1, views  # two frames seen, one entry: the window's first
    assert views[0]["object_id"] == str(case["id"]) and views[0]["detail"]["frame"] == 0
    review = {
        "add_regions": [{"first_frame": 0, "last_frame": 5, "box": [10, 10, 60, 40]}],
        "zones": [{"left": 0.0, "top": 0.0, "right": 0.3, "bottom": 0.1, "label": "招牌"}],
    }
    assert w.client.post(f"{url}/review", json=review, headers=reviewer).status_code == 200
    boxes = w.client.get(f"{url}/boxes", params={"frame": 3}, headers=reviewer).json()
    assert {"source": "region:0", "box": [10, 10, 60, 40]} in boxes  # region:<id>, the first
    bad = w.client.post(f"{url}/review", json={"add_regions": [
        {"first_frame": 0, "last_frame": 5, "box": [60, 10, 10, 40]}]}, headers=reviewer)  # fmt: skip
    assert bad.status_code == 422
    assert w.client.post(f"{url}/release", headers=reviewer).status_code == 409  # not approved
    unconfirmed = w.client.post(f"{url}/approve", json={"confirmed": []}, headers=reviewer)
    assert unconfirmed.status_code == 422
    confirmed = {"confirmed": ["organisation_names", "individual_features"]}
    assert w.client.post(f"{url}/approve", json=confirmed, headers=manager).status_code == 422
    approved = w.client.post(f"{url}/approve", json=confirmed, headers=reviewer)
    assert approved.status_code == 200 and approved.json()["state"] == "approved"
    queued = w.client.post(f"{url}/release", headers=reviewer)
    assert queued.status_code == 202, queued.text
    assert queued.json()["state"] == "rendering" and queued.json()["job"]["by"] == "head"
    assert run_jobs(w) == 1
    body = w.client.get(url, headers=reviewer).json()
    assert body["state"] == "released" and body["package_sha256"], body["job"]

    got = w.client.get(f"{url}/file", headers=reviewer)
    assert got.status_code == 200
    assert hashlib.sha256(got.content).hexdigest() == body["package_sha256"]
    path = Path(w.container.settings.data_dir) / "check.zip"
    path.write_bytes(got.content)
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read(MANIFEST))
        entry = json.loads(archive.read("log/entry.bin"))
        names = set(archive.namelist())
        sheet = archive.read("custody.pdf")
    assert manifest["format"] == "custos-evidence/1" and manifest["kind"] == "publication"
    assert manifest["original"]["package_sha256"] == case["source_sha256"]
    assert manifest["masking"]["reviewer"] == "head" and manifest["masking"]["zones"]
    assert manifest["register_entry_id"] is not None
    ((camera,),) = [manifest["cameras"]]
    assert camera["file"].startswith("video/") and camera["file"].endswith("-masked.mp4")
    assert {"log/proof.json", "log/checkpoint.json", "verify.html", camera["file"]} <= names
    assert entry["action"] == "export.package" and entry["detail"]["kind"] == "publication"
    assert entry["detail"]["original_sha256"] == case["source_sha256"]
    # the custody sheet: bound by the entry, stating the original, the masked video, the people
    assert entry["detail"]["custody_sha256"] == hashlib.sha256(sheet).hexdigest()
    text = re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(io.BytesIO(sheet)).pages))
    masked_sha256 = next(f["sha256"] for f in manifest["files"] if f["name"] == camera["file"])
    for fact in (case["source_sha256"], masked_sha256, "公开发布", "审核人head", "申请人manager1"):
        assert fact in text, fact
    assert manifest["masking"]["reviewed_at"] and "批准时间" in text

    # a journalist's check: custos-verify in its own process, the key as the server publishes it
    assert VERIFY.exists(), "custos-verify is installed with the project (verifier/)"
    keys = w.client.get(f"{API}/keys").json()
    (fp,) = [k["fingerprint"] for k in keys if k["kind"] == "export" and k["current"]]
    run = subprocess.run(
        [str(VERIFY), str(path), "--fingerprint", fp],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert "kind publication" in run.stdout and "custody sheet (custody.pdf)" in run.stdout
    # the sheet of the original export put in its place: caught, and named
    with zipfile.ZipFile(Path(w.container.settings.data_dir) / "exports" / _only_zip(w)) as z:
        theirs = z.read("custody.pdf")
    assert theirs != sheet
    swapped = rezip(path, path.with_name("swapped.zip"), replace={"custody.pdf": theirs})
    caught = subprocess.run(
        [str(VERIFY), str(swapped), "--fingerprint", fp],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert caught.returncode == 1, caught.stdout + caught.stderr
    assert "FAILED  entry: custody.pdf: its SHA-256 is not the one" in caught.stdout, caught.stdout
    original = Path(w.container.settings.data_dir) / "exports"
    (source,) = [p for p in original.glob("*.zip")]
    assert hashlib.sha256(source.read_bytes()).hexdigest() == case["source_sha256"]  # unaltered
    assert w.client.get(url, headers=w.people["officer"]).status_code == 403


def _log(w: World, case_id: int, action: str) -> list[dict[str, Any]]:
    """The operation-log entries of one case with ``action``, oldest first."""
    r = w.client.get(f"{API}/audit/entries?limit=1000", headers=w.admin)
    assert r.status_code == 200, r.text
    records = sorted(r.json()["entries"], key=lambda e: int(e["seq"]))
    found = [e["entry"] for e in records]
    return [e for e in found if e["action"] == action and e["object_id"] == str(case_id)]


def test_an_added_region_is_taken_back_by_its_id_and_every_edit_is_logged(world: World) -> None:
    w, manager, reviewer = world, _manager(world), world.people["head"]
    ask = {"export_id": _export(w), "division_code": XIAN, "purpose": PURPOSE,
           "mask": ALL_TARGETS}  # fmt: skip
    r = w.client.post(f"{API}/publications", json=ask, headers=manager)
    assert r.status_code == 202, r.text
    case_id = r.json()["id"]
    assert run_jobs(w) == 1
    url = f"{API}/publications/{case_id}"
    first = {"first_frame": 0, "last_frame": 5, "box": [10, 10, 60, 40], "note": "a"}
    second = {"first_frame": 2, "last_frame": 3, "box": [100, 20, 140, 60], "note": "b"}
    third = {"first_frame": 1, "last_frame": 4, "box": [200, 30, 230, 70], "note": "c"}
    added = w.client.post(f"{url}/review", json={"add_regions": [first, second]}, headers=reviewer)
    assert added.status_code == 200, added.text
    assert added.json()["regions"] == [{"id": 0, **first}, {"id": 1, **second}]

    officer = w.people["officer"]  # no publication.review
    assert w.client.delete(f"{url}/regions/0", headers=officer).status_code == 403
    assert w.client.delete(f"{url}/regions/2", headers=reviewer).status_code == 404
    assert w.client.delete(f"{url}/regions/-1", headers=reviewer).status_code == 422
    assert [g["id"] for g in w.client.get(url, headers=reviewer).json()["regions"]] == [0, 1]

    removed = w.client.delete(f"{url}/regions/0", headers=reviewer)
    assert removed.status_code == 200, removed.text
    assert removed.json()["regions"] == [{"id": 1, **second}]  # the other keeps its id
    again = w.client.delete(f"{url}/regions/0", headers=reviewer)
    assert again.status_code == 404, again.text  # already taken back: never the one now first
    boxes = w.client.get(f"{url}/boxes", params={"frame": 3}, headers=reviewer).json()
    assert [b for b in boxes if b["source"].startswith("region:")] == [
        {"source": "region:1", "box": second["box"]}
    ]
    later = w.client.post(f"{url}/review", json={"add_regions": [third]}, headers=reviewer)
    assert [g["id"] for g in later.json()["regions"]] == [1, 2]  # 0 is not given again
    assert w.client.delete(f"{url}/regions/1", headers=reviewer).status_code == 200
    assert w.client.delete(f"{url}/regions/1", headers=reviewer).status_code == 404
    assert w.client.get(url, headers=reviewer).json()["regions"] == [{"id": 2, **third}]  # stored

    zone = {"left": 0.0, "top": 0.0, "right": 0.3, "bottom": 0.1, "label": "招牌"}
    edit = {"zones": [zone]}  # tracks removed and restored: tests/unit/masking (this clip has none)
    assert w.client.post(f"{url}/review", json=edit, headers=reviewer).status_code == 200
    assert w.client.post(f"{url}/review", json=edit, headers=reviewer).status_code == 200  # same
    back = {"zones": []}
    assert w.client.post(f"{url}/review", json=back, headers=reviewer).status_code == 200

    logged = _log(w, case_id, "publication.review")
    assert all(e["actor"] == "head" and e["object_type"] == "publication" for e in logged)
    assert [e["detail"] for e in logged] == [
        {"regions_added": [{"id": 0, **first}, {"id": 1, **second}]},
        {"regions_removed": [{"id": 0, **first}]},
        {"regions_added": [{"id": 2, **third}]},
        {"regions_removed": [{"id": 1, **second}]},
        {"zones_added": [zone]},
        {"zones_removed": [zone]},
    ]  # the refused deletes and the edit that changed nothing are not logged

    confirmed = {"confirmed": ["organisation_names", "individual_features"]}
    assert w.client.post(f"{url}/approve", json=confirmed, headers=reviewer).status_code == 200
    (approval,) = _log(w, case_id, "publication.approve")
    assert approval["actor"] == "head"
    assert approval["detail"]["confirmed"] == ["individual_features", "organisation_names"]
    assert approval["detail"]["covered"] == sorted(ALL_TARGETS)
    assert approval["detail"]["regions"] == [2] and approval["detail"]["tracks_removed"] == []
    assert approval["detail"]["required"]["plates"] == ["national-2025:art22", "xian-2020:art28"]
    refused = w.client.delete(f"{url}/regions/2", headers=reviewer)
    assert refused.status_code == 409, refused.text  # approved: the review is closed
    assert w.client.get(url, headers=reviewer).json()["regions"] == [{"id": 2, **third}]
    assert len(_log(w, case_id, "publication.review")) == len(logged)
