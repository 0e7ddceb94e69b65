"""Server push in the browser: the dashboard and the duty wall show a newly raised alarm at once,
without a reload (GET /ui/events, EventSource); the wall sounds a tone for a new critical alarm,
and the alarms page lists where the alarm was delivered."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect

from custos.domain.alarms import AlarmKind, Severity
from custos.entrypoints.web.i18n import catalogue
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
