"""The duty wall in Chromium (docs/design/live.md §3): it opens by itself and plays every tile
without a click, says each tile's state, keeps the overlay off the camera's burnt-in clock at the
top-left, keeps a playing player through a layout change, outlines the tile of an alarmed camera,
and every tile's stream is a registered live view."""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from custos.domain.alarms import AlarmKind, Severity
from tests.web.conftest import PASSWORD, Site, login, shot

ALARMED = re.compile(r"\balarmed\b")
PLAYING = """n => [...document.querySelectorAll('.tile video')]
  .filter(v => v.currentTime > 0.3 && !v.paused).length >= n"""

# Overlay elements shown on a tile, with their boxes and the tile's: none may reach into the
# top-left 20% x 12% of a playing tile, where cameras burn in their clock.
COVERING = """() => {
  const out = [];
  for (const tile of document.querySelectorAll('.tile')) {
    const v = tile.querySelector('video');
    if (!(v.currentTime > 0)) continue;
    const t = v.getBoundingClientRect();
    const corner = { right: t.left + 0.2 * t.width, bottom: t.top + 0.12 * t.height };
    for (const e of tile.querySelectorAll('.tile-top > *, .tile-bottom, .tile-hint, .ptz-bar')) {
      const r = e.getBoundingClientRect();
      if (!r.width || !r.height || getComputedStyle(e).display === 'none') continue;
      if (r.left < corner.right && r.top < corner.bottom && r.right > t.left && r.bottom > t.top)
        out.push(`${tile.dataset.tile}: ${e.className || e.tagName}`);
    }
  }
  return out;
}"""


def _times(page: Page) -> list[float]:
    times: list[float] = page.evaluate(
        "() => [...document.querySelectorAll('.tile video')].map(v => v.currentTime)"
    )
    return times


def _register(site: Site, kind: str) -> list[dict[str, Any]]:
    """The register's newest entries of ``kind``, as the unit manager reads them."""
    with httpx.Client(base_url=site.base) as http:
        r = http.post("/api/v1/auth/login", json={"username": "manager", "password": PASSWORD})
        auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
        r = http.get("/api/v1/register", params={"kind": kind, "limit": 200}, headers=auth)
        assert r.status_code == 200, r.text
        entries: list[dict[str, Any]] = r.json()
    return entries


def test_the_wall_opens_by_itself_plays_says_live_and_keeps_the_clock_clear(
    page: Page, site: Site
) -> None:
    login(page, site, "duty")
    page.goto(f"{site.base}/ui/wall")
    page.wait_for_function(PLAYING, arg=2, timeout=20000)  # no click anywhere
    before = _times(page)
    page.wait_for_function(
        f"""() => {{ const before = {before};
          return [...document.querySelectorAll('.tile video')]
            .filter((v, i) => v.currentTime > before[i] + 1).length >= 2; }}""",
        timeout=15000,
    )
    tile = page.locator(".tile[data-tile='0']")
    expect(tile).to_have_attribute("data-state", "live")
    expect(tile.locator("[data-live]")).to_have_text("实时")
    expect(tile.locator("[data-hint]")).to_be_hidden()
    assert tile.locator("video").evaluate("v => Number(v.dataset.firstFrameMs)") > 0
    assert page.evaluate(COVERING) == []
    shot(page, "05-duty-wall-live")
    sessions = page.eval_on_selector_all(
        ".tile[data-session]", "ts => ts.map(t => Number(t.dataset.session))"
    )
    assert len(sessions) >= 2
    assert set(sessions) <= {e["session_id"] for e in _register(site, "live_view")}

    # The feed breaks (the socket ends): the tile says so and comes back by itself, a new view.
    page.evaluate("() => custosWall.tiles()[0].player.ws.close()")
    expect(tile).to_have_attribute("data-state", "reconnecting")
    expect(tile.locator("[data-live]")).to_have_text("正在重连…")
    expect(tile).to_have_attribute("data-state", "live", timeout=10000)
    assert tile.get_attribute("data-session") not in (None, str(sessions[0]))


def test_a_layout_change_keeps_the_player_and_a_saved_layout_comes_back(
    page: Page, site: Site
) -> None:
    login(page, site, "duty")
    page.goto(f"{site.base}/ui/wall")
    first = page.locator(".tile[data-tile='0']")
    expect(first).to_have_attribute("data-camera", str(site.live_camera))
    page.wait_for_function(
        "document.querySelector(\".tile[data-tile='0'] video\").currentTime > 0.3", timeout=20000
    )
    expect(first).to_have_attribute("data-stream", "sub")
    expect(first.locator("[data-path]")).to_have_attribute("data-path", re.compile(r"^sub/"))
    session = first.get_attribute("data-session")
    first.locator("video").evaluate("v => { v.dataset.marked = '1'; }")  # the same element later
    page.click("button[data-layout='9']")
    expect(page.locator(".tile")).to_have_count(9)
    at = first.locator("video").evaluate("v => v.currentTime")
    page.wait_for_function(
        f"""() => {{ const v = document.querySelector(".tile[data-tile='0'] video");
          return v.dataset.marked === '1' && !v.paused && v.currentTime > {at} + 1; }}""",
        timeout=15000,
    )
    assert first.get_attribute("data-session") == session  # the same registered view
    expect(page.locator(".tile[data-tile='8']")).to_have_attribute("data-state", "empty")

    page.fill("#wall-rows", "2")  # a custom grid, saved as mine, is what the wall opens next
    page.fill("#wall-cols", "3")
    page.click("#wall-custom")
    expect(page.locator(".tile")).to_have_count(6)
    assert first.get_attribute("data-session") == session
    page.click("#wall-save")
    expect(page.locator("#wall-saved")).to_be_visible()
    try:
        page.reload()
        expect(page.locator("#wall")).to_have_attribute("data-layout", "2x3")
        expect(page.locator(".tile")).to_have_count(6)
        expect(page.locator("#wall-source")).to_have_attribute("data-source", "user")
        expect(first).to_have_attribute("data-camera", str(site.live_camera))
        expect(first).to_have_attribute("data-state", "live", timeout=15000)
        page.click("button[data-layout='1']")  # a single tile asks for the main stream
        expect(page.locator(".tile")).to_have_count(1)
        expect(first).to_have_attribute("data-stream", "main")
        expect(first).to_have_attribute("data-state", "live", timeout=15000)
    finally:  # the other tests open the wall with no layout of the operator's own
        status = page.evaluate(
            "async () => (await fetch('/api/v1/wall/layout',"
            " {method: 'DELETE', headers: {'X-Custos-UI': '1'}})).status"
        )
        assert status == 204


def test_alarm_outline_tour_snapshot_and_ptz_not_available(page: Page, site: Site) -> None:
    login(page, site, "manager")  # a unit manager may export: the snapshot button is there
    page.goto(f"{site.base}/ui/wall")
    expect(page.locator("#alarm-feed")).to_have_attribute("data-live", "1")
    tile = page.locator(".tile[data-tile='0']")
    expect(tile).to_have_attribute("data-camera", str(site.live_camera))
    none = tile.locator("[data-ptz-none]")  # the demo's cameras have no PTZ
    expect(none).to_be_visible()
    expect(none).to_be_disabled()
    expect(none).to_have_attribute("title", "该摄像机不支持云台控制")

    subject = f"camera:{site.live_camera}:wall-test"
    alarm = site.container.alarms.raise_(
        AlarmKind.INTEGRITY, Severity.CRITICAL, subject, "on the wall", camera_id=site.live_camera
    )
    expect(tile).to_have_class(ALARMED, timeout=5000)
    expect(tile).to_have_attribute("data-alarm-id", str(alarm.id))
    expect(page.locator(".tile.alarmed")).to_have_count(1)
    shot(page, "05-duty-wall-alarm")
    assert site.container.alarms.clear(AlarmKind.INTEGRITY, subject)
    expect(tile).not_to_have_class(ALARMED, timeout=5000)

    third = page.locator(".tile[data-tile='2']")  # a tour of the two demo cameras, 5 s each
    third.locator("[data-tour]").click()
    form = page.locator("#tour-form")
    form.locator("select[name=camera_ids]").select_option(["1", "2"])
    form.locator("[name=interval_s]").fill("5")
    form.locator("button[type=submit]").click()
    expect(third).to_have_attribute("data-camera", "1")
    expect(third.locator("[data-tour-badge]")).to_be_visible()
    expect(third).to_have_attribute("data-camera", "2", timeout=8000)

    tile.locator("[data-snapshot]").click()  # a snapshot: a purpose asked in a form, registered
    snap = page.locator("#snapshot-form")
    snap.locator("textarea[name=purpose]").fill("核查 12 月 8 日值班画面")
    snap.locator("button[type=submit]").click()
    link = snap.locator("a[data-snapshot]")
    expect(link).to_be_visible(timeout=10000)
    magic = link.evaluate(
        "async a => [...new Uint8Array(await (await fetch(a.href)).arrayBuffer()).slice(0, 2)]"
    )
    assert magic == [0xFF, 0xD8]  # a JPEG
    entry = int(link.get_attribute("data-snapshot") or 0)
    found = [e for e in _register(site, "export") if e["id"] == entry]
    assert [e["purpose"] for e in found] == ["核查 12 月 8 日值班画面"]
