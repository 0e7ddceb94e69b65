"""The operation log and the register in the browser: newest first, 50 at a time, "older"
loads the next page by keyset (no repeats, no gaps), filters narrow them, and each log entry
reads as words (who did what to which object, field by field), not as raw JSON."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.web.conftest import Site, login, shot
from tests.web.test_requests_ui import as_user


def _many_live_views(site: Site, n: int) -> None:
    with as_user(site, "duty") as http:
        for _ in range(n):
            r = http.post("/live/sessions", json={"camera_ids": [site.live_camera]})
            assert r.status_code == 201, r.text
            http.post(f"/live/sessions/{r.json()['id']}/close")


def _seqs(page: Page) -> list[int]:
    return [int(s) for s in page.locator("#audit-list tr[data-seq]").evaluate_all(
        "rows => rows.map((r) => r.dataset.seq)")]  # fmt: skip


def test_the_log_pages_by_keyset_filters_and_reads_as_words(page: Page, site: Site) -> None:
    _many_live_views(site, 30)
    login(page, site, "admin")
    page.goto(f"{site.base}/ui/audit")
    expect(page.locator("#audit-list tr[data-seq]")).to_have_count(50)
    first = _seqs(page)
    page.click("#audit-older")
    expect(page.locator("#audit-list tr[data-seq]")).not_to_have_count(50)
    both = _seqs(page)
    if len(both) < 100:  # the whole log is shown: nothing older to ask for
        expect(page.locator("#audit-older")).to_be_hidden()
    assert both[:50] == first and both == sorted(set(both), reverse=True)
    assert both[49] - both[50] >= 1
    live = page.locator("#audit-list tr[data-action='live_view.open']").first
    expect(live).to_contain_text("开始实时监看")
    expect(live).to_contain_text("duty")
    page.locator("#audit-action").select_option("alarm.")
    page.locator("#audit-filter [name=actor]").fill("duty")
    page.click("#audit-filter button[type=submit]")
    expect(page.locator("#audit-list")).to_contain_text("无")
    page.locator("#audit-action").select_option("live_view.")
    page.click("#audit-filter button[type=submit]")
    expect(page.locator("#audit-list tr[data-seq]").first).to_have_attribute(
        "data-action", "live_view.open"
    )
    actions = page.locator("#audit-list tr[data-seq]").evaluate_all(
        "rows => rows.map((r) => r.dataset.action)"
    )
    assert actions and set(actions) == {"live_view.open"}, actions
    page.locator("#audit-action").select_option("")
    page.locator("#audit-filter [name=actor]").fill("")
    page.click("#audit-filter button[type=submit]")
    expect(page.locator("#audit-list tr[data-seq]")).to_have_count(50)
    details = page.locator("#audit-list td:last-child").all_inner_texts()
    assert not any(d.lstrip().startswith("{") for d in details), details[:5]
    shot(page, "60-audit-paged")


def test_the_register_pages_by_keyset(page: Page, site: Site) -> None:
    _many_live_views(site, 56)  # more than 55 whatever ran before on this site
    login(page, site, "admin")
    page.goto(f"{site.base}/ui/register")
    rows = page.locator("#register-list tr[data-entry]")
    expect(rows).to_have_count(50)
    page.click("#register-older")
    expect(page.locator("#register-list tr[data-entry]")).not_to_have_count(50)
    ids = rows.evaluate_all("rows => rows.map((r) => Number(r.dataset.entry))")
    assert len(ids) > 55 and len(set(ids)) == len(ids)
    page.locator("#register-filter [name=kind]").select_option("live_view")
    with page.expect_response(lambda r: "/api/v1/register/page" in r.url):
        page.click("#register-filter button[type=submit]")
    expect(rows).to_have_count(50)
    kinds = rows.evaluate_all("rows => rows.map((r) => r.dataset.kind)")
    assert set(kinds) == {"live_view"}
    shot(page, "61-register-paged")
