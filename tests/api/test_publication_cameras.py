"""A multi-camera original: one publication case per camera video (docs/design/evidence.md, "A
multi-camera package"), through the API on SQLite and PostgreSQL. A two-camera staff export
gives two cases, each released on its own as a package naming the original's SHA-256 and the
video it masks; a two-camera request for publication gives two cases linked to the request."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from custos.adapters.masking.publication_masker import PublicationMasker
from custos.domain.access import Role
from custos.domain.errors import ValidationFailed
from custos.domain.evidence import MANIFEST
from custos.services.publication_jobs import PublicationJobs
from tests.api.access_world import TONGCHUAN, XIAN, World, request_body
from tests.api.builders import API
from tests.api.test_access_requests import attach_document, post

VERIFY = Path(sys.executable).with_name("custos-verify")
EVERYTHING = ["faces", "plates", "organisation_names", "individual_features"]
CONFIRMED = {"confirmed": ["organisation_names", "individual_features"]}
PURPOSE = "公开通报 (two cameras)"


def _two_camera_export(w: World) -> tuple[int, dict[str, str]]:
    manager = w.person("manager1", Role.UNIT_MANAGER, unit_id=w.unit_id)
    cameras = [w.cameras[XIAN], w.cameras[TONGCHUAN]]
    body = {"camera_ids": cameras, **w.range(0, 10), "purpose": PURPOSE}
    r = w.client.post(f"{API}/exports", json=body, headers=manager)
    assert r.status_code == 201, r.text
    return int(r.json()["id"]), manager


def _export_file(w: World, export_id: int) -> Path:
    with w.container.uow() as uow:
        package = uow.exports.get(export_id)
    assert package is not None
    return Path(w.container.settings.data_dir) / "exports" / package.path


@pytest.mark.slow  # two exports' worth of detection and two H.264 re-encodes
def test_a_two_camera_export_gives_one_released_case_per_camera(world: World) -> None:
    w, reviewer = world, world.people["head"]
    export_id, manager = _two_camera_export(w)
    original = _export_file(w, export_id)
    with zipfile.ZipFile(original) as z:
        videos = sorted(n for n in z.namelist() if n.startswith("video/") and n.endswith(".mp4"))
    assert len(videos) == 2

    ask = {"export_id": export_id, "division_code": XIAN, "purpose": PURPOSE, "mask": EVERYTHING}
    r = w.client.post(f"{API}/publications", json=ask, headers=manager)
    assert r.status_code == 202, r.text
    asked = r.json()
    cases = asked["cases"]
    assert [k["member"] for k in cases] == videos  # one case per video, in member order
    assert asked["id"] == cases[0]["id"] and asked["member"] == videos[0]  # the first, as before
    assert {k["state"] for k in cases} == {"detecting"}
    assert {k["source_sha256"] for k in cases} == {
        hashlib.sha256(original.read_bytes()).hexdigest()
    }
    listed = w.client.get(f"{API}/publications", headers=reviewer).json()
    assert sorted((k["id"], k["video"]) for k in listed) == [(k["id"], k["member"]) for k in cases]

    jobs = PublicationJobs(w.container.publications)
    assert jobs.run_pending() == 2
    for k in cases:
        url = f"{API}/publications/{k['id']}"
        case = w.client.get(url, headers=reviewer).json()
        assert case["state"] == "proposed" and case["video"]["name"] == k["member"]
        frame = w.client.get(f"{url}/frame.jpg", params={"frame": 0}, headers=reviewer)
        assert frame.status_code == 200 and frame.content[:2] == b"\xff\xd8"
        assert w.client.post(f"{url}/approve", json=CONFIRMED, headers=reviewer).status_code == 200
        assert w.client.post(f"{url}/release", headers=reviewer).status_code == 202
    assert jobs.run_pending() == 2

    keys = w.client.get(f"{API}/keys").json()
    (fp,) = [k["fingerprint"] for k in keys if k["kind"] == "export" and k["current"]]
    assert VERIFY.exists(), "custos-verify is installed with the project (verifier/)"
    packages = set()
    for k in cases:
        url = f"{API}/publications/{k['id']}"
        body = w.client.get(url, headers=reviewer).json()
        assert body["state"] == "released", body["job"]
        got = w.client.get(f"{url}/file", headers=reviewer)
        assert got.status_code == 200
        assert hashlib.sha256(got.content).hexdigest() == body["package_sha256"]
        packages.add(body["package_sha256"])
        path = Path(w.container.settings.data_dir) / f"case-{k['id']}.zip"
        path.write_bytes(got.content)
        with zipfile.ZipFile(path) as archive:
            manifest = json.loads(archive.read(MANIFEST))
        assert manifest["kind"] == "publication"
        assert manifest["original"]["package_sha256"] == k["source_sha256"]
        assert manifest["original"]["video"] == k["member"]  # which video of the original
        ((camera,),) = [manifest["cameras"]]
        assert camera["file"] == k["member"].removesuffix(".mp4") + "-masked.mp4"
        run = subprocess.run(
            [str(VERIFY), str(path), "--fingerprint", fp],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert run.returncode == 0, run.stdout + run.stderr
        assert "kind publication" in run.stdout
    assert len(packages) == 2


def test_a_member_the_package_lacks_is_refused_naming_the_field(tmp_path: Path) -> None:
    package = tmp_path / "two.zip"
    with zipfile.ZipFile(package, "w") as z:
        z.writestr("video/a.mp4", b"a")
        z.writestr("video/b.mp4", b"bb")
    masker = PublicationMasker(detectors=list)
    assert masker.videos(package) == ["video/a.mp4", "video/b.mp4"]
    member, path = masker.extract_video(package, tmp_path / "work", "video/b.mp4")
    assert member == "video/b.mp4" and path.read_bytes() == b"bb"
    for name in ("video/c.mp4", None):  # not in it; several without naming one
        with pytest.raises(ValidationFailed) as refused:
            masker.extract_video(package, tmp_path / "other", name)
        ((error),) = refused.value.errors
        assert error.field == "source.video"
    assert not (tmp_path / "other").exists()  # nothing written


def _approved_two_camera_request(w: World) -> dict[str, Any]:
    body = request_body(w, XIAN, "copy", publication={"mask": EVERYTHING})
    body["scope"] = {"camera_ids": [w.cameras[XIAN], w.cameras[TONGCHUAN]], **w.range(0, 10)}
    r = w.client.post(f"{API}/requests", json=body, headers=w.people["officer"])
    assert r.status_code == 201, r.text  # several cameras: accepted, one case each
    req = r.json()
    assert attach_document(w, req["id"]).status_code == 200
    assert post(w, f"/requests/{req['id']}/submit", "officer").status_code == 200
    r = post(w, f"/requests/{req['id']}/approve", "head")
    assert r.status_code == 200 and r.json()["state"] == "approved", r.text
    return dict(r.json())


def test_a_two_camera_request_for_publication_opens_one_case_per_camera(world: World) -> None:
    w, officer, reviewer = world, world.people["officer"], world.people["head"]
    req = _approved_two_camera_request(w)
    out = post(w, f"/requests/{req['id']}/execute", "officer")
    assert out.status_code == 200, out.text
    ids = out.json()["publication_case_ids"]
    assert len(ids) == 2 and out.json()["publication_case_id"] == ids[0]

    with zipfile.ZipFile(_export_file(w, out.json()["export_id"])) as z:
        manifest = json.loads(z.read(MANIFEST))
    by_camera = {int(c["id"]): c["file"] for c in manifest["cameras"]}
    cases = [w.client.get(f"{API}/publications/{i}", headers=reviewer).json() for i in ids]
    for case, division in zip(cases, (XIAN, TONGCHUAN), strict=True):
        assert case["request_id"] == req["id"] and case["state"] == "detecting"
        assert case["export_id"] == out.json()["export_id"]
        assert case["source_sha256"] == out.json()["sha256"]
        assert case["division_code"] == division  # its camera's packs
        assert case["member"] == by_camera[w.cameras[division]]  # its camera's video
    assert cases[0]["member"] != cases[1]["member"]

    shown = w.client.get(f"{API}/requests/{req['id']}", headers=officer).json()
    assert [k["id"] for k in shown["publication_cases"]] == ids
    assert shown["publication_case"]["id"] == ids[0]
    assert {k["file"] for k in shown["publication_cases"]} == {None}  # nothing released yet
    url = f"{API}/requests/{req['id']}/publication/file"
    unnamed = w.client.get(url, headers=officer)
    assert unnamed.status_code == 422 and unnamed.json()["errors"][0]["field"] == "case_id"
    early = w.client.get(url, params={"case_id": ids[1]}, headers=officer)
    assert early.status_code == 409  # not released yet
    original = w.client.get(f"{API}/exports/{out.json()['export_id']}/file", headers=officer)
    assert original.status_code == 409  # the organ gets the masked copies, not the original
