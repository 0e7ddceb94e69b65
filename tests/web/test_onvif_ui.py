"""ONVIF in the browser: a unit manager discovers ipycam (a virtual ONVIF camera no one here
wrote) on loopback, accepts the proposal into the registry; the operator on duty moves it from
the wall, and the command reaches its motor and the operation log."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from custos.domain.calendar import shanghai_date
from custos.domain.kinds import LifecycleState
from custos.domain.users import SYSTEM
from tests.integration.onvif_peer import PASSWORD, USERNAME, Peer, ipycam_peer
from tests.web.conftest import Site, login, shot


@pytest.mark.slow  # a discovery, two sign-ins, the wall
def test_a_discovered_camera_is_accepted_on_the_page_and_moved_from_the_wall(
    page: Page, site: Site
) -> None:
    with ipycam_peer() as peer:
        login(page, site, "manager")
        page.goto(f"{site.base}/ui/onvif")
        form = page.locator("#discover-form")
        form.locator("input[name=interface]").fill("lo")
        form.locator("input[name=username]").fill(USERNAME)
        form.locator("input[name=password]").fill(PASSWORD)
        form.locator("input[name=timeout_s]").fill("4")  # a loaded machine answers late
        page.click("#discover-run")
        row = page.locator("#proposal-list tr", has_text=peer.xaddr)
        # the discovery itself takes its 4 s, then each answer is probed (ONVIF calls): more than
        # the default 5 s expectation on a busy machine
        expect(row).to_contain_text("VirtualCam-1", timeout=20_000)
        expect(row).to_have_attribute("data-status", "proposed")
        shot(page, "40-onvif-proposals")

        row.locator("[data-act=accept]").click()
        accept = page.locator("#accept-form")
        accept.locator("input[name=address_code]").fill("11010500001320008888")
        accept.locator("input[name=name]").fill("东门云台")
        accept.locator("select[name=location_categories]").select_option("shopping_mall")
        accept.locator("input[name=covers_public_area]").check()
        accept.locator("button[type=submit]").click()
        expect(page.locator("#flash")).to_contain_text("已登记为摄像机")
        expect(row).to_have_attribute("data-status", "accepted")
        assert PASSWORD not in page.content()

        c = site.container
        [cam] = [x for x in c.registry.list_cameras(SYSTEM) if x.name == "东门云台"]
        assert cam.id is not None
        today = shanghai_date(c.clock.now())
        for state in ("design_reviewed", "built", "accepted", "in_service"):
            c.registry.transition_camera(SYSTEM, cam.id, LifecycleState(state), today)

        try:
            _move_from_the_wall(page, site, peer, cam.id)
        finally:  # out of service again: the session's other tests see the demo's cameras only
            c.registry.transition_camera(SYSTEM, cam.id, LifecycleState.REMOVED, today)


def _move_from_the_wall(page: Page, site: Site, peer: Peer, camera_id: int) -> None:
    page.context.clear_cookies()
    login(page, site, "duty")
    page.goto(f"{site.base}/ui/wall")
    tile = page.locator(".tile").first
    tile.locator(".tile-camera").select_option(str(camera_id))
    bar = tile.locator("[data-ptz]")
    expect(bar).to_be_visible()
    bar.locator("[data-move='0.5,0,0']").click()  # press and let go: move, then stop
    shot(page, "41-wall-ptz")
    for _ in range(50):  # the two commands are sent on press and on release
        if len(peer.motor.calls) >= 2:
            break
        page.wait_for_timeout(100)
    assert [name for name, _ in peer.motor.calls][:2] == ["continuous_move", "stop"]
    assert peer.motor.calls[0][1] == (0.5, 0.0, 0.0)
    with site.container.uow() as uow:
        ptz = [e for _, e in uow.audit.find(limit=5000) if e.action == "camera.ptz"]
    assert [(e.actor, e.object_id) for e in ptz][-2:] == [("duty", str(camera_id))] * 2
