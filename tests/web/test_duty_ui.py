"""Duty in the browser: an operator signs on at the wall and hands over with a note on the duty
page; the next operator, in a browser of their own, accepts and is then the one on duty."""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from custos.domain.access import Role
from custos.domain.users import SYSTEM
from custos.services.monitoring_room import RoomInput
from tests.web.conftest import Site, login, shot


def test_an_operator_signs_on_at_the_wall_hands_over_and_the_next_accepts(
    browser: Browser, site: Site
) -> None:
    c = site.container
    unit_site = c.registry.list_sites(SYSTEM)[0]
    room = c.rooms.create(SYSTEM, RoomInput(unit_site.id or 0, "一号监控室"))
    if "duty-b" not in site.users:
        site.add_user("duty-b", Role.OPERATOR, unit_id=unit_site.unit_id, full_name="值班员乙")
    contexts = [
        browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900})
        for _ in range(2)
    ]
    try:
        first, second = (ctx.new_page() for ctx in contexts)
        login(first, site, "duty")
        first.goto(f"{site.base}/ui/wall")  # the operator signs on at the wall
        strip = first.locator(f"#duty-strip [data-room='{room.id}']")
        expect(strip).to_contain_text("当前无人值班")
        strip.locator("button[data-act=sign-on]").click()
        expect(strip).to_contain_text("在岗：duty")
        expect(strip.locator("button[data-act=sign-on]")).to_have_count(0)
        first.goto(f"{site.base}/ui/duty")
        first.locator("#duty-room").select_option(str(room.id))
        expect(first.locator("#duty-now tr[data-session]")).to_contain_text("值班员甲")
        expect(first.locator("#duty-sign-on")).to_be_hidden()

        first.locator("#handover-to").select_option(label="值班员乙")
        first.fill("#handover-form textarea[name=note]", "3号机画面偏暗，已报修")
        first.click("#handover-submit")
        expect(first.locator("#flash")).to_contain_text("已交班")
        expect(first.locator("#duty-now")).to_contain_text("交班给 值班员乙")
        shot(first, "30-duty-handover")

        login(second, site, "duty-b")
        second.goto(f"{site.base}/ui/duty")
        second.locator("#duty-room").select_option(str(room.id))
        row = second.locator("#duty-now tr[data-session]")
        expect(row).to_contain_text("3号机画面偏暗，已报修")
        row.locator("button[data-act=accept]").click()
        expect(second.locator("#flash")).to_contain_text("已接班")
        expect(second.locator("#duty-now tr[data-session]")).to_have_count(1)
        expect(second.locator("#duty-now tr[data-session]")).to_contain_text("值班员乙")
        shot(second, "31-duty-accepted")
        assert c.duty.on_duty_users(unit_site.unit_id) == [site.users["duty-b"]]
    finally:
        for ctx in contexts:
            ctx.close()
