"""The UI end to end in headless Chromium, against a Custos with simulated cameras."""

from __future__ import annotations

from datetime import timedelta

import httpx
from playwright.sync_api import Page, expect

from tests.web.conftest import PASSWORD, Site, login, open_playback, shot


def test_login_shows_lockout_and_switches_language(page: Page, site: Site) -> None:
    page.goto(f"{site.base}/ui/")
    expect(page).to_have_url(f"{site.base}/ui/login?next=%2Fui%2F")
    expect(page.locator("h1")).to_have_text("登录")  # Simplified Chinese by default
    for _ in range(5):
        page.fill("input[name=username]", "locky")
        page.fill("input[name=password]", "wrong password!!")
        page.click("#login-form button[type=submit]")
    expect(page.locator("#login-error")).to_contain_text("之后再试")
    page.click("button[data-lang=en]")
    expect(page.locator("h1")).to_have_text("Sign in")
    page.fill("input[name=username]", "locky")
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#login-error")).to_contain_text("try again after")
    shot(page, "01-login-locked")
    login(page, site, "manager")
    expect(page.locator("nav.nav a[data-nav='nav.wall']")).to_have_text("Duty wall")
    expect(page.locator("#stat-online [data-count]")).not_to_have_text("—")
    shot(page, "02-dashboard")
    page.click("button[data-lang=zh_CN]")
    expect(page.locator("nav.nav a[data-nav='nav.wall']")).to_have_text("值班监看")


def test_a_prohibited_location_is_refused_with_its_article(page: Page, site: Site) -> None:
    login(page, site, "admin")
    page.goto(f"{site.base}/ui/registry")
    # the demo's two cameras and the archive camera (other tests may add cameras to this site)
    for name in ("Demo camera 1", "Demo camera 2", "Archive camera"):
        expect(page.locator("#camera-list tr[data-camera]", has_text=name)).to_have_count(1)
    page.click("#camera-new")
    form = page.locator("#camera-form")
    form.locator("[name=address_code]").fill("11010500001320008866")  # a code no test uses
    form.locator("[name=name]").fill("更衣室摄像机")
    form.locator("[name=location_categories]").select_option(["changing_room"])
    form.locator("button[type=submit]").click()
    errors = form.locator("[data-errors]")
    expect(errors).to_be_visible()
    expect(errors.locator(".article").first).to_contain_text("national-2025:art8")
    shot(page, "03-registry-refusal")
    page.click("button[data-tab=sites]")
    page.locator("#site-list button").first.click()
    expect(page.locator("#site-findings")).to_be_visible()
    shot(page, "04-registry-sites")


def test_watching_live_plays_and_is_registered(page: Page, site: Site) -> None:
    login(page, site, "duty")
    page.goto(f"{site.base}/ui/wall")
    tile = page.locator(".tile[data-tile='0']")
    expect(tile.locator("select")).to_have_value(str(site.live_camera))
    page.wait_for_function(  # the tile starts by itself, without a click
        "document.querySelector(\".tile[data-tile='0'] video\").currentTime > 0", timeout=20000
    )
    first = tile.locator("video").evaluate("v => v.currentTime")
    page.wait_for_function(
        f"document.querySelector(\".tile[data-tile='0'] video\").currentTime > {first + 1}",
        timeout=15000,
    )
    expect(tile.locator("[data-live]")).to_have_attribute("data-state", "live")
    shot(page, "05-duty-wall")
    tile.locator("[data-stop]").click()
    expect(tile).to_have_attribute("data-state", "stopped")
    login(page, site, "manager")
    page.goto(f"{site.base}/ui/register")
    entry = page.locator("tr[data-kind=live_view]").first
    expect(entry).to_contain_text("值班员甲（值班员）")
    shot(page, "06-register-live")


def test_playing_back_a_recorded_minute_asks_the_purpose_and_seeks(page: Page, site: Site) -> None:
    login(page, site, "duty")
    open_playback(
        page,
        site,
        site.archive_start - timedelta(minutes=1),
        site.archive_start + timedelta(minutes=2),
    )
    expect(page.locator(".timeline .seg")).to_have_count(6)
    page.click("#play")
    expect(page.locator("#purpose-dialog")).to_be_visible()
    page.fill("#purpose-form textarea", "核查 11 月 20 日失窃案")
    page.click("#purpose-form button[type=submit]")
    page.wait_for_function(
        "(() => { const v = document.querySelector('#players video');"
        " return v && v.currentTime > Number(v.dataset.seekTarget) + 0.5; })()",
        timeout=20000,
    )
    video = page.locator("#players video")
    before = video.evaluate("v => { delete v.dataset.seekMs; return v.dataset.seekTarget; }")
    bar = page.locator(".timeline").first.bounding_box()
    assert bar is not None
    # Click 5 s into the fourth recorded segment: inside footage, and never the position the
    # player itself last seeked to (a segment's start), so the new seek is the one observed.
    frac = page.evaluate(
        """() => { const p = window.custosPlayback, v = p.view();
             const s = p.players()[0].segments[3];
             return (Date.parse(s.start_at) + 5000 - v.start) / (v.end - v.start); }"""
    )
    page.mouse.click(bar["x"] + bar["width"] * frac, bar["y"] + bar["height"] / 2)
    page.wait_for_function(
        f"""(() => {{ const v = document.querySelector('#players video');
          return v.dataset.seekMs && v.dataset.seekTarget !== '{before}'
            && Math.abs(v.currentTime - Number(v.dataset.seekTarget)) < 2; }})()""",
        timeout=10000,
    )
    page.click("button[data-speed='4']")
    assert page.locator("#players video").evaluate("v => v.playbackRate") == 4
    shot(page, "07-playback")


def test_a_request_filed_by_one_user_is_approved_by_another_and_executed(
    page: Page, site: Site
) -> None:
    login(page, site, "officer")
    page.goto(f"{site.base}/ui/requests")
    f = page.locator("#request-form")
    f.locator("[name=action]").select_option("view")
    f.locator("[name=camera_ids]").select_option(str(site.archive_camera))
    start = site.archive_start.astimezone()
    f.locator("[name=start]").fill(start.strftime("%Y-%m-%dT%H:%M"))
    f.locator("[name=end]").fill((start + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M"))
    f.locator("[name=organ]").fill("北京市公安局朝阳分局")
    f.locator("[name=legal_basis]").fill("《刑事诉讼法》第五十四条")
    f.locator("[name=purpose]").fill("侦查盗窃案件")
    rows = f.locator(".handlers-row")
    for i, (name, number) in enumerate((("王警官", "NO-0001"), ("李警官", "NO-0002"))):
        rows.nth(i).locator("[name=h_name]").fill(name)
        # Beijing art. 17: a work ID and a certifying document, both
        rows.nth(i).locator("[name=h_type]").nth(0).select_option("work_id")
        rows.nth(i).locator("[name=h_number]").nth(0).fill(number)
        rows.nth(i).locator("[name=h_type]").nth(1).select_option("certifying_document")
        rows.nth(i).locator("[name=h_number]").nth(1).fill(f"{number}-证明")
    f.locator("button[type=submit]").click()
    expect(page.locator("#flash")).to_contain_text("已提交")
    shot(page, "08-request-filed")

    login(page, site, "head")
    page.goto(f"{site.base}/ui/requests")
    page.locator("#awaiting button[data-approve]").first.click()
    expect(page.locator("#flash")).to_contain_text("已批准")
    shot(page, "09-request-approved")

    login(page, site, "officer")
    page.goto(f"{site.base}/ui/requests")
    page.locator("button[data-execute]").first.click()
    expect(page.locator("#flash")).to_contain_text("查阅会话")
    shot(page, "10-request-executed")

    login(page, site, "admin")
    page.goto(f"{site.base}/ui/register")
    expect(page.locator("tr[data-kind=view]").first).to_contain_text("王警官")
    shot(page, "11-register")
    page.goto(f"{site.base}/ui/audit")
    page.click("#verify")
    expect(page.locator("#verify-result")).to_have_class("verify-ok")
    shot(page, "12-audit")


def test_pages_and_api_refuse_without_a_session(site: Site) -> None:
    r = httpx.get(f"{site.base}/ui/wall", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/ui/login")
    assert httpx.get(f"{site.base}/api/v1/cameras").status_code == 401


def test_a_hold_is_released_only_by_a_second_person(page: Page, site: Site) -> None:
    case = "朝公（刑）保字〔2025〕0042号"
    start = site.archive_start.astimezone()
    login(page, site, "manager")
    page.goto(f"{site.base}/ui/holds")
    page.click("#hold-new")
    f = page.locator("#hold-form")
    f.locator("[name=kind]").select_option("case")
    f.locator("[name=case_number]").fill(case)
    f.locator("[name=reason]").fill("盗窃案件证据，移送检察机关前保全")
    f.locator("[name=camera_ids]").select_option(str(site.archive_camera))
    f.locator("[name=start]").fill(start.strftime("%Y-%m-%dT%H:%M"))
    f.locator("[name=end]").fill((start - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M"))
    f.locator("button[type=submit]").click()
    refusal = f.locator("[data-errors] .refusal[data-field=end]")
    expect(refusal).to_be_visible()  # an inverted range is refused, the field named and marked
    expect(f.locator("[name=end]")).to_have_class("invalid")
    f.locator("[name=end]").fill((start + timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M"))
    f.locator("button[type=submit]").click()
    expect(page.locator("#flash")).to_contain_text(case)
    row = page.locator(f"#hold-list tr[data-case='{case}']")
    expect(row.locator("[data-state]")).to_have_attribute("data-state", "active")
    expect(row).to_contain_text("长期")  # no expiry: indefinite

    # The playback timeline marks the held range for a keeper, and shows nothing to an operator.
    window = (start - timedelta(minutes=1), start + timedelta(minutes=3))
    open_playback(page, site, *window)
    expect(page.locator(".timeline .hold")).to_have_count(1)
    expect(page.locator(".timeline .hold")).to_contain_text(case)
    shot(page, "13-playback-hold")

    page.goto(f"{site.base}/ui/holds")
    row.locator("button[data-release-request]").click()
    page.fill("#release-form textarea", "案件已审结，证据已移送")
    page.click("#release-form button[type=submit]")
    expect(row.locator("[data-state]")).to_have_attribute("data-state", "release_requested")
    row.locator("button[data-approve]").click()  # the one who asked cannot approve
    expect(row.locator(".refusal[data-field=approver]")).to_contain_text("须由另一人批准")
    expect(row.locator("[data-state]")).to_have_attribute("data-state", "release_requested")
    shot(page, "14-hold-release-refused")

    login(page, site, "duty")
    open_playback(page, site, *window)
    expect(page.locator(".timeline .seg")).to_have_count(6)
    expect(page.locator(".timeline .hold")).to_have_count(0)
    expect(page.locator("#pb-error")).to_be_hidden()
    expect(page.locator("nav.nav a[data-nav='nav.holds']")).to_have_count(0)

    login(page, site, "admin")
    page.goto(f"{site.base}/ui/holds")
    row.locator("button[data-approve]").click()
    expect(page.locator("#flash")).to_contain_text("已解除")
    expect(row).to_have_count(0)  # released holds are hidden until asked for
    page.check("#show-released")
    expect(row.locator("[data-state]")).to_have_attribute("data-state", "released")
    shot(page, "15-hold-released")
