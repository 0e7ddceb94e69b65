"""Video quality diagnosis in the browser: the live demo camera's reference and latest sample,
a reference proposed by one administrator, refused to herself, approved by another."""

from __future__ import annotations

import time

from playwright.sync_api import Page, expect

from custos.domain.access import Role
from custos.domain.users import SYSTEM
from tests.web.conftest import Site, login, shot


def _sampled(site: Site) -> None:
    """Wait for the live camera's first sample (its segments are 10 s; the server's own
    sampler runs too, so tick here as well to be quick)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        site.container.diagnosis.tick()
        if site.container.diagnosis.status(SYSTEM, site.live_camera)["sampled_at"]:
            return
        time.sleep(1)
    raise AssertionError("the live camera was never sampled")


def test_a_reference_proposed_by_one_person_is_approved_by_another(page: Page, site: Site) -> None:
    _sampled(site)
    if "second.admin" not in site.users:
        site.add_user("second.admin", Role.ADMIN, full_name="李管理")
    login(page, site, "admin")
    page.goto(f"{site.base}/ui/diagnosis?camera={site.live_camera}")
    expect(page.locator("#diag-reference")).to_be_visible()
    expect(page.locator("#diag-latest")).to_be_visible()
    expect(page.locator("#diag-metrics table")).to_be_visible()
    expect(page.locator('#diag-references tr[data-state="approved"]')).to_have_count(1)
    page.fill("#diag-propose input[name=reason]", "按批准方案移位 2 米")
    page.click("#diag-propose button[type=submit]")
    proposed = page.locator('#diag-references tr[data-state="proposed"]')
    expect(proposed).to_have_count(1)
    expect(proposed).to_contain_text("本人提出的参考画面须由他人批准")
    expect(proposed.locator("button[data-act=approve]")).to_have_count(0)
    shot(page, "40-diagnosis-proposed")

    login(page, site, "second.admin")
    page.goto(f"{site.base}/ui/diagnosis?camera={site.live_camera}")
    page.locator('#diag-references tr[data-state="proposed"] button[data-act=approve]').click()
    expect(page.locator("#flash")).to_contain_text("已批准")
    expect(page.locator('#diag-references tr[data-state="superseded"]')).to_have_count(1)
    expect(page.locator('#diag-references tr[data-state="approved"]')).to_have_count(1)
    shot(page, "41-diagnosis-approved")
