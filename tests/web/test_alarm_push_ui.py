"""Server push in the browser: the dashboard and the duty wall show a newly raised alarm at once,
without a reload (GET /ui/events, EventSource); the wall sounds a tone for a new critical alarm,
and the alarms page lists where the alarm was delivered."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect

from custos.domain.alarms import AlarmKind, Severity
from custos.entrypoints.web.i18n import catalogue
from tests.api.notify_peers import smtp_inbox
from tests.web.conftest import Site, login, shot


@pytest.mark.slow
def test_the_dashboard_and_the_wall_show_a_new_alarm_without_a_reload(
    page: Page, site: Site
) -> None:
    login(page, site, "admin")
    feed = page.locator("#alarm-feed")
    expect(feed).to_have_attribute("data-live", "1")
    started = time.monotonic()
    alarm = site.container.alarms.raise_(
        AlarmKind.INTEGRITY, Severity.CRITICAL, "segment:990001", "pushed to the dashboard",
        camera_id=site.archive_camera,
    )  # fmt: skip
    row = feed.locator(f'li[data-alarm-id="{alarm.id}"]')
    expect(row).to_be_visible(timeout=5000)
    print(f"alarm pushed to the dashboard in {time.monotonic() - started:.2f} s")
    expect(row).to_contain_text("pushed to the dashboard")
    shot(page, "dashboard-pushed-alarm")

    login(page, site, "duty")  # the operator on duty: the wall is theirs
    page.goto(f"{site.base}/ui/wall")
    wall_feed = page.locator("#alarm-feed")
    expect(wall_feed).to_have_attribute("data-live", "1")
    page.locator("h1").click()  # a gesture: browsers start audio only after one
    second = site.container.alarms.raise_(
        AlarmKind.INTEGRITY, Severity.CRITICAL, "segment:990002", "pushed to the wall",
        camera_id=site.archive_camera,
    )  # fmt: skip
    expect(wall_feed.locator(f'li[data-alarm-id="{second.id}"]')).to_be_visible(timeout=5000)
    expect(wall_feed).to_have_attribute("data-toned", "1")
    shot(page, "wall-pushed-alarm")

    page.goto(f"{site.base}/ui/alarms")
    page.locator(f'tr[data-alarm="{second.id}"] button[data-act="deliveries"]').click()
    none = catalogue("zh_CN")["delivery.none"]  # the demo unit has no channel
    expect(page.locator(f'tr[data-alarm="{second.id}"] .deliveries')).to_contain_text(none)


@pytest.mark.slow
def test_a_unit_manager_adds_a_mail_channel_and_the_running_server_delivers_an_alarm_to_it(
    page: Page, site: Site
) -> None:
    t = catalogue("zh_CN")
    with smtp_inbox() as inbox:
        login(page, site, "manager")
        page.goto(f"{site.base}/ui/notify")
        form = page.locator("#channel-form")
        form.locator("[name=name]").fill("值班邮箱")
        form.locator("[name=url]").fill(inbox.url)
        form.locator("button[type=submit]").click()
        row = page.locator("#notify-channels tr[data-channel]")
        expect(row).to_have_count(1)
        expect(row).to_contain_text("mailto://127.0.0.1")
        assert f"127.0.0.1:{inbox.port}" not in page.content()  # the URL is write-only
        row.locator("button[data-act=test]").click()
        expect(page.locator("#flash")).to_contain_text(t["notify.test_ok"].split("“")[0])
        inbox.wait(1)
        shot(page, "notify-channels")
        started = time.monotonic()
        alarm = site.container.alarms.raise_(
            AlarmKind.INTEGRITY, Severity.CRITICAL, "segment:990003", "mailed by the server",
            camera_id=site.archive_camera,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        mine: list[str] = []
        while not mine and time.monotonic() < deadline:
            mine = [
                str(m["Subject"]) for m in inbox.messages if "segment:990003" in str(m["Subject"])
            ]
            time.sleep(0.02)
        assert mine, "the server's notifier did not deliver the alarm within 10 s"
        print(f"raise -> inbox through the running server: {time.monotonic() - started:.2f} s")
        page.goto(f"{site.base}/ui/notify")
        rota = page.locator("#rota-form")
        rota.locator("[name=user_id]").select_option(label="值班员甲")
        rota.locator("[name=channel_id]").select_option(label="值班邮箱")
        rota.locator("button[type=submit]").click()
        page.locator("#rota-save").click()
        expect(page.locator("#flash")).to_contain_text(t["notify.saved"])
        page.reload()
        expect(page.locator("#notify-rota tbody tr")).to_contain_text("值班员甲")
        shot(page, "notify-rota")
        page.locator("#notify-channels tr[data-channel] button[data-act=remove]").click()
        expect(page.locator("#notify-channels tr[data-channel]")).to_have_count(1)  # kept, disabled
        expect(page.locator("#notify-channels tr[data-channel]")).to_contain_text(t["notify.no"])
    assert alarm.id is not None
