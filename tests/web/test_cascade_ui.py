"""The cascade page: an administrator adds an upper platform (the password never comes back),
sees its link state, and shares a camera with it."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.web.conftest import Site, login, shot

UPPER_ID = "11000000002005000042"


def test_an_upper_platform_is_added_listed_with_its_state_and_given_a_camera(
    page: Page, site: Site
) -> None:
    login(page, site, "admin")
    page.goto(f"{site.base}/ui/cascade")
    expect(page.locator("h1")).to_have_text("上级平台（国标级联）")
    form = page.locator("#platform-form")
    form.locator("input[name=name]").fill("市局平台")
    form.locator("input[name=sip_id]").fill(UPPER_ID)
    form.locator("input[name=domain]").fill(UPPER_ID[:10])
    form.locator("input[name=host]").fill("192.0.2.60")
    form.locator("input[name=password]").fill("ui-upper-secret")
    form.locator("button[type=submit]").click()
    row = page.locator("#platform-list tr[data-platform]", has_text=UPPER_ID)
    expect(row).to_be_visible()
    expect(row.locator("[data-state]")).to_have_text("注册中")  # gb is off in the demo
    expect(page.locator("body")).not_to_contain_text("ui-upper-secret")
    row.locator("[data-act=shares]").click()
    share = page.locator("#share-form")
    share.locator("input[name=camera_id]").fill(str(site.live_camera))
    share.locator("button[type=submit]").click()
    expect(page.locator(f"#share-list tr[data-camera='{site.live_camera}']")).to_be_visible()
    shot(page, "60-cascade")
