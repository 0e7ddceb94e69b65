"""Requests and granted views in the browser: who must still approve a submitted request, and a
granted view shows the grant's cameras and range in its locked fields."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.web.conftest import PASSWORD, Site, login, shot


@contextmanager
def as_user(site: Site, username: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{site.base}/api/v1") as http:
        r = http.post("/auth/login", json={"username": username, "password": PASSWORD})
        assert r.status_code == 200, r.text
        http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        yield http


def submitted_view_request(site: Site) -> dict[str, Any]:
    """A view of the archive camera's recorded minute, filed and submitted by the officer."""
    start = site.archive_start + timedelta(seconds=7)
    body = {
        "action": "view",
        "scope": {"camera_ids": [site.archive_camera], "start": start.isoformat(),
                  "end": (start + timedelta(seconds=41)).isoformat()},
        "requester_kind": "police", "organ": "北京市公安局朝阳分局", "organ_unit": "刑侦支队",
        "legal_basis": "《刑事诉讼法》第五十四条", "purpose": "侦查盗窃案件",
        "handlers": [
            {"name": n, "credentials": [{"type": k, "number": f"11010{i}{j}"}
                                        for j, k in enumerate(("work_id", "certifying_document"))]}
            for i, n in enumerate(("王警官", "李警官"))
        ],
        "expires_at": (site.container.clock.now() + timedelta(days=3)).isoformat(),
    }  # fmt: skip
    with as_user(site, "officer") as http:
        r = http.post("/requests", json=body)
        assert r.status_code == 201, r.text
        r = http.post(f"/requests/{r.json()['id']}/submit")
        assert r.status_code == 200, r.text
        result: dict[str, Any] = r.json()
        return result


def granted_view(site: Site) -> tuple[dict[str, Any], int]:
    req = submitted_view_request(site)
    with as_user(site, "head") as http:
        r = http.post(f"/requests/{req['id']}/approve", json={"note": "同意"})
        assert r.status_code == 200, r.text
    with as_user(site, "officer") as http:
        r = http.post(f"/requests/{req['id']}/execute")
        assert r.status_code == 200, r.text
        return req, int(r.json()["session_id"])


def test_a_submitted_request_says_who_must_still_approve_it(page: Page, site: Site) -> None:
    req = submitted_view_request(site)
    login(page, site, "officer")
    page.goto(f"{site.base}/ui/requests")
    cell = page.locator(f"#request-list tr[data-request='{req['id']}'] [data-needs]")
    expect(cell).to_be_visible()
    expected = "任一审批人" if not req["titles_still_needed"] else "县级以上公安机关负责人"
    expect(cell).to_contain_text(expected)
    shot(page, "40-request-still-needs")


def _local(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%dT%H:%M:%S")


def test_a_granted_view_shows_the_grant_in_its_locked_fields(page: Page, site: Site) -> None:
    req, session_id = granted_view(site)
    scope = req["scope"]
    login(page, site, "officer")
    page.goto(f"{site.base}/ui/requests")
    page.locator(f"#request-list tr[data-request='{req['id']}']").wait_for()
    link = (
        f"/ui/playback?session={session_id}&cameras={site.archive_camera}"
        f"&start={httpx.QueryParams({'s': scope['start']})['s']}&end={scope['end']}"
    )
    page.goto(f"{site.base}{link}".replace("+", "%2B"))
    form = page.locator("#range-form")
    expect(form.locator("[name=from]")).to_be_disabled()
    expect(form.locator("[name=from]")).to_have_value(_local(scope["start"]))
    expect(form.locator("[name=to]")).to_have_value(_local(scope["end"]))
    selected = form.locator("#camera-select").evaluate(
        "s => [...s.selectedOptions].map((o) => Number(o.value))"
    )
    assert selected == [site.archive_camera]
    shot(page, "41-granted-view-range")


def test_a_request_for_publication_is_refused_without_masking_then_filed(
    page: Page, site: Site
) -> None:
    """The form's "for publication" box and its targets: one left out is refused in Chinese
    with the article; all of them, the request is filed with its ask."""
    login(page, site, "officer")
    page.goto(f"{site.base}/ui/requests")
    form = page.locator("#request-form")
    form.locator("#req-cameras").select_option(str(site.archive_camera))
    form.locator("[name=organ]").fill("北京市公安局朝阳分局")
    form.locator("[name=legal_basis]").fill("《刑事诉讼法》第五十四条")
    form.locator("[name=purpose]").fill("公开通报")
    form.locator("[name=action]").select_option("copy")
    # the archive's minutes (it began an hour before the site started), not the form's default
    # last hour, which holds the archive only while the site is younger than a minute; whole
    # minutes, as the datetime-local inputs step
    start = site.archive_start.replace(second=0)
    for name, at in (("start", start), ("end", start + timedelta(minutes=2))):
        form.locator(f"[name={name}]").fill(at.astimezone().strftime("%Y-%m-%dT%H:%M"))
    for n, row in enumerate(form.locator(".handlers-row").all()):
        row.locator("[name=h_name]").fill(f"王警官{n}")
        for m, number in enumerate(row.locator("[name=h_number]").all()):
            number.fill(f"11010{n}{m}")
    expect(form.locator("#publication-targets")).to_be_hidden()
    form.locator("#for-publication").check()
    expect(form.locator("#publication-targets")).to_be_visible()
    form.locator("[data-mask=plates]").uncheck()
    form.locator("button[type=submit]").click()
    errors = form.locator("[data-errors]")
    expect(errors).to_contain_text("national-2025:art22")
    expect(errors).to_contain_text("用于公开传播的副本必须遮蔽")
    with as_user(site, "officer") as http:
        before = {r["id"] for r in http.get("/requests").json()}
    form.locator("[data-mask=plates]").check()
    form.locator("button[type=submit]").click()
    with as_user(site, "officer") as http:
        for _ in range(50):
            filed = [r for r in http.get("/requests").json() if r["id"] not in before]
            if filed:
                break
            page.wait_for_timeout(100)
    (req,) = filed
    assert req["publication"]["mask"] == [
        "faces", "individual_features", "organisation_names", "plates"
    ]  # fmt: skip
    cell = page.locator(f"#request-list tr[data-request='{req['id']}'] [data-publication]")
    expect(cell).to_have_attribute("data-publication", "asked")
    # approved and executed: the row shows the publication case opened on it, detecting
    with as_user(site, "head") as http:
        r = http.post(f"/requests/{req['id']}/approve", json={"note": "同意"})
        assert r.status_code == 200, r.text
    with as_user(site, "officer") as http:
        r = http.post(f"/requests/{req['id']}/execute")
        assert r.status_code == 200, r.text
        case_id = r.json()["publication_case_id"]
    page.reload()
    expect(cell).to_have_attribute("data-publication", "detecting")
    expect(cell).to_contain_text(f"公开传播 {case_id}")
    shot(page, "42-request-for-publication")
