"""The unit's filing page (Chromium, docs/design/filing.md §UI).

Each test registers its own unit and site in Xi'an's Yanta district (610113: Decree 799, the
Shaanxi and Xi'an packs apply, so the design scheme and the acceptance report are mandatory) with
one camera, its unit manager and a supervisor whose jurisdiction is Xi'an (610100):

- in Chinese, the manager sees the missing parts with their articles, fills the profile (a bad
  phone number refused beside its field), uploads the two documents, sees the missing parts go,
  opens and submits the initial filing; the supervisor returns it (API) with a reason the unit
  then reads on the page; the unit resubmits, the supervisor accepts, the unit sees the filing
  number; the package downloaded from the page is the submitted one (its SHA-256);
- the same page in English shows English labels;
- a change to a filed camera (API) shows a change task with its diff;
- a filing submitted on paper has its decision (with the receipt's scan) recorded from the page;
- a filing submitted by export gives the signed custos-filing/1 file from the page;
- a rectification notice (from a failed inspection item, API) answered from the page.
"""

from __future__ import annotations

import hashlib
import itertools
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from custos.domain.access import Role
from custos.domain.calendar import shanghai_date
from tests.api.builders import address_code, camera_body, credit_code, site_body, unit_body
from tests.web.conftest import PASSWORD, Site, login, shot
from tests.web.test_zh_text import VISIBLE_TEXT, latin_sentences

DIVISION = "610113"  # 陕西省西安市雁塔区
JURISDICTION = "610100"  # 西安市
WAIT = 30_000  # ms: the machine is loaded
_serial = itertools.count(1)


@dataclass
class World:
    site_id: int
    unit_id: int
    camera_id: int
    camera_code: str
    manager: str
    supervisor: str
    names: set[str]


@contextmanager
def as_user(site: Site, username: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{site.base}/api/v1", timeout=60) as http:
        r = http.post("/auth/login", json={"username": username, "password": PASSWORD})
        assert r.status_code == 200, r.text
        http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        yield http


def _world(site: Site, tag: str, history: list[dict[str, str]] | None = None) -> World:
    """A unit, its site in Yanta and one camera (as the administrator; ``history``: its
    lifecycle steps), its manager and a supervisor of Xi'an."""
    n = 15_000 + next(_serial) * 10 + ord(tag[0]) % 10
    unit_name = f"雁塔备案测试单位{tag}"
    site_name = f"雁塔商场{tag}"
    with as_user(site, "admin") as http:
        r = http.post(
            "/units", json=unit_body(n, name=unit_name, credit_code=credit_code(n, DIVISION))
        )
        assert r.status_code == 201, r.text
        unit_id = int(r.json()["id"])
        body = site_body(
            unit_id, DIVISION, name=site_name, address="西安市雁塔区长安南路1号",
            latitude=34.21, longitude=108.94,
        )  # fmt: skip
        r = http.post("/sites", json=body)
        assert r.status_code == 201, r.text
        site_id = int(r.json()["id"])
        code = address_code(DIVISION, n % 1_000_000)
        r = http.post(
            "/cameras",
            json=camera_body(
                site_id,
                DIVISION,
                name=f"入口{tag}",
                address_code=code,
                install_position="北门入口，3 米",
                field_of_view="入口及大堂",
                history=history or [],
            ),
        )
        assert r.status_code == 201, r.text
        camera_id = int(r.json()["id"])
    manager, supervisor = f"fmgr{tag}", f"fsup{tag}"
    site.add_user(manager, Role.UNIT_MANAGER, unit_id=unit_id, full_name=f"备案经理{tag}")
    site.add_user(
        supervisor, Role.SUPERVISOR, jurisdiction=JURISDICTION, full_name=f"雁塔民警{tag}"
    )
    names = {unit_name, site_name, "西安市雁塔区长安南路1号", f"入口{tag}", manager, supervisor}
    return World(site_id, unit_id, camera_id, code, manager, supervisor, names)


def _open(page: Page, site: Site, w: World) -> None:
    page.goto(f"{site.base}/ui/filing?site={w.site_id}")
    expect(page.locator("#filing-site")).to_have_value(str(w.site_id), timeout=WAIT)
    expect(page.locator("#preview-recipient")).to_contain_text("雁塔", timeout=WAIT)


def _case_row(page: Page, kind: str) -> Any:
    return page.locator(f'#case-list tr[data-kind="{kind}"]').first


def _fill_profile(page: Page, tag: str, phone: str) -> None:
    form = page.locator("#profile-form")
    form.locator('[data-path="system_name"]').fill(f"雁塔商场视频监控系统{tag}")
    form.locator('[data-path="system_purpose"]').fill("商场公共区域治安防范")
    for role, name in (("owner", "雁塔商业公司"), ("builder", "长安安防工程公司"),
                       ("maintainer", "曲江运维公司")):  # fmt: skip
        form.locator(f'[data-path="{role}_unit.name"]').fill(name)
        form.locator(f'[data-path="{role}_unit.contact"]').fill("029-88880000")
    person = form.locator("#person-rows [data-person]").first
    person.locator("[data-item=name]").fill("李安保")
    person.locator("[data-item=phone]").fill(phone)
    person.locator("[data-item=role]").fill("系统负责人")
    form.locator('[data-path="network.kind"]').select_option("private")
    form.locator('[data-path="network.description"]').fill("商场内部专网，与互联网物理隔离")
    form.locator('[data-path="storage_description"]').fill("本地 NVR 存储，30 天")


def _upload(page: Page, doc: str, name: str, data: bytes) -> None:
    page.locator(f'[data-upload="{doc}"]').set_input_files(
        {"name": name, "mimeType": "application/pdf", "buffer": data}
    )
    expect(page.locator(f'[data-doc-state="{doc}"]')).to_contain_text(
        hashlib.sha256(data).hexdigest()[:16], timeout=WAIT
    )


def _decide(site: Site, w: World, case_id: int, verb: str, body: dict[str, Any]) -> None:
    with as_user(site, w.supervisor) as http:
        r = http.post(f"/filing-cases/{case_id}/{verb}", json=body)
        assert r.status_code in (200, 201), r.text


def _case_id(page: Page, kind: str) -> int:
    return int(_case_row(page, kind).get_attribute("data-case") or 0)


def _zh_scan(page: Page, w: World) -> list[str]:
    texts: list[str] = page.evaluate(VISIBLE_TEXT)
    assert len(texts) > 20
    return latin_sentences(texts, w.names)


def test_the_unit_files_is_returned_resubmits_and_sees_its_filing_number(
    page: Page, site: Site
) -> None:
    w = _world(site, "a")
    login(page, site, w.manager)
    _open(page, site, w)
    missing = page.locator("#preview-missing")
    for part, article in (("system_profile", "national-2025:art14.p1"),
                          ("responsible_persons", "national-2025:art14.p1"),
                          ("design_scheme", "xian-2020:art14.p1"),
                          ("acceptance_report", "xian-2020:art14.p2")):  # fmt: skip
        item = missing.locator(f'li[data-part="{part}"]')
        expect(item).to_be_visible(timeout=WAIT)
        expect(item.locator(".article")).to_contain_text(article)
    expect(missing.locator('li[data-part="cameras"]')).to_have_count(0)  # the camera is there
    assert _zh_scan(page, w) == []
    shot(page, "60-filing-missing")

    # The initial filing opened now is refused at submission, naming each part and article.
    page.locator("#case-open-initial").click()
    row = _case_row(page, "initial")
    expect(row).to_have_attribute("data-state", "draft", timeout=WAIT)
    detail = page.locator("#case-detail")
    expect(detail).to_have_attribute("data-state", "draft", timeout=WAIT)
    expect(page.locator("#case-open-initial")).to_be_hidden()  # one initial filing
    page.locator("#case-submit-button").click()
    refusal = page.locator('#case-error li.refusal[data-field="package.design_scheme"]')
    expect(refusal).to_be_visible(timeout=WAIT)
    expect(refusal.locator(".article")).to_contain_text("xian-2020:art14.p1")
    expect(detail).to_have_attribute("data-state", "draft")
    assert _zh_scan(page, w) == []

    # A phone number that is not one: refused beside its field, in Chinese.
    _fill_profile(page, "a", "电话未知")
    page.locator("#profile-save").click()
    phone = page.locator("#person-rows [data-person] [data-item=phone]").first
    expect(phone).to_have_class("invalid", timeout=WAIT)
    beside = page.locator("#person-rows [data-person] .field-error").first
    expect(beside).to_be_visible()
    expect(beside).to_have_attribute("data-field", "responsible_persons.0.phone")
    _fill_profile(page, "a", "13800000000")
    page.locator("#profile-save").click()
    expect(page.locator("#flash")).to_contain_text("备案资料已保存", timeout=WAIT)
    for part in ("system_profile", "units", "responsible_persons", "network", "storage"):
        expect(missing.locator(f'li[data-part="{part}"]')).to_have_count(0, timeout=WAIT)
    expect(missing.locator('li[data-part="design_scheme"]')).to_be_visible()

    _upload(page, "design_scheme", "设计方案.pdf", b"%PDF-1.4 design scheme " + b"a" * 64)
    _upload(page, "acceptance_report", "验收报告.pdf", b"%PDF-1.4 acceptance " + b"b" * 64)
    page.locator("#profile-save").click()
    expect(missing).to_have_attribute("data-complete", "1", timeout=WAIT)
    expect(missing).to_contain_text("必备部分已齐全")

    row.locator("button[data-act=open]").click()
    expect(detail).to_have_attribute("data-state", "draft", timeout=WAIT)
    expect(page.locator("#case-error")).to_be_hidden()
    page.locator("#case-submit select[name=channel]").select_option("internal")
    page.locator("#case-submit-button").click()
    expect(detail).to_have_attribute("data-state", "submitted", timeout=WAIT)
    expect(row).to_have_attribute("data-state", "submitted")
    first = page.locator('#case-submissions tr[data-submission="1"]')
    expect(first).to_contain_text(f"{DIVISION}-", timeout=WAIT)  # the receipt number
    expect(page.locator("#flash")).to_contain_text("已提交")
    shot(page, "61-filing-submitted")
    case_id = _case_id(page, "initial")

    _decide(site, w, case_id, "return", {"reasons": ["验收报告缺少验收单位盖章"]})
    _open(page, site, w)
    _case_row(page, "initial").locator("button[data-act=open]").click()
    expect(detail).to_have_attribute("data-state", "returned", timeout=WAIT)
    expect(page.locator("#return-reasons")).to_contain_text("验收报告缺少验收单位盖章")
    expect(page.locator('#case-history tr[data-action="return"]')).to_contain_text("雁塔民警a")
    expect(page.locator(f'#case-list tr[data-case="{case_id}"] .badge')).to_have_text("已退回")
    assert _zh_scan(page, w) == []
    shot(page, "62-filing-returned")

    _upload(page, "acceptance_report", "验收报告-盖章.pdf", b"%PDF-1.4 stamped " + b"c" * 64)
    page.locator("#profile-save").click()
    expect(page.locator("#flash")).to_contain_text("备案资料已保存", timeout=WAIT)
    _case_row(page, "initial").locator("button[data-act=open]").click()
    expect(detail).to_have_attribute("data-state", "returned", timeout=WAIT)
    page.locator("#case-submit-button").click()
    expect(detail).to_have_attribute("data-state", "submitted", timeout=WAIT)
    expect(page.locator("#case-submit")).to_be_hidden()  # with the bureau now
    expect(page.locator("#decision-form")).to_be_hidden()  # filed inside this system
    expect(page.locator("#case-submissions tr[data-submission]")).to_have_count(2)

    _decide(site, w, case_id, "accept", {"filing_number": "备610113202600001"})
    _open(page, site, w)
    _case_row(page, "initial").locator("button[data-act=open]").click()
    expect(detail).to_have_attribute("data-state", "accepted", timeout=WAIT)
    expect(page.locator("#filing-number")).to_have_text("备610113202600001")
    expect(_case_row(page, "initial")).to_contain_text("备610113202600001")
    expect(page.locator('#case-history tr[data-action="accept"]')).to_be_visible()
    expect(page.locator("#case-submit")).to_be_hidden()
    assert _zh_scan(page, w) == []
    shot(page, "63-filing-accepted")

    # The package downloaded from the page is the accepted submission's.
    second = page.locator('#case-submissions tr[data-submission="2"]')
    sha = second.locator(".mono").nth(1).inner_text().strip()
    with page.expect_download() as info:
        page.locator("#dl-json").click()
    assert hashlib.sha256(info.value.path().read_bytes()).hexdigest() == sha
    with page.expect_download() as info:
        page.locator("#dl-pdf").click()
    assert info.value.path().read_bytes().startswith(b"%PDF")

    # The supervisor reads the same page, read only.
    login(page, site, w.supervisor)
    _open(page, site, w)
    expect(page.locator("#filing-readonly")).to_be_visible()
    expect(page.locator('#profile-form [data-path="system_name"]')).to_be_disabled()
    expect(page.locator("#case-open-initial")).to_be_hidden()


IN_SERVICE_2025 = [
    {"state": "design_reviewed", "on": "2025-01-02"},
    {"state": "built", "on": "2025-01-10"},
    {"state": "accepted", "on": "2025-01-15"},
    {"state": "in_service", "on": "2025-01-16"},
]


def test_the_filing_page_in_english(page: Page, site: Site) -> None:
    """In English, for a system accepted in January 2025 and never filed: overdue, in red."""
    w = _world(site, "b", IN_SERVICE_2025)
    login(page, site, w.manager)
    page.context.add_cookies([{"name": "custos_lang", "value": "en", "url": site.base}])
    _open(page, site, w)
    expect(page.locator("h1")).to_have_text("Filing")
    expect(page.locator("#profile-form h2")).to_have_text("Filing profile")
    expect(page.locator('nav [data-nav="nav.filing"]')).to_have_text("Filing")
    missing = page.locator("#preview-missing")
    expect(missing.locator('li[data-part="acceptance_report"]')).to_contain_text(
        "Acceptance report", timeout=WAIT
    )
    expect(page.locator("#cases-card h2")).to_have_text("Filing cases")
    due = page.locator("#preview-due [data-overdue]")
    expect(due).to_have_attribute("data-overdue", "1")
    expect(due).to_contain_text("overdue")
    expect(due).to_have_class("filing-overdue")
    expect(page.locator("#preview-due .article")).to_contain_text("national-2025:art14")
    page.locator("#case-open-initial").click()
    row = _case_row(page, "initial")
    expect(row).to_have_attribute("data-state", "draft", timeout=WAIT)
    expect(row.locator(".filing-overdue")).to_contain_text("overdue")
    expect(row.locator(".badge")).to_have_text("draft")
    expect(page.locator("#case-history")).to_contain_text("opened")
    shot(page, "64-filing-en")


def _profiled(site: Site, w: World) -> None:
    """A complete filing profile for ``w``'s site, documents uploaded (API)."""
    profile: dict[str, Any] = {
        "system_name": "雁塔商场视频监控系统", "system_purpose": "治安防范",
        "owner_unit": {"name": "雁塔商业公司", "contact": "029-88880000"},
        "builder_unit": {"name": "长安安防工程公司", "contact": "029-88880001"},
        "maintainer_unit": {"name": "曲江运维公司", "contact": "029-88880002"},
        "responsible_persons": [{"name": "李安保", "phone": "13800000000", "role": "负责人"}],
        "network": {"kind": "private", "description": "内部专网"},
        "storage_description": "本地 NVR 存储",
    }  # fmt: skip
    with as_user(site, w.manager) as http:
        for doc in ("design_scheme", "acceptance_report"):
            r = http.post(
                f"/sites/{w.site_id}/filing-documents",
                files={"file": (f"{doc}.pdf", f"%PDF-1.4 {doc}".encode(), "application/pdf")},
            )
            assert r.status_code in (200, 201), r.text
            profile[doc] = {"sha256": r.json()["sha256"], "filename": f"{doc}.pdf"}
        r = http.put(f"/sites/{w.site_id}/filing-profile", json=profile)
        assert r.status_code == 200, r.text


def _filed(site: Site, w: World) -> int:
    """The initial filing of ``w`` made and accepted through the API; returns the case id."""
    _profiled(site, w)
    with as_user(site, w.manager) as http:
        r = http.post(f"/sites/{w.site_id}/filing-cases", json={"kind": "initial"})
        assert r.status_code == 201, r.text
        case_id = int(r.json()["id"])
        r = http.post(f"/filing-cases/{case_id}/submit", json={"channel": "internal"})
        assert r.status_code == 201, r.text
    _decide(site, w, case_id, "accept", {})
    return case_id


def test_a_change_to_a_filed_camera_shows_a_change_task_with_its_diff(
    page: Page, site: Site
) -> None:
    w = _world(site, "c")
    _filed(site, w)
    with as_user(site, "admin") as http:
        r = http.patch(f"/cameras/{w.camera_id}", json={"field_of_view": "入口、大厅及扶梯"})
        assert r.status_code == 200, r.text
    login(page, site, w.manager)
    _open(page, site, w)
    row = _case_row(page, "change")
    expect(row).to_have_attribute("data-state", "draft", timeout=WAIT)
    row.locator("button[data-act=open]").click()
    diff = page.locator(f'#case-diff tr[data-attr="cameras.{w.camera_code}.field_of_view"]')
    expect(diff).to_contain_text("入口及大堂", timeout=WAIT)  # before
    expect(diff).to_contain_text("入口、大厅及扶梯")  # after
    shot(page, "65-filing-change-diff")

    expect(diff).to_contain_text("监控范围")  # the attribute in words
    expect(page.locator("#case-submit-button")).to_be_visible()  # a draft: the unit submits it
    assert _zh_scan(page, w) == []
    shot(page, "65-filing-change-diff")


def test_a_paper_filing_and_the_decision_recorded_from_the_page(page: Page, site: Site) -> None:
    w = _world(site, "e")
    _profiled(site, w)
    with as_user(site, w.manager) as http:
        r = http.post(f"/sites/{w.site_id}/filing-cases", json={"kind": "initial"})
        assert r.status_code == 201, r.text
    login(page, site, w.manager)
    _open(page, site, w)
    _case_row(page, "initial").locator("button[data-act=open]").click()
    detail = page.locator("#case-detail")
    expect(detail).to_have_attribute("data-state", "draft", timeout=WAIT)
    expect(page.locator("#decision-form")).to_be_hidden()
    page.locator("#case-submit select[name=channel]").select_option("paper")
    page.locator("#case-submit-button").click()
    expect(detail).to_have_attribute("data-state", "submitted", timeout=WAIT)
    expect(page.locator("#case-submit")).to_be_hidden()
    expect(page.locator("#dl-zip")).to_be_hidden()  # an export only for the export channel
    form = page.locator("#decision-form")
    expect(form).to_be_visible()
    form.locator("select[name=decision]").select_option("accepted")
    form.locator("input[name=filing_number]").fill("备610113202600099")
    form.locator("input[name=scan]").set_input_files(
        {"name": "回执.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 receipt scan"}
    )
    form.locator("button[type=submit]").click()
    expect(detail).to_have_attribute("data-state", "accepted", timeout=WAIT)
    expect(page.locator("#filing-number")).to_have_text("备610113202600099")
    scan = hashlib.sha256(b"%PDF-1.4 receipt scan").hexdigest()
    recorded = page.locator('#case-history tr[data-action="record_decision"]')
    expect(recorded).to_contain_text(scan[:16])  # the receipt's scan, by its SHA-256
    expect(form).to_be_hidden()
    assert _zh_scan(page, w) == []
    shot(page, "66-filing-paper-decision")


def test_an_export_filing_gives_the_signed_file_from_the_page(page: Page, site: Site) -> None:
    w = _world(site, "f")
    _profiled(site, w)
    with as_user(site, w.manager) as http:
        r = http.post(f"/sites/{w.site_id}/filing-cases", json={"kind": "initial"})
        assert r.status_code == 201, r.text
    login(page, site, w.manager)
    _open(page, site, w)
    _case_row(page, "initial").locator("button[data-act=open]").click()
    detail = page.locator("#case-detail")
    expect(detail).to_have_attribute("data-state", "draft", timeout=WAIT)
    page.locator("#case-submit select[name=channel]").select_option("export")
    page.locator("#case-submit-button").click()
    expect(detail).to_have_attribute("data-state", "submitted", timeout=WAIT)
    expect(page.locator("#decision-file-form")).to_be_visible()
    sha = page.locator('#case-submissions tr[data-submission="1"] .mono').nth(1).inner_text()
    with page.expect_download() as info:
        page.locator("#dl-zip").click()
    with zipfile.ZipFile(info.value.path()) as archive:
        names = set(archive.namelist())
        assert {"package.json", "package.pdf", "manifest.json"} <= names, names
        assert hashlib.sha256(archive.read("package.json")).hexdigest() == sha.strip()
    shot(page, "68-filing-export")


def test_a_division_the_table_does_not_know_is_said_so(page: Page, site: Site) -> None:
    """110199 is a Beijing code of no county: no recipient is guessed, the preview says why."""
    with as_user(site, "admin") as http:
        n = 15_900 + next(_serial)
        r = http.post(
            "/units", json=unit_body(n, name="区划未知单位", credit_code=credit_code(n, "110199"))
        )
        assert r.status_code == 201, r.text
        body = site_body(
            int(r.json()["id"]), "110199", name="区划未知场所", address="北京市某路1号"
        )
        r = http.post("/sites", json=body)
        assert r.status_code == 201, r.text
        site_id = int(r.json()["id"])
    login(page, site, "admin")
    page.goto(f"{site.base}/ui/filing?site={site_id}")
    problem = page.locator('#preview [data-field="site.division_code"]')
    expect(problem).to_contain_text("110199", timeout=WAIT)
    expect(problem).to_contain_text("不在国家标准行政区划代码表中")
    expect(page.locator("#preview-recipient strong")).to_have_text("—")


def _notice(site: Site, w: World) -> dict[str, Any]:
    """An inspection of the unit by the supervisor, its first item failed, signed: one notice."""
    today = shanghai_date(site.container.clock.now()).isoformat()
    with as_user(site, w.supervisor) as http:
        body = {"unit_id": w.unit_id, "planned_on": today,
                "inspector_ids": [site.users[w.supervisor]]}  # fmt: skip
        r = http.post("/inspections", json=body)
        assert r.status_code == 201, r.text
        inspection = r.json()
        failed = inspection["items"][0]["key"]
        for item in inspection["items"]:
            result = "fail" if item["key"] == failed else "pass"
            r = http.put(
                f"/inspections/{inspection['id']}/items/{item['key']}",
                json={"result": result, "remark": "现场检查"},
            )
            assert r.status_code == 200, r.text
        r = http.post(f"/inspections/{inspection['id']}/sign")
        assert r.status_code == 200, r.text
        r = http.get("/rectifications")
        assert r.status_code == 200, r.text
        found: list[dict[str, Any]] = [
            n for n in r.json() if n["inspection_id"] == inspection["id"]
        ]
    assert len(found) == 1, found
    return found[0]


def test_a_rectification_notice_is_answered_from_the_page(page: Page, site: Site) -> None:
    w = _world(site, "d")
    notice = _notice(site, w)
    login(page, site, w.manager)
    _open(page, site, w)
    row = page.locator(f'#notice-list tr[data-notice="{notice["id"]}"]')
    expect(row).to_have_attribute("data-state", "open", timeout=WAIT)
    expect(row).to_contain_text(notice["text_zh"])
    expect(row.locator(".article").first).to_contain_text(notice["rule_ids"][0])
    expect(row).to_contain_text(notice["due_on"])
    row.locator("button[data-act=respond]").click()
    form = page.locator("#notice-form")
    expect(form).to_be_visible()
    form.locator("textarea[name=text]").fill("已补充张贴视频监控提示标识并完成复查")
    form.locator("input[name=evidence]").set_input_files(
        {"name": "整改照片.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 fixed"}
    )
    form.locator("button[type=submit]").click()
    expect(row).to_have_attribute("data-state", "responded", timeout=WAIT)
    expect(row).to_contain_text("已补充张贴视频监控提示标识并完成复查")
    expect(row).to_contain_text("整改照片.pdf")
    expect(page.locator("#flash")).to_contain_text(f"已答复整改通知 {notice['id']}")
    assert _zh_scan(page, w) == []
    shot(page, "67-filing-notice-answered")
    with as_user(site, w.supervisor) as http:
        r = http.get(f"/rectifications/{notice['id']}")
        assert r.json()["state"] == "responded"
        assert r.json()["responses"][-1]["documents"][0]["name"] == "整改照片.pdf"
