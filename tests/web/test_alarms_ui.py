"""Alarms in the browser: the dashboard counts the open alarms the user may see, admin and
supervisor see the storage card, and the alarms page acknowledges and resolves with a note."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from custos.domain.access import Role
from custos.domain.alarms import AlarmKind, Severity
from tests.web.conftest import PASSWORD, Site, login, shot


def _open_alarms(site: Site, username: str, query: str = "") -> list[dict[str, object]]:
    with httpx.Client(base_url=site.base) as http:
        r = http.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
        token = r.json()["access_token"]
        alarms = http.get(f"/api/v1/alarms{query}", headers={"Authorization": f"Bearer {token}"})
        assert alarms.status_code == 200, alarms.text
        result: list[dict[str, object]] = alarms.json()
        return result


def _supervisor(site: Site) -> str:
    if "watcher" not in site.users:
        site.add_user("watcher", Role.SUPERVISOR, full_name="钱督察")
    return "watcher"


def test_the_dashboard_counts_the_open_alarms_and_shows_storage_to_those_who_act(
    page: Page, site: Site
) -> None:
    site.container.alarms.raise_(
        AlarmKind.STORAGE_FULL, Severity.CRITICAL, "ui-test-volume", "no room", None
    )
    for username in ("admin", _supervisor(site)):
        login(page, site, username)
        count = page.locator("#stat-alarms [data-count]")
        # The site's own recorder and housekeeper may raise or clear an alarm while the page
        # loads: compare with the API's count taken before and after, and load again until the
        # two agree (the dashboard must equal the count of that moment).
        for _ in range(5):
            before = len(_open_alarms(site, username))
            page.reload()
            expect(count).not_to_have_text("—")
            shown = count.inner_text()
            if before == len(_open_alarms(site, username)):
                break
        assert before >= 1
        assert shown == str(before)
        expect(page.locator("#stat-alarms")).to_have_class("card stat alert")
        expect(page.locator("#dash-storage table").first).to_be_visible()
        expect(page.locator("#dash-storage")).not_to_contain_text("您的角色看不到")
    shot(page, "20-dashboard-alarms")


def test_an_alarm_is_acknowledged_then_resolved_with_who_when_and_note(
    page: Page, site: Site
) -> None:
    alarm = site.container.alarms.raise_(
        AlarmKind.INTEGRITY, Severity.CRITICAL, "segment:999999", "test", None,
        camera_id=site.archive_camera,
    )  # fmt: skip
    login(page, site, _supervisor(site))
    page.goto(f"{site.base}/ui/alarms")
    page.locator("#alarm-filter [name=severity]").select_option("critical")
    page.locator("#alarm-filter [name=camera_id]").select_option(str(site.archive_camera))
    page.click("#alarm-filter button[type=submit]")
    row = page.locator(f"tr[data-alarm='{alarm.id}']")
    # The filter lists what the API holds for it: this alarm, and those other tests of the same
    # site raised on the archive camera (the alarm push tests do), nothing else.
    same = _open_alarms(
        site, _supervisor(site), f"?severity=critical&camera_id={site.archive_camera}"
    )
    assert alarm.id in [a["id"] for a in same]
    expect(page.locator("#alarm-list tr[data-alarm]")).to_have_count(len(same))
    expect(row).to_contain_text("录像段 999999")
    row.locator("input[name=note]").fill("已通知机房")
    row.locator("button[data-act=acknowledge]").click()
    expect(page.locator("#flash")).to_contain_text(f"告警 {alarm.id} 已确认")
    row = page.locator(f"tr[data-alarm='{alarm.id}']")
    expect(row).to_contain_text("钱督察")
    expect(row).to_contain_text("已通知机房")
    row.locator("input[name=note]").fill("文件已从备份恢复")
    row.locator("button[data-act=resolve]").click()
    expect(page.locator(f"tr[data-alarm='{alarm.id}']")).to_have_count(0)
    page.locator("#alarm-filter [name=include_cleared]").check()
    page.click("#alarm-filter button[type=submit]")
    expect(page.locator(f"tr[data-alarm='{alarm.id}']")).to_contain_text("文件已从备份恢复")
    shot(page, "21-alarms-resolved")
    login(page, site, "admin")
    page.goto(f"{site.base}/ui/audit")
    expect(page.locator("body")).to_contain_text("alarm.resolve")


def test_an_operator_on_duty_sees_the_alarms_of_the_cameras_in_reach_not_the_systems(
    page: Page, site: Site
) -> None:
    camera = site.container.alarms.raise_(  # a kind the site's own watchers leave alone
        AlarmKind.INTEGRITY, Severity.CRITICAL, "segment:999998", "hash changed", None,
        camera_id=site.archive_camera,
    )  # fmt: skip
    system = site.container.alarms.raise_(
        AlarmKind.STORAGE_FULL, Severity.CRITICAL, "volume:ui-operator", "no room", None
    )
    login(page, site, "duty")
    page.locator("nav [data-nav='nav.alarms']").click()
    expect(page.locator(f"tr[data-alarm='{camera.id}']")).to_contain_text("录像段 999998")
    expect(page.locator(f"tr[data-alarm='{system.id}']")).to_have_count(0)
    assert {a["id"] for a in _open_alarms(site, "duty")} >= {camera.id}
    assert system.id not in {a["id"] for a in _open_alarms(site, "duty")}
