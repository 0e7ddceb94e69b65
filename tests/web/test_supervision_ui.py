"""The bureau's supervision console (Chromium, docs/design/filing.md D5, D6, §UI).

A module's world, made through the API: unit A in Xi'an's Yanta district (county A, 610113) with
a site at its coordinates, a second site without them (placed at the county's centroid) and a
camera; unit B in Weiyang (county B, 610112) with its site and camera; A's unit manager and a
supervisor whose jurisdiction is county A.

- in Chinese, the supervisor sees A's unit and not B's: in the division tree, the overview,
  the map (the site without coordinates drawn hollow, the county's centroid labelled) and the
  league table (and its CSV); no English sentence on the page;
- the supervisor reviews a submitted filing: opens it (package PDF, parts), returns it with a
  reason, then accepts the resubmission with a filing number;
- the supervisor plans an inspection of unit A, records a failed item with a remark, a
  deadline and a photo, signs (closing it: the report PDF), sees the rectification notice; after
  the unit responds (API) the notice is closed;
- the page in English shows English labels.
"""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from custos.domain.access import Role
from custos.domain.calendar import shanghai_date
from tests.api.builders import address_code, camera_body, credit_code, site_body, unit_body
from tests.web.conftest import PASSWORD, Site, login, shot
from tests.web.test_zh_text import VISIBLE_TEXT, latin_sentences

COUNTY_A = "610113"  # 陕西省西安市雁塔区
COUNTY_B = "610112"  # 陕西省西安市未央区
WAIT = 30_000  # ms: the machine is loaded
PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)  # a photo's magic bytes are what the service checks
_serial = itertools.count(1)
IN_SERVICE_2025 = [
    {"state": "design_reviewed", "on": "2025-01-02"},
    {"state": "built", "on": "2025-01-10"},
    {"state": "accepted", "on": "2025-01-15"},
    {"state": "in_service", "on": "2025-01-16"},
]


@dataclass
class Unit:
    id: int
    name: str
    site_id: int
    site_name: str
    division: str
    camera_id: int
    extra_site_id: int | None = None  # a site without coordinates


@dataclass
class World:
    a: Unit
    b: Unit
    manager: str
    supervisor: str
    names: set[str] = field(default_factory=set)


@contextmanager
def as_user(site: Site, username: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{site.base}/api/v1", timeout=120) as http:
        r = http.post("/auth/login", json={"username": username, "password": PASSWORD})
        assert r.status_code == 200, r.text
        http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        yield http


def _unit(
    http: httpx.Client, n: int, division: str, tag: str, names: set[str], history: list[Any]
) -> Unit:
    name, site_name = f"监督测试单位{tag}", f"监督测试场所{tag}"
    r = http.post("/units", json=unit_body(n, name=name, credit_code=credit_code(n, division)))
    assert r.status_code == 201, r.text
    unit_id = int(r.json()["id"])
    lat, lon = (34.22, 108.95) if division == COUNTY_A else (34.33, 108.94)
    body = site_body(
        unit_id, division, name=site_name, address=f"测试路{n}号", latitude=lat, longitude=lon
    )
    r = http.post("/sites", json=body)
    assert r.status_code == 201, r.text
    site_id = int(r.json()["id"])
    code = address_code(division, n % 1_000_000)
    camera = camera_body(site_id, division, name=f"入口{tag}", address_code=code, history=history)
    r = http.post("/cameras", json=camera)
    assert r.status_code == 201, r.text
    names |= {name, site_name, f"测试路{n}号", f"入口{tag}"}
    return Unit(unit_id, name, site_id, site_name, division, int(r.json()["id"]))


@pytest.fixture(scope="module")
def world(site: Site) -> World:
    n = 17_000 + next(_serial) * 10
    names: set[str] = set()
    with as_user(site, "admin") as http:
        a = _unit(http, n + 1, COUNTY_A, "甲", names, [])
        b = _unit(http, n + 2, COUNTY_B, "乙", names, IN_SERVICE_2025)  # its filing overdue
        extra = site_body(
            a.id, COUNTY_A, name="监督测试场所甲二", address="测试路二号", latitude=None,
            longitude=None,
        )  # fmt: skip
        r = http.post("/sites", json=extra)
        assert r.status_code == 201, r.text
        a.extra_site_id = int(r.json()["id"])
        names |= {"监督测试场所甲二", "测试路二号"}
    manager, supervisor = f"svmgr{n}", f"svsup{n}"
    site.add_user(manager, Role.UNIT_MANAGER, unit_id=a.id, full_name="监督测试经理")
    site.add_user(supervisor, Role.SUPERVISOR, jurisdiction=COUNTY_A, full_name="雁塔督察")
    names |= {manager, supervisor, "监督测试经理", "雁塔督察"}
    return World(a, b, manager, supervisor, names)


def _open(page: Page, site: Site, w: World, tab: str = "overview") -> None:
    login(page, site, w.supervisor)
    page.goto(f"{site.base}/ui/supervision")
    expect(page.locator("#sv-root")).to_have_attribute("data-division", COUNTY_A, timeout=WAIT)
    if tab != "overview":
        page.click(f"button[data-tab={tab}]")


def test_the_supervisor_sees_its_county_and_not_the_other(
    page: Page, site: Site, world: World
) -> None:
    w = world
    _open(page, site, w)
    tree = page.locator("#sv-tree")
    expect(tree.locator(f'li[data-division="{COUNTY_A}"]')).to_have_count(1, timeout=WAIT)
    expect(tree).to_contain_text("雁塔区")
    expect(tree.locator(f'li[data-division="{COUNTY_B}"]')).to_have_count(0)
    expect(tree).not_to_contain_text("未央区")
    units = page.locator("#sv-units")
    expect(units.locator(f'tr[data-unit="{w.a.id}"]')).to_have_count(2, timeout=WAIT)
    expect(units).to_contain_text(w.a.name)
    expect(units).not_to_contain_text(w.b.name)
    expect(units.locator(f'tr[data-site="{w.a.site_id}"]')).to_contain_text("未备案")
    sites = page.locator('#sv-stats [data-stat="sites"] .big')
    expect(sites).not_to_have_text("0")  # other tests' units may share county A: no counts
    texts: list[str] = page.evaluate(VISIBLE_TEXT)
    assert latin_sentences(texts, w.names) == []
    shot(page, "60-supervision-overview")

    page.click("button[data-tab=map]")
    svg = page.locator("#sv-map svg")
    expect(svg.locator(f'.site-point[data-site="{w.a.site_id}"]')).to_have_count(1, timeout=WAIT)
    expect(svg.locator(f'.site-point[data-site="{w.b.site_id}"]')).to_have_count(0)
    exact = svg.locator(f'.site-point[data-site="{w.a.site_id}"]')
    expect(exact).to_have_attribute("data-approximate", "false")
    expect(exact.locator("title")).to_contain_text(w.a.site_name)
    hollow = svg.locator(f'.site-point[data-site="{w.a.extra_site_id}"]')
    expect(hollow).to_have_attribute("data-approximate", "true")
    assert hollow.locator("circle").evaluate("c => getComputedStyle(c).fill") == "none"
    county = svg.locator(f'.county-point[data-code="{COUNTY_A}"]')
    expect(county).to_contain_text("雁塔区")
    expect(svg.locator(f'.county-point[data-code="{COUNTY_B}"]')).to_have_count(0)
    # the sites lie inside the box; the exact site (east of the centroid's longitude?) is drawn
    box = svg.evaluate("s => s.viewBox.baseVal.width")
    x = float(exact.locator("circle").get_attribute("cx") or -1)
    assert 0 < x < box
    shot(page, "61-supervision-map")

    page.click("button[data-tab=league]")
    league = page.locator("#sv-league")
    expect(league.locator(f'tr[data-unit="{w.a.id}"]')).to_have_count(1, timeout=WAIT)
    expect(league.locator(f'tr[data-unit="{w.b.id}"]')).to_have_count(0)
    href = page.locator("#sv-league-csv").get_attribute("href") or ""
    csv = page.request.get(f"{site.base}{href}")
    assert csv.status == 200, csv.text()
    text = csv.body().decode("utf-8")
    assert text.startswith("\ufeff") and w.a.name in text and w.b.name not in text
    pdf = page.request.get(f"{site.base}{page.locator('#sv-league-pdf').get_attribute('href')}")
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF")


def test_a_city_supervisor_filters_by_the_county_picked_in_the_tree(
    page: Page, site: Site, world: World
) -> None:
    w = world
    city = f"svcity{w.a.id}"
    site.add_user(city, Role.SUPERVISOR, jurisdiction="610100", full_name="西安督察")
    login(page, site, city)
    page.goto(f"{site.base}/ui/supervision")
    root = page.locator("#sv-root")
    expect(root).to_have_attribute("data-division", "610100", timeout=WAIT)
    units = page.locator("#sv-units")
    expect(units).to_contain_text(w.a.name, timeout=WAIT)
    expect(units).to_contain_text(w.b.name)
    tree = page.locator("#sv-tree")
    county_a = tree.locator(f'li[data-division="{COUNTY_A}"] > button.node')
    expect(county_a).to_have_text("雁塔区", timeout=WAIT)  # the city's counties, opened
    overdue = page.locator(f'#sv-deadlines tr[data-site="{w.b.site_id}"][data-overdue="true"]')
    expect(overdue.first).to_be_visible(timeout=WAIT)  # B's initial filing, in service 2025
    expect(overdue.first).to_have_css("color", "rgb(179, 38, 30)")
    county_a.click()
    expect(root).to_have_attribute("data-division", COUNTY_A)
    expect(overdue).to_have_count(0, timeout=WAIT)
    expect(page.locator("#sv-selected")).to_have_text("陕西省西安市雁塔区")
    expect(units).not_to_contain_text(w.b.name, timeout=WAIT)
    expect(units).to_contain_text(w.a.name)
    page.click("button[data-tab=map]")
    expect(page.locator(f'#sv-map .site-point[data-site="{w.a.site_id}"]')).to_have_count(
        1, timeout=WAIT
    )
    expect(page.locator(f'#sv-map .site-point[data-site="{w.b.site_id}"]')).to_have_count(0)
    tree.locator(f'li[data-division="{COUNTY_B}"] > button.node').click()
    expect(page.locator(f'#sv-map .site-point[data-site="{w.b.site_id}"]')).to_have_count(
        1, timeout=WAIT
    )
    expect(page.locator(f'#sv-map .site-point[data-site="{w.a.site_id}"]')).to_have_count(0)
    page.click("button[data-tab=league]")
    expect(page.locator(f'#sv-league tr[data-unit="{w.b.id}"]')).to_have_count(1, timeout=WAIT)
    expect(page.locator(f'#sv-league tr[data-unit="{w.a.id}"]')).to_have_count(0)
    href = page.locator("#sv-league-csv").get_attribute("href") or ""
    assert f"division={COUNTY_B}" in href
    text = page.request.get(f"{site.base}{href}").body().decode("utf-8")
    assert w.b.name in text and w.a.name not in text  # the download follows the tree too
    shot(page, "66-supervision-city-tree")


def _profile(site: Site, w: World) -> None:
    """The unit's filing profile with every part the Xi'an packs make mandatory."""
    with as_user(site, w.manager) as http:
        docs = {}
        for part in ("design_scheme", "acceptance_report"):
            files = {
                "file": (f"{part}.pdf", io.BytesIO(b"%PDF-1.4 " + part.encode()), "application/pdf")
            }
            r = http.post(f"/sites/{w.a.site_id}/filing-documents", files=files)
            assert r.status_code == 201, r.text
            docs[part] = r.json()
        party = {"name": "雁塔安防公司", "contact": "029-88880000"}
        body: dict[str, Any] = {
            "system_name": "监督测试视频系统", "system_purpose": "公共区域治安防范",
            "owner_unit": party, "builder_unit": party, "maintainer_unit": party,
            "responsible_persons": [{"name": "王负责", "phone": "029-88881111", "role": "负责人"}],
            "network": {"kind": "private", "description": "内部专网"},
            "storage_description": "本地存储 30 天", **docs,
        }  # fmt: skip
        r = http.put(f"/sites/{w.a.site_id}/filing-profile", json=body)
        assert r.status_code == 200, r.text


def _submit(site: Site, w: World, case_id: int | None = None) -> int:
    with as_user(site, w.manager) as http:
        if case_id is None:
            r = http.post(f"/sites/{w.a.site_id}/filing-cases", json={"kind": "initial"})
            assert r.status_code == 201, r.text
            case_id = int(r.json()["id"])
        r = http.post(f"/filing-cases/{case_id}/submit", json={"channel": "internal"})
        assert r.status_code == 201, r.text
        return case_id


def test_a_submitted_filing_is_returned_with_a_reason_then_accepted(
    page: Page, site: Site, world: World
) -> None:
    w = world
    _profile(site, w)
    case_id = _submit(site, w)
    _open(page, site, w, "filings")
    row = page.locator(f'#sv-filings tr[data-case="{case_id}"]')
    expect(row).to_have_attribute("data-state", "submitted", timeout=WAIT)
    row.locator("button[data-act=open]").click()
    section = page.locator("#sv-case")
    expect(section).to_have_attribute("data-case", str(case_id), timeout=WAIT)
    expect(page.locator("#sv-case-pdf")).to_have_attribute(
        "href", f"/api/v1/filing-cases/{case_id}/package.pdf"
    )
    parts = page.locator("#sv-case-parts tr[data-part]")
    expect(parts).to_have_count(8, timeout=WAIT)
    expect(page.locator('#sv-case-parts tr[data-part="system_profile"]')).to_contain_text(
        "监督测试视频系统"
    )
    pdf = page.request.get(f"{site.base}/api/v1/filing-cases/{case_id}/package.pdf")
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF")
    assert latin_sentences(page.evaluate(VISIBLE_TEXT), w.names) == []
    shot(page, "62-supervision-filing")

    page.fill("#sv-return textarea[name=reasons]", "验收材料缺少签章页\n请补充责任人电话")
    page.click("#sv-return button[type=submit]")
    expect(section).to_have_attribute("data-state", "returned", timeout=WAIT)
    expect(page.locator("#sv-case-history")).to_contain_text("验收材料缺少签章页")
    expect(page.locator("#sv-case-decide")).to_be_hidden()
    with as_user(site, w.manager) as http:
        kase = http.get(f"/filing-cases/{case_id}").json()
    assert kase["return_reasons"] == ["验收材料缺少签章页", "请补充责任人电话"]

    _submit(site, w, case_id)
    page.select_option("#sv-filing-state", "submitted")
    expect(row).to_have_attribute("data-state", "submitted", timeout=WAIT)
    row.locator("button[data-act=open]").click()
    expect(section).to_have_attribute("data-state", "submitted", timeout=WAIT)
    page.fill("#sv-accept input[name=filing_number]", "雁公备2026001")
    page.click("#sv-accept button[type=submit]")
    expect(section).to_have_attribute("data-state", "accepted", timeout=WAIT)
    expect(page.locator("#sv-case-facts")).to_contain_text("雁公备2026001")
    expect(page.locator("#flash")).to_contain_text("雁公备2026001")
    page.click("button[data-tab=overview]")
    expect(page.locator(f'#sv-units tr[data-site="{w.a.site_id}"]')).to_contain_text(
        "已备案", timeout=WAIT
    )

    # A change to the filed camera opens a change task; submitted, its diff is reviewed.
    with as_user(site, "admin") as http:
        r = http.patch(f"/cameras/{w.a.camera_id}", json={"field_of_view": "大门及停车场"})
        assert r.status_code == 200, r.text
    with as_user(site, w.manager) as http:
        r = http.get("/filing-cases", params={"site_id": w.a.site_id, "state": "draft"})
        assert r.status_code == 200, r.text
        change = next(k for k in r.json() if k["kind"] == "change")
    _submit(site, w, int(change["id"]))
    page.click("button[data-tab=filings]")
    row = page.locator(f'#sv-filings tr[data-case="{change["id"]}"]')
    expect(row).to_have_attribute("data-state", "submitted", timeout=WAIT)
    row.locator("button[data-act=open]").click()
    expect(section).to_have_attribute("data-case", str(change["id"]), timeout=WAIT)
    diff = page.locator("#sv-case-diff tr[data-attr$='.field_of_view']")
    expect(diff).to_contain_text("大门及停车场", timeout=WAIT)
    expect(diff).to_contain_text("entrance and lobby")  # before: the builder's camera
    assert latin_sentences(page.evaluate(VISIBLE_TEXT), w.names) == []
    shot(page, "62-supervision-change-diff")
    page.click("#sv-accept button[type=submit]")  # no number typed: the bureau's generated
    expect(section).to_have_attribute("data-state", "accepted", timeout=WAIT)
    with as_user(site, w.manager) as http:
        number = http.get(f"/filing-cases/{change['id']}").json()["filing_number"]
    assert number
    expect(page.locator("#sv-case-facts")).to_contain_text(number)


def test_an_inspection_is_planned_recorded_signed_and_its_notice_closed(
    page: Page, site: Site, world: World
) -> None:
    w = world
    _open(page, site, w, "inspections")
    form = page.locator("#sv-plan")
    expect(form.locator(f'#sv-plan-unit option[value="{w.a.id}"]')).to_have_count(1, timeout=WAIT)
    expect(form.locator(f'#sv-plan-unit option[value="{w.b.id}"]')).to_have_count(0)
    form.locator("#sv-plan-unit").select_option(str(w.a.id))
    expect(form.locator(f'input[name=site][value="{w.a.site_id}"]')).to_be_checked()
    form.locator(f'input[name=site][value="{w.a.extra_site_id}"]').uncheck()
    expect(form.locator("#sv-plan-inspectors option:checked")).to_have_text("雁塔督察")
    form.locator("button[type=submit]").click()
    section = page.locator("#sv-inspection")
    expect(section).to_have_attribute("data-state", "planned", timeout=WAIT)
    inspection_id = int(section.get_attribute("data-inspection") or 0)
    items = page.locator("#sv-items tr[data-item]")
    expect(items.first).to_be_visible(timeout=WAIT)
    first = items.first
    key = first.get_attribute("data-item") or ""
    expect(first.locator(".article").first).not_to_be_empty()  # the item's article

    record = first.locator("form")
    record.locator("select[name=result]").select_option("fail")
    record.locator("input[name=remark]").fill("监控室未设置值守记录")
    record.locator("input[name=deadline_days]").fill("15")
    record.locator("input[name=photo]").set_input_files(
        {"name": "scene.png", "mimeType": "image/png", "buffer": PNG}
    )
    record.locator("button[type=submit]").click()
    done = page.locator(f'#sv-items tr[data-item="{key}"]')
    expect(done).to_have_attribute("data-result", "fail", timeout=WAIT)
    expect(done.locator(".hint .mono")).to_have_count(1)  # the photo's hash

    page.locator("#sv-sign").click()  # other items unrecorded: refused, naming them
    expect(page.locator("#sv-error")).to_be_visible(timeout=WAIT)
    with as_user(site, w.supervisor) as http:
        body = http.get(f"/inspections/{inspection_id}").json()
        fined = next(
            i for i in body["items"]
            if i["key"] != key and i["penalty"] and i["penalty"]["fine"]["unit_max"]
        )  # fmt: skip
        for item in body["items"]:
            if item["key"] == key:
                continue
            verdict = {"result": "fail", "remark": "未落实", "due_days": 10}
            r = http.put(
                f"/inspections/{inspection_id}/items/{item['key']}",
                json=verdict if item is fined else {"result": "pass"},
            )
            assert r.status_code == 200, r.text
    page.locator(
        f'#sv-inspections tr[data-inspection="{inspection_id}"] button[data-act=open]'
    ).click()
    expect(page.locator("#sv-items tr[data-result=pass]")).to_have_count(
        len(body["items"]) - 2, timeout=WAIT
    )
    page.locator("#sv-sign").click()
    expect(section).to_have_attribute("data-state", "closed", timeout=WAIT)
    expect(page.locator("#sv-signatures")).to_contain_text("雁塔督察")
    report = page.locator("#sv-report")
    expect(report).to_be_visible()
    pdf = page.request.get(f"{site.base}{report.get_attribute('href')}")
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF")
    assert latin_sentences(page.evaluate(VISIBLE_TEXT), w.names) == []
    shot(page, "63-supervision-inspection")

    page.click("button[data-tab=notices]")
    notices = page.locator("#sv-notices tr[data-notice]")
    notice = page.locator(f"#sv-notices tr[data-item='{key}']", has_text=w.a.name).last
    expect(notice).to_be_visible(timeout=WAIT)
    assert notices.count() >= 1
    notice_id = int(notice.get_attribute("data-notice") or 0)
    _respond(site, w, notice_id, "已建立值守记录制度")
    page.click("button[data-tab=overview]")
    page.click("button[data-tab=notices]")
    row = page.locator(f'#sv-notices tr[data-notice="{notice_id}"]')
    expect(row).to_have_attribute("data-state", "responded", timeout=WAIT)
    row.locator("button[data-act=open]").click()
    detail = page.locator("#sv-notice")
    expect(detail).to_have_attribute("data-notice", str(notice_id), timeout=WAIT)
    expect(page.locator("#sv-notice-responses")).to_contain_text("已建立值守记录制度")
    expect(page.locator("#sv-notice-facts")).to_contain_text("监控室未设置值守记录")
    page.select_option("#sv-verify-outcome", "reject")
    page.click("#sv-verify button[type=submit]")  # a rejection without a reason is refused
    expect(page.locator("#sv-error")).to_be_visible(timeout=WAIT)
    page.fill("#sv-verify input[name=reason]", "值守记录未签字")
    page.click("#sv-verify button[type=submit]")
    expect(detail).to_have_attribute("data-state", "open", timeout=WAIT)
    expect(page.locator("#sv-notice-history")).to_contain_text("值守记录未签字")

    _respond(site, w, notice_id, "值守记录已逐班签字")
    row.locator("button[data-act=open]").click()
    expect(page.locator("#sv-notice-responses")).to_contain_text("值守记录已逐班签字", timeout=WAIT)
    expect(detail).to_have_attribute("data-state", "responded")
    page.select_option("#sv-verify-outcome", "close")
    page.click("#sv-verify button[type=submit]")
    expect(detail).to_have_attribute("data-state", "closed", timeout=WAIT)
    expect(row).to_have_attribute("data-state", "closed", timeout=WAIT)
    shot(page, "64-supervision-notice-closed")

    # The other failed item's notice, past its deadline (moved back: the demo's clock is the
    # wall clock), is shown overdue in red with its fine range, then escalated: the amount
    # must lie in the article's range.
    other = page.locator(f"#sv-notices tr[data-item='{fined['key']}']", has_text=w.a.name).last
    _backdate(site, int(other.get_attribute("data-notice") or 0))
    page.click("button[data-tab=overview]")
    page.click("button[data-tab=notices]")
    expect(other).to_have_attribute("data-overdue", "true", timeout=WAIT)
    expect(other).to_have_attribute("data-state", "open")
    expect(other).to_have_css("color", "rgb(179, 38, 30)")  # var(--bad)
    expect(other).to_contain_text("已逾期")
    expect(other).to_contain_text("对单位罚款")
    expect(other).to_contain_text(fined["penalty"]["rule_id"])
    other.locator("button[data-act=open]").click()
    expect(detail).to_have_attribute("data-notice", other.get_attribute("data-notice") or "")
    rule = fined["penalty"]["rule_id"]
    expect(page.locator("#sv-notice-facts .article").last).to_have_text(rule)
    page.select_option("#sv-verify-outcome", "escalate")
    expect(page.locator("#sv-verify-article")).to_have_value(rule)
    top = int(fined["penalty"]["fine"]["unit_max"])
    page.fill("#sv-verify input[name=amount]", str(top + 1))
    page.click("#sv-verify button[type=submit]")
    refusal = page.locator("#sv-error .refusal")
    expect(refusal).to_have_attribute("data-field", "penalty.amount", timeout=WAIT)
    expect(refusal.locator(".article")).to_contain_text(rule)
    page.fill("#sv-verify input[name=amount]", str(top))
    page.click("#sv-verify button[type=submit]")
    expect(detail).to_have_attribute("data-state", "escalated", timeout=WAIT)
    expect(page.locator("#sv-notice-history")).to_contain_text(f"决定罚款 {top} 元")
    assert latin_sentences(page.evaluate(VISIBLE_TEXT), w.names) == []
    shot(page, "65-supervision-notice-escalated")


def _backdate(site: Site, notice_id: int) -> None:
    """The notice's due date three (Shanghai) days ago."""
    with site.container.uow() as uow:
        notice = uow.rectifications.get(notice_id)
        assert notice is not None
        notice.due_on = shanghai_date(site.container.clock.now()) - timedelta(days=3)
        uow.rectifications.update(notice)
        uow.commit()


def _respond(site: Site, w: World, notice_id: int, text: str) -> None:
    """The unit's answer with one evidence document (the unit's own page is filing-ui's)."""
    with as_user(site, w.manager) as http:
        evidence = ("记录.pdf", io.BytesIO(b"%PDF-1.4 " + text.encode()), "application/pdf")
        r = http.post(
            f"/rectifications/{notice_id}/respond", data={"text": text}, files={"files": evidence}
        )
        assert r.status_code == 200, r.text


def test_only_supervisors_see_the_console(page: Page, site: Site, world: World) -> None:
    login(page, site, world.manager)
    expect(page.locator('[data-nav="nav.registry"]')).to_have_count(1, timeout=WAIT)
    expect(page.locator('[data-nav="nav.supervision"]')).to_have_count(0)
    response = page.goto(f"{site.base}/ui/supervision")
    assert response is not None and response.status == 403
    login(page, site, world.supervisor)
    page.click('[data-nav="nav.supervision"]')
    expect(page.locator("#sv-root")).to_have_attribute("data-division", COUNTY_A, timeout=WAIT)


def test_the_console_in_english_shows_english_labels(page: Page, site: Site, world: World) -> None:
    page.context.add_cookies([{"name": "custos_lang", "value": "en", "url": site.base}])
    _open(page, site, world)
    expect(page.locator("h1")).to_have_text("Supervision")
    expect(page.locator("button[data-tab=filings]")).to_have_text("Filings to review")
    expect(page.locator("button[data-tab=notices]")).to_have_text("Rectification notices")
    expect(page.locator('#sv-stats [data-stat="sites"] .muted')).to_have_text("Sites", timeout=WAIT)
    expect(page.locator("#sv-units th").first).to_have_text("Unit")
    page.click("button[data-tab=map]")
    expect(page.locator(".sv-legend")).to_contain_text("placed at its county's centre")
    catalogue = json.loads(page.locator("#custos-i18n").text_content() or "{}")
    assert catalogue["supervision.league"] == "League table"
    shot(page, "67-supervision-en")
