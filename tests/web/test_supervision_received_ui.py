"""Filings received from other systems, on the supervision console (Chromium, docs/design/
filing.md D3, "Filings received from another system").

A unit in Xi'an's Yanta district files by export (API): its profile complete, the initial filing
submitted with channel ``export``, its signed custos-filing/1 file downloaded. A supervisor of
the county then, on the page:

- imports the file, sees it listed (unit, site, organ, received date, state) and opened (the
  package as PDF and JSON), returns it with a reason, sees it returned, and downloads the signed
  decision file (a zip holding decision.json, the manifest naming its hash, and an Ed25519
  signature that verifies with the key it carries);
- imports the same file with package.json altered: refused, the member named.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from playwright.sync_api import Page, expect

from custos.domain.access import Role
from tests.api.builders import address_code, camera_body, credit_code, site_body, unit_body
from tests.web.conftest import PASSWORD, Site, login, shot
from tests.web.test_zh_text import VISIBLE_TEXT, latin_sentences

COUNTY = "610113"  # 陕西省西安市雁塔区
WAIT = 30_000  # ms: the machine is loaded
_serial = itertools.count(1)


@dataclass
class Exported:
    data: bytes  # the custos-filing/1 zip
    unit_name: str
    site_name: str
    receipt_number: str
    supervisor: str


@contextmanager
def as_user(site: Site, username: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{site.base}/api/v1", timeout=120) as http:
        r = http.post("/auth/login", json={"username": username, "password": PASSWORD})
        assert r.status_code == 200, r.text
        http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        yield http


def _profile(http: httpx.Client, site_id: int) -> dict[str, Any]:
    profile: dict[str, Any] = {
        "system_name": "雁塔外系统视频监控系统", "system_purpose": "治安防范",
        "owner_unit": {"name": "雁塔商业公司", "contact": "029-88880000"},
        "builder_unit": {"name": "长安安防工程公司", "contact": "029-88880001"},
        "maintainer_unit": {"name": "曲江运维公司", "contact": "029-88880002"},
        "responsible_persons": [{"name": "李安保", "phone": "13800000000", "role": "负责人"}],
        "network": {"kind": "private", "description": "内部专网"},
        "storage_description": "本地 NVR 存储",
    }  # fmt: skip
    for doc in ("design_scheme", "acceptance_report"):
        r = http.post(
            f"/sites/{site_id}/filing-documents",
            files={"file": (f"{doc}.pdf", f"%PDF-1.4 {doc}".encode(), "application/pdf")},
        )
        assert r.status_code in (200, 201), r.text
        profile[doc] = {"sha256": r.json()["sha256"], "filename": f"{doc}.pdf"}
    return profile


@pytest.fixture(scope="module")
def exported(site: Site) -> Exported:
    """A unit's initial filing, submitted by export, as the signed file its system gives."""
    n = 19_000 + next(_serial) * 10
    unit_name, site_name = "外系统报送单位", "外系统报送商场"
    with as_user(site, "admin") as http:
        body = unit_body(n, name=unit_name, credit_code=credit_code(n, COUNTY))
        r = http.post("/units", json=body)
        assert r.status_code == 201, r.text
        unit_id = int(r.json()["id"])
        body = site_body(
            unit_id, COUNTY, name=site_name, address="西安市雁塔区小寨东路9号",
            latitude=34.22, longitude=108.95,
        )  # fmt: skip
        r = http.post("/sites", json=body)
        assert r.status_code == 201, r.text
        site_id = int(r.json()["id"])
        code = address_code(COUNTY, n % 1_000_000)
        r = http.post(
            "/cameras", json=camera_body(site_id, COUNTY, name="外系统入口", address_code=code)
        )
        assert r.status_code == 201, r.text
    manager, supervisor = f"rvmgr{n}", f"rvsup{n}"
    site.add_user(manager, Role.UNIT_MANAGER, unit_id=unit_id, full_name="外系统经理")
    site.add_user(supervisor, Role.SUPERVISOR, jurisdiction=COUNTY, full_name="雁塔收件民警")
    with as_user(site, manager) as http:
        r = http.put(f"/sites/{site_id}/filing-profile", json=_profile(http, site_id))
        assert r.status_code == 200, r.text
        r = http.post(f"/sites/{site_id}/filing-cases", json={"kind": "initial"})
        assert r.status_code == 201, r.text
        case_id = int(r.json()["id"])
        r = http.post(f"/filing-cases/{case_id}/submit", json={"channel": "export"})
        assert r.status_code == 201, r.text
        r = http.get(f"/filing-cases/{case_id}/export.zip")
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        receipt = json.loads(z.read("manifest.json"))["submission"]["receipt_number"]
    return Exported(r.content, unit_name, site_name, receipt, supervisor)


def _open(page: Page, site: Site, e: Exported) -> None:
    login(page, site, e.supervisor)
    page.goto(f"{site.base}/ui/supervision")
    expect(page.locator("#sv-root")).to_have_attribute("data-division", COUNTY, timeout=WAIT)
    page.click("button[data-tab=received]")
    expect(page.locator("#tab-received h2").first).to_have_text("其他系统报送的备案")


def _import(page: Page, name: str, data: bytes) -> None:
    page.locator("#rv-file").set_input_files(
        {"name": name, "mimeType": "application/zip", "buffer": data}
    )
    page.locator("#rv-import button[type=submit]").click()


def test_the_bureau_imports_returns_and_downloads_the_decision(
    page: Page, site: Site, exported: Exported, tmp_path: Path
) -> None:
    e = exported
    _open(page, site, e)
    _import(page, f"filing-{e.receipt_number}.zip", e.data)
    detail = page.locator("#rv-detail")
    expect(detail).to_have_attribute("data-state", "received", timeout=WAIT)
    row = page.locator(f'#rv-list tr[data-number="{e.receipt_number}"]')
    expect(row).to_have_attribute("data-state", "received", timeout=WAIT)
    for text in (e.unit_name, e.site_name, "雁塔", "待审核"):
        expect(row).to_contain_text(text)
    receipt_id = detail.get_attribute("data-receipt")
    expect(page.locator("#rv-pdf")).to_have_attribute(
        "href", f"/api/v1/filings/received/{receipt_id}/package.pdf"
    )
    expect(page.locator("#rv-json")).to_have_attribute(
        "href", f"/api/v1/filings/received/{receipt_id}/package.json"
    )
    expect(page.locator("#rv-decision")).to_be_hidden()
    expect(page.locator('#rv-history tr[data-action="import"]')).to_have_count(1)
    facts = page.locator("#rv-facts")
    keys = {
        facts.locator(f'dd[data-fact="{k}"]').inner_text() for k in ("sender_key", "package_sha256")
    }
    names = {e.unit_name, e.site_name, e.supervisor, e.receipt_number, *keys}
    assert latin_sentences(page.evaluate(VISIBLE_TEXT), names) == []  # no English on the page
    shot(page, "70-received-imported")

    page.locator("#rv-return textarea[name=reasons]").fill("设计方案缺少点位图\n\n验收报告未盖章")
    page.locator("#rv-return button[type=submit]").click()
    expect(detail).to_have_attribute("data-state", "returned", timeout=WAIT)
    expect(row).to_have_attribute("data-state", "returned", timeout=WAIT)
    expect(row).to_contain_text("已退回")
    expect(page.locator('#rv-facts dd[data-fact="reasons_given"]')).to_have_text(
        "设计方案缺少点位图；验收报告未盖章"
    )
    expect(page.locator("#rv-decide")).to_be_hidden()
    link = page.locator("#rv-decision")
    expect(link).to_be_visible()
    with page.expect_download(timeout=WAIT) as info:
        link.click()
    path = tmp_path / "decision.zip"
    info.value.save_as(path)
    with zipfile.ZipFile(io.BytesIO(path.read_bytes())) as z:
        assert sorted(z.namelist()) == [
            "decision.json", "manifest.json", "public_key.pem", "signature",
        ]  # fmt: skip
        decision, manifest = z.read("decision.json"), z.read("manifest.json")
        signature = bytes.fromhex(z.read("signature").decode().strip())
        key = load_pem_public_key(z.read("public_key.pem"))
    body = json.loads(decision)
    assert body["decision"] == "returned", body
    assert body["reasons"] == ["设计方案缺少点位图", "验收报告未盖章"], body
    assert body["receipt_number"] == e.receipt_number, body
    listed = {f["name"]: f["sha256"] for f in json.loads(manifest)["files"]}
    assert listed["decision.json"] == hashlib.sha256(decision).hexdigest()
    assert isinstance(key, Ed25519PublicKey)
    key.verify(signature, manifest)  # raises InvalidSignature if it does not verify
    shot(page, "71-received-returned")


def test_a_tampered_file_is_refused_naming_the_member(
    page: Page, site: Site, exported: Exported
) -> None:
    e = exported
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(e.data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "package.json":
                body = body.replace("外系统报送商场".encode(), "某某商场".encode())
            dst.writestr(info.filename, body)
    _open(page, site, e)
    _import(page, "tampered.zip", out.getvalue())
    refusal = page.locator('#rv-import-error li.refusal[data-field="file.package.json"]')
    expect(refusal).to_be_visible(timeout=WAIT)
    expect(refusal).to_contain_text("package.json")
    expect(refusal).to_contain_text("改动")
    expect(page.locator("#rv-detail")).to_be_hidden()
    shot(page, "72-received-tampered")
