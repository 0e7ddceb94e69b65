"""Leaving the playback page ends its session: the register entry gets an end time, for staff
playback and for a granted view alike (pagehide → keepalive POST /sessions/{id}/end)."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from playwright.sync_api import Page, expect

from tests.web.conftest import Site, login, open_playback
from tests.web.test_requests_ui import as_user, granted_view


def _entry(site: Site, session_id: int) -> dict[str, Any]:
    with as_user(site, "admin") as http:
        r = http.get("/register", params={"limit": 500})
        assert r.status_code == 200, r.text
        body = r.json()
        rows = body["entries"] if isinstance(body, dict) else body
        [entry] = [e for e in rows if e["session_id"] == session_id]
        return entry  # type: ignore[no-any-return]


def _ended(site: Site, session_id: int) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while True:
        entry = _entry(site, session_id)
        if entry["ended_at"] is not None or time.monotonic() > deadline:
            return entry
        time.sleep(0.2)


def test_leaving_a_playback_ends_its_session_in_the_register(page: Page, site: Site) -> None:
    login(page, site, "duty")
    open_playback(
        page,
        site,
        site.archive_start - timedelta(minutes=1),
        site.archive_start + timedelta(minutes=2),
    )
    expect(page.locator(".timeline .seg")).to_have_count(6)
    with page.expect_response(lambda r: r.url.endswith("/api/v1/playback/sessions")) as opened:
        page.click("#play")
        page.fill("#purpose-form textarea", "核查离开页面后的登记")
        page.click("#purpose-form button[type=submit]")
    session_id = int(opened.value.json()["id"])
    assert _entry(site, session_id)["ended_at"] is None
    page.goto(f"{site.base}/ui/")  # leave the page
    entry = _ended(site, session_id)
    assert entry["ended_at"] is not None, entry


def test_closing_a_granted_view_ends_its_session_in_the_register(page: Page, site: Site) -> None:
    req, session_id = granted_view(site)
    scope = req["scope"]
    login(page, site, "officer")
    page.goto(
        f"{site.base}/ui/playback?session={session_id}&cameras={site.archive_camera}"
        f"&start={quote(scope['start'])}&end={quote(scope['end'])}"
    )
    expect(page.locator(".timeline").first).to_be_visible()
    assert _entry(site, session_id)["ended_at"] is None
    page.close(run_before_unload=True)  # the tab is closed
    entry = _ended(site, session_id)
    assert entry["ended_at"] is not None, entry
