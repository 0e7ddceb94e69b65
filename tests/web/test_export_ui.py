"""Exporting from the playback page (Chromium): a range picked with the handles or the inputs,
its estimated size, a purpose, a progress bar while the package builds, then the package and its
chain-of-custody sheet, in Chinese and in English."""

from __future__ import annotations

import zipfile
from datetime import datetime, timedelta

from playwright.sync_api import Page, expect

from tests.web.conftest import Site, login, open_playback, shot
from tests.web.test_requests_ui import as_user

SET_RANGE = """([start, end]) => {
  const p = (n) => String(n).padStart(2, "0");
  const v = (t) => { const d = new Date(t);
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`; };
  for (const [id, t] of [["export-start", start], ["export-end", end]]) {
    const input = document.getElementById(id);
    input.value = v(Date.parse(t));
    input.dispatchEvent(new Event("change"));
  }
}"""


def _estimate(site: Site, start: datetime, end: datetime) -> dict[str, int]:
    with as_user(site, "manager") as http:
        r = http.get(
            "/exports/estimate",
            params={
                "camera_ids": site.archive_camera,
                "start": start.isoformat(),
                "end": end.isoformat(),
            },
        )
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]


def test_a_range_picked_on_the_timeline_is_exported_and_downloaded(page: Page, site: Site) -> None:
    login(page, site, "manager")
    open_playback(
        page,
        site,
        site.archive_start - timedelta(minutes=1),
        site.archive_start + timedelta(minutes=2),
    )
    expect(page.locator(".timeline .seg")).to_have_count(6)
    panel = page.locator("#export-panel")
    expect(panel).to_be_visible()
    expect(panel.locator("h2")).to_have_text("导出")
    expect(page.locator(".timeline .export-range")).to_have_count(1)
    whole = _estimate(
        site, site.archive_start - timedelta(minutes=1), site.archive_start + timedelta(minutes=2)
    )
    expect(page.locator("#export-estimate")).to_have_attribute("data-bytes", str(whole["bytes"]))
    expect(page.locator("#export-estimate")).to_contain_text("6 段")

    # the start handle dragged to 25 s into the archive moves the start input and the estimate
    # (4 segments of 10 s left). The view is the form's, to the minute: the handle's target is
    # placed from the panel's own inputs, not from the archive's second.
    before = page.input_value("#export-start")
    view = page.evaluate(
        "() => ['export-start', 'export-end'].map((i) => Date.parse(document.getElementById(i).value))"
    )
    target = (site.archive_start + timedelta(seconds=25)).timestamp() * 1000
    fraction = (target - view[0]) / (view[1] - view[0])
    assert 0.05 < fraction < 0.95, (view, target)
    track = page.locator("#export-track").bounding_box()
    handle = page.locator("[data-handle=start]").bounding_box()
    assert track is not None and handle is not None
    page.mouse.move(handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
    page.mouse.down()
    page.mouse.move(track["x"] + track["width"] * fraction, handle["y"] + 5, steps=5)
    page.mouse.up()
    assert page.input_value("#export-start") != before
    expect(page.locator("#export-estimate")).to_contain_text("4 段", timeout=15_000)
    expect(page.locator("#export-estimate")).not_to_have_attribute(
        "data-bytes", str(whole["bytes"])
    )

    # the inputs, to the second: 5 s into the first segment to 25 s (½ + 1 + ½ segment)
    start = site.archive_start + timedelta(seconds=5)
    end = site.archive_start + timedelta(seconds=25)
    page.evaluate(SET_RANGE, [start.isoformat(), end.isoformat()])
    want = _estimate(site, start, end)
    assert want["segment_count"] == 3
    expect(page.locator("#export-estimate")).to_have_attribute("data-bytes", str(want["bytes"]))
    expect(page.locator("#export-estimate")).to_contain_text("3 段")
    shot(page, "export-01-range")

    page.click("#export-go")  # no purpose yet: asked for, nothing built
    expect(page.locator("#export-error")).to_contain_text("导出用途")
    page.fill("#export-purpose", "核查东门事件，移交派出所")
    page.click("#export-go")
    expect(page.locator("#export-progress progress")).to_be_visible()
    expect(page.locator("#export-elapsed")).to_contain_text("秒")
    shot(page, "export-02-building")
    expect(page.locator("#export-done")).to_be_visible(timeout=120_000)
    expect(page.locator("#export-progress")).to_be_hidden()
    shot(page, "export-03-done")

    with page.expect_download() as got:
        page.click("#export-download")
    path = got.value.path()
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        assert "manifest.json" in names
        sheet = z.read("custody.pdf") if "custody.pdf" in names else None
    href = page.get_attribute("#export-custody", "href")
    assert href is not None and href.endswith("/custody.pdf")
    r = page.request.get(f"{site.base}{href}")
    if sheet is not None:  # the signed package carries its sheet; the route serves it alone
        assert r.status == 200 and r.headers["content-type"] == "application/pdf"
        assert r.body() == sheet
    else:
        assert r.status == 404


def test_the_export_panel_speaks_english_and_stays_hidden_without_the_permission(
    page: Page, site: Site
) -> None:
    login(page, site, "manager")
    page.click("button[data-lang=en]")
    open_playback(
        page,
        site,
        site.archive_start - timedelta(minutes=1),
        site.archive_start + timedelta(minutes=2),
    )
    expect(page.locator("#export-panel h2")).to_have_text("Export")
    expect(page.locator("#export-estimate")).to_contain_text("(6 segments)")
    shot(page, "export-04-english")
    page.click("button[data-lang=zh_CN]")
    page.context.clear_cookies()
    login(page, site, "duty")  # an operator plays back but may not export
    open_playback(
        page,
        site,
        site.archive_start - timedelta(minutes=1),
        site.archive_start + timedelta(minutes=2),
    )
    expect(page.locator(".timeline .seg")).to_have_count(6)
    expect(page.locator("#export-panel")).to_be_hidden()
