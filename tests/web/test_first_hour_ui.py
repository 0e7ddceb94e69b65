"""The first hour in the browser: the sign-in that ``custos demo`` prints reaches the duty wall
and its video (docs/design/first-hour.md, "Demo users")."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.web.conftest import Site, shot

PRINTED = re.compile(r"user (demo-operator) \(operator of the demo unit\), password (\S+)")


def test_the_operator_the_demo_prints_reaches_the_duty_wall(page: Page, site: Site) -> None:
    printed = PRINTED.search((site.data_dir.parent / "custos.log").read_text())
    assert printed is not None, "custos demo prints a sign-in that can watch"
    username, password = printed.groups()
    page.goto(f"{site.base}/ui/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("#login-form button[type=submit]")
    page.wait_for_url("**/ui/")
    page.click("nav.nav a[data-nav='nav.wall']")
    page.wait_for_url("**/ui/wall")
    tile = page.locator(".tile[data-tile='0']")
    expect(tile.locator("select")).to_have_value(str(site.live_camera))
    tile.click()
    page.wait_for_function(
        "document.querySelector(\".tile[data-tile='0'] video\").currentTime > 0", timeout=20000
    )
    shot(page, "00-first-hour-demo-operator-wall")
    tile.locator("[data-stop]").click()
