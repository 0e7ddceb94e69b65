"""Each pack's filing loop in Chromium (docs/design/filing.md D2, D3, §UI; issue 15), the
browser twin of tests/api/test_filing_loop.py.

For each of six jurisdictions (Beijing, Liaoning, Shaanxi outside Xi'an, Xi'an, Chongqing,
Guangdong with Decree 799 only), its own unit, a site in the county, one camera (accepted on
10 Nov 2026, in service on 12 Nov) and a complete filing profile with its two documents are made
through the API, with the unit's manager and a supervisor of the county. Then, in the browser:

1. the manager picks the site on /ui/filing, sees the organ the package goes to and the pack's
   due date and articles, opens and submits the initial filing;
2. the supervisor returns it from /ui/supervision with a reason;
3. the manager reads the reason and resubmits;
4. the supervisor accepts it with a filing number;
5. the manager sees the filing number and the case accepted.

The packs alternate Chinese and English, each checking labels in its language. One browser
context per role serves all six (cookies cleared and the next user logged in each time).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from custos.domain.access import Role
from custos.domain.calendar import shanghai_date
from tests.api.builders import address_code, camera_body, credit_code, site_body, unit_body
from tests.web.conftest import Site, login, shot
from tests.web.test_filing_ui import World, _profiled, as_user

WAIT = 30_000  # ms: the machine is loaded
_serial = itertools.count(1)

# Built, accepted on Tue 10 Nov 2026, in service on Thu 12 Nov (as in test_filing_loop).
HISTORY = [
    {"state": "design_reviewed", "on": "2026-10-01"},
    {"state": "built", "on": "2026-11-01"},
    {"state": "accepted", "on": "2026-11-10"},
    {"state": "in_service", "on": "2026-11-12"},
]
NATIONAL = "national-2025:art14.p1"


@dataclass(frozen=True)
class Pack:
    division: str
    organ: str
    due: str  # the earliest binding due date of the initial filing
    citations: tuple[str, ...]  # the initial filing's articles
    lang: str  # the page's language: zh_CN or en


PACKS = {
    # Beijing art. 11 ¶1: 30 days from acceptance (10 Nov → 10 Dec); Decree 799: in use + 30
    "beijing": Pack("110105", "北京市公安局朝阳分局", "2026-12-10", ("beijing-2007:art11.p1", NATIONAL), "zh_CN"),
    # Liaoning art. 12 ¶1 and Decree 799: 30 days from put into use (12 Nov → 12 Dec)
    "liaoning": Pack("210102", "沈阳市公安局和平分局", "2026-12-12", ("liaoning-2008:art12.p1", NATIONAL), "en"),
    # Shaanxi outside Xi'an: only Decree 799 sets the initial filing
    "shaanxi": Pack("610302", "宝鸡市公安局渭滨分局", "2026-12-12", (NATIONAL,), "zh_CN"),
    # Xi'an: Decree 799's deadline (art. 14 adds the documents, given here)
    "xian": Pack("610113", "西安市公安局雁塔分局", "2026-12-12", (NATIONAL,), "en"),
    # Chongqing art. 16 ¶1: 30 days from acceptance
    "chongqing": Pack("500151", "重庆市公安局铜梁区分局", "2026-12-10", ("chongqing-2016:art16.p1", NATIONAL), "zh_CN"),
    # Guangdong: only Decree 799 applies
    "guangdong": Pack("440106", "广州市公安局天河区分局", "2026-12-12", (NATIONAL,), "en"),
}  # fmt: skip

# The labels each language shows (the catalogues' values, checked on the pages).
LABELS = {
    "zh_CN": {
        "nav.filing": "备案",
        "filing.recipient": "受理机关",
        "filing.initial_due": "首次备案期限",
        "filing.state.accepted": "已受理",
        "filing.state.returned": "已退回",
        "supervision.filings": "备案审核",
    },
    "en": {
        "nav.filing": "Filing",
        "filing.recipient": "Recipient organ",
        "filing.initial_due": "Initial filing due",
        "filing.state.accepted": "accepted",
        "filing.state.returned": "returned",
        "supervision.filings": "Filings to review",
    },
}


@pytest.fixture(scope="module")
def manager_page(browser: Browser) -> Iterator[Page]:
    """The unit managers' browser context, one for the module."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    yield ctx.new_page()
    ctx.close()


@pytest.fixture(scope="module")
def supervisor_page(browser: Browser) -> Iterator[Page]:
    """The supervisors' browser context, one for the module."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    yield ctx.new_page()
    ctx.close()


@pytest.fixture(scope="module")
def admin_http(site: Site) -> Iterator[httpx.Client]:
    """The administrator's API client, logged in once for the module."""
    with as_user(site, "admin") as http:
        yield http


def _as(page: Page, site: Site, username: str, lang: str) -> None:
    """``page``'s context logged in afresh as ``username``, the pages in ``lang``."""
    ctx: BrowserContext = page.context
    ctx.clear_cookies()
    ctx.add_cookies([{"name": "custos_lang", "value": lang, "url": site.base}])
    login(page, site, username)


def _world(site: Site, http: httpx.Client, pack: str, p: Pack) -> World:
    """The pack's unit, its site in the county and one camera (as the administrator), their
    manager, a supervisor of the county and the complete filing profile (as the manager)."""
    n = 23_000 + next(_serial) * 10
    tag = f"{pack}{n}"
    # Shown names carry no Latin letters: other tests' zh pages may list them (the same county).
    unit_name, site_name, camera = f"备案包测试单位{n}", f"备案包商场{n}", f"入口{n}"
    r = http.post(
        "/units", json=unit_body(n, name=unit_name, credit_code=credit_code(n, p.division))
    )
    assert r.status_code == 201, r.text
    unit_id = int(r.json()["id"])
    r = http.post("/sites", json=site_body(unit_id, p.division, name=site_name))
    assert r.status_code == 201, r.text
    site_id = int(r.json()["id"])
    code = address_code(p.division, n % 1_000_000)
    body = camera_body(site_id, p.division, name=camera, address_code=code, history=HISTORY)
    r = http.post("/cameras", json=body)
    assert r.status_code == 201, r.text
    camera_id = int(r.json()["id"])
    manager, supervisor = f"pkmgr{tag}", f"pksup{tag}"
    site.add_user(manager, Role.UNIT_MANAGER, unit_id=unit_id, full_name=f"备案经理{n}")
    site.add_user(supervisor, Role.SUPERVISOR, jurisdiction=p.division, full_name=f"民警{n}")
    w = World(site_id, unit_id, camera_id, code, manager, supervisor, {unit_name, site_name})
    _profiled(site, w)
    return w


def _open_filing(page: Page, site: Site, w: World, p: Pack) -> None:
    """The filing page, the site picked from the list, its preview shown."""
    page.goto(f"{site.base}/ui/filing")
    expect(page.locator(f'#filing-site option[value="{w.site_id}"]')).to_have_count(1, timeout=WAIT)
    # the page's own first load done (its notices come last), so that no stale case list
    # lands after the one the pick reads
    expect(page.locator("#notice-list > *").first).to_be_attached(timeout=WAIT)
    _repick(page, w)
    expect(page.locator("#preview-recipient")).to_contain_text(p.organ, timeout=WAIT)


def _repick(page: Page, w: World) -> None:
    """The site picked in the list (no page load): the page re-reads its profile, preview and
    cases; returns once the cases are read."""
    wanted = f"/api/v1/filing-cases?site_id={w.site_id}"
    with page.expect_response(lambda r: wanted in r.url, timeout=WAIT):
        page.locator("#filing-site").select_option(str(w.site_id))


def _articles(box: Locator, p: Pack) -> None:
    """``box``'s article list is the pack's, no more, no less (in any order)."""
    shown = box.locator(".article")
    for rule in p.citations:
        expect(shown).to_contain_text(rule, timeout=WAIT)
    listed = shown.inner_text().strip().removeprefix("[").removesuffix("]")
    assert {r.strip() for r in listed.split(",")} == set(p.citations), listed


def _open_case(page: Page, case_id: int, state: str) -> None:
    row = page.locator(f'#case-list tr[data-case="{case_id}"]')
    expect(row).to_have_attribute("data-state", state, timeout=WAIT)
    row.locator("button[data-act=open]").click()
    detail = page.locator("#case-detail")
    expect(detail).to_have_attribute("data-case", str(case_id), timeout=WAIT)
    expect(detail).to_have_attribute("data-state", state, timeout=WAIT)


def _open_review(page: Page, case_id: int, state: str) -> None:
    """The supervisor's filings list reloaded (the state filter: submitted), the case opened."""
    page.select_option("#sv-filing-state", "submitted")
    row = page.locator(f'#sv-filings tr[data-case="{case_id}"]')
    expect(row).to_have_attribute("data-state", state, timeout=WAIT)
    row.locator("button[data-act=open]").click()
    section = page.locator("#sv-case")
    expect(section).to_have_attribute("data-case", str(case_id), timeout=WAIT)
    expect(section).to_have_attribute("data-state", state, timeout=WAIT)


@pytest.mark.parametrize("pack", list(PACKS))
def test_each_pack_is_filed_returned_resubmitted_and_accepted_in_the_browser(
    pack: str, site: Site, admin_http: httpx.Client, manager_page: Page, supervisor_page: Page
) -> None:
    p = PACKS[pack]
    words = LABELS[p.lang]
    w = _world(site, admin_http, pack, p)
    today = shanghai_date(site.container.clock.now())  # the demo's clock: the wall clock

    # 1. The manager picks the site: the recipient, the pack's due date and articles; submits.
    unit = manager_page
    _as(unit, site, w.manager, p.lang)
    _open_filing(unit, site, w, p)
    expect(unit.locator("h1")).to_have_text(words["nav.filing"])
    recipient = unit.locator("#preview-recipient")
    expect(recipient).to_contain_text(words["filing.recipient"])
    expect(recipient).to_contain_text(p.division)
    due = unit.locator("#preview-due")
    expect(due).to_contain_text(words["filing.initial_due"])
    expect(due.locator("[data-overdue]")).to_contain_text(p.due)
    _articles(due, p)
    expect(unit.locator("#preview-missing")).to_have_attribute("data-complete", "1")
    unit.locator("#case-open-initial").click()
    row = unit.locator('#case-list tr[data-kind="initial"]')
    expect(row).to_have_attribute("data-state", "draft", timeout=WAIT)
    case_id = int(row.get_attribute("data-case") or 0)
    _open_case(unit, case_id, "draft")
    facts = unit.locator("#case-facts")
    expect(facts).to_contain_text(p.organ)
    expect(facts).to_contain_text(p.due)
    _articles(facts, p)
    unit.locator("#case-submit select[name=channel]").select_option("internal")
    unit.locator("#case-submit-button").click()
    detail = unit.locator("#case-detail")
    expect(detail).to_have_attribute("data-state", "submitted", timeout=WAIT)
    receipt = f"{p.division}-{today:%Y%m%d}-"  # the sequence is the county's day's: not ours
    expect(unit.locator('#case-submissions tr[data-submission="1"]')).to_contain_text(
        receipt, timeout=WAIT
    )

    # 2. The county's supervisor returns it with a reason.
    bureau = supervisor_page
    _as(bureau, site, w.supervisor, p.lang)
    bureau.goto(f"{site.base}/ui/supervision")
    expect(bureau.locator("#sv-root")).to_have_attribute("data-division", p.division, timeout=WAIT)
    tab = bureau.locator("button[data-tab=filings]")
    expect(tab).to_have_text(words["supervision.filings"])
    tab.click()
    _open_review(bureau, case_id, "submitted")
    review = bureau.locator("#sv-case-facts")
    expect(review).to_contain_text(p.organ)
    expect(review).to_contain_text(p.due)
    reason = f"维护单位联系方式有误（{pack}）"
    bureau.fill("#sv-return textarea[name=reasons]", reason)
    bureau.click("#sv-return button[type=submit]")
    expect(bureau.locator("#sv-case")).to_have_attribute("data-state", "returned", timeout=WAIT)
    expect(bureau.locator("#sv-case-history")).to_contain_text(reason)

    # 3. The manager reads the reason and resubmits.
    _repick(unit, w)  # the site picked again: its cases re-read, no page load
    _open_case(unit, case_id, "returned")
    expect(unit.locator("#return-reasons")).to_contain_text(reason)
    expect(row.locator(".badge")).to_have_text(words["filing.state.returned"])
    unit.locator("#case-submit select[name=channel]").select_option("internal")
    unit.locator("#case-submit-button").click()
    expect(detail).to_have_attribute("data-state", "submitted", timeout=WAIT)
    expect(unit.locator("#case-submissions tr[data-submission]")).to_have_count(2, timeout=WAIT)
    expect(unit.locator('#case-submissions tr[data-submission="2"]')).to_contain_text(receipt)

    # 4. The supervisor accepts the resubmission with a filing number.
    number = f"{p.division}公备{today:%Y}-{w.unit_id}"
    _open_review(bureau, case_id, "submitted")
    bureau.fill("#sv-accept input[name=filing_number]", number)
    bureau.click("#sv-accept button[type=submit]")
    expect(bureau.locator("#sv-case")).to_have_attribute("data-state", "accepted", timeout=WAIT)
    expect(bureau.locator("#sv-case-facts")).to_contain_text(number)

    # 5. The manager sees the filing number and the case accepted.
    _repick(unit, w)  # the site picked again: its cases re-read, no page load
    _open_case(unit, case_id, "accepted")
    expect(unit.locator("#filing-number")).to_have_text(number)
    expect(row).to_contain_text(number)
    expect(row.locator(".badge")).to_have_text(words["filing.state.accepted"])
    expect(unit.locator('#case-history tr[data-action="accept"]')).to_be_visible()
    expect(unit.locator("#case-submit")).to_be_hidden()
    shot(unit, f"69-filing-pack-{pack}")
