"""The publication review page (Chromium): a masked copy asked for by the unit manager is
opened by the head of police, a static zone added, the targets no detector covers confirmed,
approved, released, and the signed custos-evidence/1 package downloaded, naming the original."""

from __future__ import annotations

import json
import re
import time
import zipfile
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.web.conftest import Site, login, shot
from tests.web.test_requests_ui import as_user
from tests.web.test_zh_text import VISIBLE_TEXT, _data, latin_sentences

pytestmark = pytest.mark.slow  # an export, detection and an H.264 re-encode behind the page
EVERYTHING = ["faces", "plates", "organisation_names", "individual_features"]


def _case(site: Site, proposed: bool = True) -> tuple[int, str]:
    """The manager's export of three seconds of the archive camera, asked for publication
    (202: detecting), and, when ``proposed``, its detection done by the server's worker."""
    start = site.archive_start + timedelta(seconds=2)
    with as_user(site, "manager") as http:
        body = {
            "camera_ids": [site.archive_camera], "start": start.isoformat(),
            "end": (start + timedelta(seconds=3)).isoformat(), "purpose": "公开通报",
        }  # fmt: skip
        r = http.post("/exports", json=body, timeout=120)
        assert r.status_code == 201, r.text
        ask = {"export_id": r.json()["id"], "division_code": "610113", "purpose": "公开通报",
               "mask": EVERYTHING}  # fmt: skip
        r = http.post("/publications", json=ask, timeout=60)
        assert r.status_code == 202, r.text
        case_id, sha256 = int(r.json()["id"]), str(r.json()["source_sha256"])
    if proposed:
        with as_user(site, "head") as http:
            deadline = time.monotonic() + 300
            while http.get(f"/publications/{case_id}").json()["state"] == "detecting":
                assert time.monotonic() < deadline, "detection never ended"
                time.sleep(0.5)
            assert http.get(f"/publications/{case_id}").json()["state"] == "proposed"
    return case_id, sha256


def test_a_case_is_listed_approved_released_and_downloaded(page: Page, site: Site) -> None:
    case_id, original = _case(site, proposed=False)
    login(page, site, "head")
    page.goto(f"{site.base}/ui/publication")
    row = page.locator(f'#pub-cases tr[data-case="{case_id}"]')
    row.locator("button[data-act=open]").click()
    section = page.locator("#pub-case")
    expect(section).to_have_attribute("data-case", str(case_id))
    # opened while the server's worker detects (or about to): the progress bar, then the review
    if section.get_attribute("data-state") == "detecting":
        expect(page.locator("#pub-job-bar")).to_be_visible()
        expect(page.locator("#pub-job-percent")).to_have_text(re.compile(r"^\d+\.\d %$"))
    expect(section).to_have_attribute("data-state", "proposed", timeout=300_000)  # by itself
    expect(page.locator("#pub-job")).to_be_hidden()
    expect(row).to_have_attribute("data-state", "proposed")
    expect(page.locator("#pub-image")).to_have_js_property("complete", True)
    assert page.eval_on_selector("#pub-image", "i => i.naturalWidth") > 0  # the frame's JPEG

    zone = page.locator("#pub-zone")
    for name, value in (("left", "0"), ("top", "0"), ("right", "0.4"), ("bottom", "0.2")):
        zone.locator(f"input[name={name}]").fill(value)
    zone.locator("input[name=label]").fill("招牌")
    zone.locator("button[type=submit]").click()
    expect(page.locator("#pub-zones")).to_contain_text("招牌")
    expect(page.locator("#pub-overlay .mask-box.zone")).to_have_count(1)

    page.locator("#pub-approve-button").click()  # nothing confirmed: refused, naming the targets
    expect(page.locator("#pub-error")).to_be_visible()
    for target in ("organisation_names", "individual_features"):
        page.check(f"#pub-required input[name={target}]")
    page.locator("#pub-approve-button").click()
    expect(section).to_have_attribute("data-state", "approved")
    expect(row).to_have_attribute("data-state", "approved")
    shot(page, "50-publication-approved")

    page.locator("#pub-release").click()  # 202: rendering in the background, polled
    expect(section).to_have_attribute("data-state", "rendering")
    expect(page.locator("#pub-job-bar")).to_be_visible()
    expect(page.locator("#pub-job-stage")).to_have_text("正在生成并签名遮蔽副本……")
    shot(page, "50b-publication-rendering")
    expect(section).to_have_attribute("data-state", "released", timeout=300_000)  # by itself
    expect(page.locator("#pub-job")).to_be_hidden()
    expect(page.locator("#flash")).to_contain_text("已发布")
    with page.expect_download() as info:
        page.locator("#pub-download").click()
    path = info.value.path()
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        assert {"log/proof.json", "log/checkpoint.json"} <= set(archive.namelist())
    assert manifest["format"] == "custos-evidence/1" and manifest["kind"] == "publication"
    assert manifest["original"]["package_sha256"] == original
    assert manifest["masking"]["reviewer"] == "head"
    shot(page, "51-publication-released")


def _drag(page: Page, start: tuple[float, float], end: tuple[float, float]) -> None:
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move((start[0] + end[0]) / 2, (start[1] + end[1]) / 2, steps=3)
    page.mouse.move(*end, steps=3)
    page.mouse.up()


def _touch_drag(page: Page, start: tuple[float, float], end: tuple[float, float]) -> None:
    """A finger's drag, as the touchscreen sends it (Chromium's input pipeline, not synthetic
    DOM events): the page sees pointer events of type touch."""
    cdp = page.context.new_cdp_session(page)
    cdp.send(
        "Input.dispatchTouchEvent",
        {"type": "touchStart", "touchPoints": [{"x": start[0], "y": start[1]}]},
    )
    for step in (1, 2, 3, 4):
        x = start[0] + (end[0] - start[0]) * step / 4
        y = start[1] + (end[1] - start[1]) * step / 4
        cdp.send(
            "Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]}
        )
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def _frame_pixels(
    page: Page, points: tuple[tuple[float, float], tuple[float, float]]
) -> list[float]:
    """Where two page points fall on the frame, in the frame's pixels: from the image's rendered
    box and its natural size (the JPEG is the frame at full size)."""
    box = page.locator("#pub-image").bounding_box()
    assert box is not None
    natural = page.eval_on_selector("#pub-image", "i => [i.naturalWidth, i.naturalHeight]")
    sx, sy = natural[0] / box["width"], natural[1] / box["height"]
    (ax, ay), (bx, by) = points
    xs = sorted(((ax - box["x"]) * sx, (bx - box["x"]) * sx))
    ys = sorted(((ay - box["y"]) * sy, (by - box["y"]) * sy))
    return [xs[0], ys[0], xs[1], ys[1]]


def _on_image(page: Page, fx: float, fy: float) -> tuple[float, float]:
    box = page.locator("#pub-image").bounding_box()
    assert box is not None
    return box["x"] + fx * box["width"], box["y"] + fy * box["height"]


def _close(got: list[float], want: list[float], tolerance: float = 2.0) -> bool:
    return all(abs(g - w) <= tolerance for g, w in zip(got, want, strict=True))


def test_regions_and_zones_are_drawn_on_the_frame_and_a_region_removed(
    page: Page, site: Site
) -> None:
    case_id, _ = _case(site)
    login(page, site, "head")
    page.goto(f"{site.base}/ui/publication?case={case_id}")
    expect(page.locator("#pub-case")).to_have_attribute("data-state", "proposed")
    image = page.locator("#pub-image")
    expect(image).to_have_js_property("complete", True)
    natural = page.eval_on_selector("#pub-image", "i => [i.naturalWidth, i.naturalHeight]")
    assert natural == [320, 240]
    # a frame shown at another size than its own (as a 1080p frame is on a laptop): 2.1875×
    page.eval_on_selector("#pub-image", "i => { i.style.width = '700px'; }")
    box = image.bounding_box()
    assert box is not None and abs(box["width"] - 700) < 1 and abs(box["height"] - 525) < 1

    # a region, drawn with the mouse: the form is filled, the reviewer sets the range and adds it
    image.scroll_into_view_if_needed()
    points = (_on_image(page, 0.2133, 0.3107), _on_image(page, 0.5529, 0.6901))
    want = _frame_pixels(page, points)  # taken now: the form's focus scrolls the page after
    _drag(page, *points)
    form = page.locator("#pub-region")
    filled = [
        float(form.locator(f"input[name={n}]").input_value()) for n in ("x0", "y0", "x1", "y1")
    ]
    assert _close(filled, want), (filled, want)
    assert form.locator("input[name=first_frame]").input_value() == "0"  # the frame shown
    expect(page.locator("#pub-drawn")).to_be_visible()
    form.locator("input[name=last_frame]").fill("10")
    form.locator("input[name=note]").fill("漏检的人脸")
    form.locator("button[type=submit]").click()
    expect(page.locator('#pub-regions tr[data-region="0"]')).to_have_count(1)  # its id
    expect(page.locator('#pub-overlay .mask-box.box[title="region:0"]')).to_have_count(1)
    expect(page.locator("#pub-drawn")).to_be_hidden()
    with as_user(site, "head") as http:
        (region,) = http.get(f"/publications/{case_id}").json()["regions"]
    assert region["first_frame"] == 0 and region["last_frame"] == 10
    assert _close(region["box"], want), (region["box"], want)
    shot(page, "52-publication-region-drawn")

    # taken back: the list, the overlay and the case agree
    page.locator("#pub-regions button[data-act=remove-region]").click()
    expect(page.locator("#pub-regions tr[data-region]")).to_have_count(0)
    expect(page.locator('#pub-overlay .mask-box.box[title^="region:"]')).to_have_count(0)
    with as_user(site, "head") as http:
        assert http.get(f"/publications/{case_id}").json()["regions"] == []

    # a static zone (a shop sign), drawn with a finger, right to left and bottom to top
    page.check("#pub-draw input[value=zone]")
    image.scroll_into_view_if_needed()
    points = (_on_image(page, 0.9, 0.25), _on_image(page, 0.55, 0.05))
    want = _frame_pixels(page, points)
    _touch_drag(page, *points)
    zone_form = page.locator("#pub-zone")
    expect(zone_form.locator("input[name=left]")).not_to_have_value("")
    zone_form.locator("input[name=label]").fill("招牌")
    zone_form.locator("button[type=submit]").click()
    expect(page.locator("#pub-zones")).to_contain_text("招牌")
    expect(page.locator("#pub-overlay .mask-box.zone")).to_have_count(1)
    with as_user(site, "head") as http:
        (zone,) = http.get(f"/publications/{case_id}").json()["zones"]
    w, h = natural
    got = [zone["left"] * w, zone["top"] * h, zone["right"] * w, zone["bottom"] * h]
    assert _close(got, want), (got, want)
    assert zone["label"] == "招牌"

    # the zh page, case open, drawing toggle and lists shown: no English sentence
    texts: list[str] = page.evaluate(VISIBLE_TEXT)
    assert latin_sentences(texts, _data(site)) == []
    shot(page, "53-publication-zone-drawn")
