"""The publication review page (Chromium): a masked copy asked for by the unit manager is
opened by the head of police, a static zone added, the targets no detector covers confirmed,
approved, released, and the signed custos-evidence/1 package downloaded, naming the original."""

from __future__ import annotations

import json
import zipfile
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.web.conftest import Site, login, shot
from tests.web.test_requests_ui import as_user

pytestmark = pytest.mark.slow  # an export, detection and an H.264 re-encode behind the page
EVERYTHING = ["faces", "plates", "organisation_names", "individual_features"]


def _case(site: Site) -> tuple[int, str]:
    """The manager's export of three seconds of the archive camera, asked for publication."""
    start = site.archive_start + timedelta(seconds=2)
    with as_user(site, "manager") as http:
        body = {
            "camera_ids": [site.archive_camera], "start": start.isoformat(),
            "end": (start + timedelta(seconds=3)).isoformat(), "purpose": "公开通报",
        }  # fmt: skip
        r = http.post("/exports", json=body, timeout=120)
        assert r.status_code == 201, r.text
        ask = {"export_id": r.json()["id"], "division_code": "610113", "purpose": "公开通报",
               "mask": EVERYTHING}  # fmt: skip
        r = http.post("/publications", json=ask, timeout=300)
        assert r.status_code == 201, r.text
        return int(r.json()["id"]), str(r.json()["source_sha256"])


def test_a_case_is_listed_approved_released_and_downloaded(page: Page, site: Site) -> None:
    case_id, original = _case(site)
    login(page, site, "head")
    page.goto(f"{site.base}/ui/publication")
    row = page.locator(f'#pub-cases tr[data-case="{case_id}"]')
    expect(row).to_have_attribute("data-state", "proposed")
    row.locator("button[data-act=open]").click()
    section = page.locator("#pub-case")
    expect(section).to_have_attribute("data-case", str(case_id))
    expect(page.locator("#pub-image")).to_have_js_property("complete", True)
    assert page.eval_on_selector("#pub-image", "i => i.naturalWidth") > 0  # the frame's JPEG

    zone = page.locator("#pub-zone")
    for name, value in (("left", "0"), ("top", "0"), ("right", "0.4"), ("bottom", "0.2")):
        zone.locator(f"input[name={name}]").fill(value)
    zone.locator("input[name=label]").fill("招牌")
    zone.locator("button[type=submit]").click()
    expect(page.locator("#pub-zones")).to_contain_text("招牌")
    expect(page.locator("#pub-overlay .mask-box.zone")).to_have_count(1)

    page.locator("#pub-approve-button").click()  # nothing confirmed: refused, naming the targets
    expect(page.locator("#pub-error")).to_be_visible()
    for target in ("organisation_names", "individual_features"):
        page.check(f"#pub-required input[name={target}]")
    page.locator("#pub-approve-button").click()
    expect(section).to_have_attribute("data-state", "approved")
    expect(row).to_have_attribute("data-state", "approved")
    shot(page, "50-publication-approved")

    page.locator("#pub-release").click()
    expect(section).to_have_attribute("data-state", "released", timeout=300_000)
    expect(page.locator("#flash")).to_contain_text("已发布")
    with page.expect_download() as info:
        page.locator("#pub-download").click()
    path = info.value.path()
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        assert {"log/proof.json", "log/checkpoint.json"} <= set(archive.namelist())
    assert manifest["format"] == "custos-evidence/1" and manifest["kind"] == "publication"
    assert manifest["original"]["package_sha256"] == original
    assert manifest["masking"]["reviewer"] == "head"
    shot(page, "51-publication-released")
