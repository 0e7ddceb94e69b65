"""The camera form: the device code is explained part by part and checked as it is typed, and
the location categories can be searched and are grouped."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.web.conftest import Site, login, shot


def test_the_device_code_is_decoded_and_checked_while_typing(page: Page, site: Site) -> None:
    login(page, site, "admin")
    page.goto(f"{site.base}/ui/registry")
    page.click("#camera-new")
    form = page.locator("#camera-form")
    expect(form.locator("#code-help")).to_contain_text("行政区划 6 位")
    code = form.locator("[name=address_code]")
    parts = form.locator("#code-parts")
    code.press_sequentially("1101050000")
    expect(parts.locator("[data-part=division] b")).to_have_text("110105")
    expect(parts.locator("[data-part=division]")).to_contain_text("北京")
    expect(parts.locator("[data-part=industry]")).to_contain_text("社会治安路面接入")
    expect(parts).to_contain_text("已输入 10 位，应为 20 位")
    code.press_sequentially("1337")  # type 133 (a display: no video), network 7
    expect(parts.locator("[data-part=network]")).to_contain_text("互联网")
    expect(parts.locator("[data-part=type]")).to_contain_text("显示器")
    expect(parts.locator(".code-problem")).to_contain_text("不是视频源")
    assert code.evaluate("i => !i.checkValidity()")
    code.fill("")
    code.press_sequentially("11010500001320001234")
    expect(parts.locator(".code-ok")).to_be_visible()
    expect(parts.locator("[data-part=serial] b")).to_have_text("001234")
    assert code.evaluate("i => i.checkValidity()")
    code.fill("")
    code.press_sequentially("99")
    expect(parts.locator(".code-problem")).to_contain_text("99 不是省级行政区划代码")
    shot(page, "50-camera-code")


def test_location_categories_can_be_searched_and_are_grouped(page: Page, site: Site) -> None:
    login(page, site, "admin")
    page.goto(f"{site.base}/ui/registry")
    page.click("#camera-new")
    select = page.locator("#category-select")
    groups = select.locator("optgroup")
    expect(groups).to_have_count(2)
    total = select.locator("option").count()
    assert total > 60
    page.fill("#category-search", "医院")
    visible = select.evaluate("s => [...s.options].filter((o) => !o.hidden).map((o) => o.value)")
    assert visible and len(visible) < 5 and "hospital" in visible, visible
    page.fill("#category-search", "changing_room")
    visible = select.evaluate("s => [...s.options].filter((o) => !o.hidden).map((o) => o.value)")
    assert visible == ["changing_room"], visible
    assert (
        select.evaluate("s => [...s.querySelectorAll('optgroup')].filter((g) => !g.hidden).length")
        == 1
    )
    select.select_option(["changing_room"])
    expect(page.locator("#category-chips [data-category=changing_room]")).to_be_visible()
    page.locator("#category-chips [data-category=changing_room] button").click()
    assert select.evaluate("s => s.selectedOptions.length") == 0
    shot(page, "51-camera-categories")
