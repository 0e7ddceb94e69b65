"""No English sentence in the Chinese UI: every page, rendered in Chromium in zh-CN, is scanned
for visible text that is Latin-only. Allowed: ids, codes, numbers, article ids
(``national-2025:art8.i1``), proper technical tokens (RTSP, SHA-256, GB/T 28181 …) and the data
users typed (camera, site and unit names)."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from custos.domain.users import SYSTEM
from tests.web.conftest import PASSWORD, Site, login, shot

CJK = re.compile(r"[\u3400-\u9fff]")
ARTICLE_ID = re.compile(r"[a-z]+-\d{4}(:art[0-9a-z.]+)?")  # a pack id or an article id
TECHNICAL = {
    "Custos", "RTSP", "URL", "ID", "IP", "GB", "MB", "KB", "kbit", "CSV", "MP4", "ZIP", "SHA",
    "GB/T", "ONVIF", "JSON", "HTTP", "API", "UTC", "PTZ", "IPC", "NVR", "DVR", "English",
    "h264", "H.264", "hevc",
}  # fmt: skip
WORD = re.compile(r"[A-Za-z][a-z]{2,}")  # a word, not a code like "IPC" or "h264"

# Visible text nodes, skipping scripts, <code> and ids/hashes the page marks as such.
VISIBLE_TEXT = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const e = n.parentElement;
    const text = n.textContent.trim();
    if (!text || e.closest("script, style, code, .mono, .article, [hidden], dialog:not([open])")) continue;
    if (!e.getClientRects().length) continue;
    out.push(text);
  }
  for (const i of document.querySelectorAll("input[placeholder], textarea[placeholder]"))
    if (i.getClientRects().length) out.push(i.placeholder);
  return out;
}"""


def latin_sentences(texts: list[str], data: set[str]) -> list[str]:
    """Texts with English in them: a Latin-only sentence (two or more words), or an English
    word inside Chinese text (``值班员甲（operator）``), once ids, tokens and data are removed."""
    bad = []
    for text in texts:
        rest = ARTICLE_ID.sub(" ", text)
        for value in sorted(data, key=len, reverse=True):
            rest = rest.replace(value, " ")
        words = [w for w in WORD.findall(rest) if w.strip(".") not in TECHNICAL]
        if len(words) >= (1 if CJK.search(text) else 2):
            bad.append(text)
    return bad


def _data(site: Site) -> set[str]:
    c = site.container
    names = {u.name for u in c.registry.list_units(SYSTEM)}
    names |= {v for s in c.registry.list_sites(SYSTEM) for v in (s.name, s.address)}
    names |= {cam.name for cam in c.registry.list_cameras(SYSTEM)}
    names |= {u.username for u in c.auth.list_users()} | {u.full_name for u in c.auth.list_users()}
    return {n for n in names if n}


PAGES = {
    "admin": ["/ui/", "/ui/registry", "/ui/registry#sites", "/ui/audit", "/ui/holds",
              "/ui/alarms", "/ui/register", "/ui/requests"],
    "duty": ["/ui/", "/ui/wall", "/ui/playback", "/ui/duty"],
    "manager": ["/ui/duty", "/ui/notify"],
    "officer": ["/ui/", "/ui/requests"],
    "head": ["/ui/requests"],
}  # fmt: skip


def _scan(page: Page, site: Site, path: str) -> list[str]:
    page.goto(f"{site.base}{path}")
    page.wait_for_load_state("networkidle")
    if path.endswith("#sites"):
        page.click("button[data-tab=sites]")
        page.locator("#site-list button").first.click()
        expect(page.locator("#site-findings")).to_be_visible()
    texts: list[str] = page.evaluate(VISIBLE_TEXT)
    assert len(texts) > 5, f"{path}: the scan found almost no text"
    return [f"{path}: {t!r}" for t in latin_sentences(texts, _data(site))]


def test_the_scanner_catches_an_english_sentence() -> None:
    assert latin_sentences(["initial filing due on 2026-12-01"], set()) == [
        "initial filing due on 2026-12-01"
    ]
    assert latin_sentences(["值班员甲（operator）"], set()) == ["值班员甲（operator）"]
    assert latin_sentences(["首次备案 national-2025:art14.p1", "RTSP", "Demo camera 1"],
                           {"Demo camera 1"}) == []  # fmt: skip


def _something_in_the_register(site: Site) -> None:
    """A live view by the operator: the register then holds a person, a role and a purpose."""
    with httpx.Client(base_url=site.base) as http:
        r = http.post("/api/v1/auth/login", json={"username": "duty", "password": PASSWORD})
        auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
        r = http.post("/api/v1/live/sessions", json={"camera_ids": [site.live_camera]},
                      headers=auth)  # fmt: skip
        assert r.status_code == 201, r.text
        http.post(f"/api/v1/live/sessions/{r.json()['id']}/close", headers=auth)


def test_no_page_of_the_chinese_ui_shows_an_english_sentence(page: Page, site: Site) -> None:
    _something_in_the_register(site)
    found: list[str] = []
    for user, paths in PAGES.items():
        login(page, site, user)
        for path in paths:
            found += _scan(page, site, path)
    shot(page, "30-zh-scan-last")
    assert found == []


def test_a_refusal_in_the_chinese_ui_is_chinese_with_the_article_id(page: Page, site: Site) -> None:
    login(page, site, "admin")
    page.goto(f"{site.base}/ui/registry")
    page.click("#camera-new")
    form = page.locator("#camera-form")
    form.locator("[name=address_code]").fill("11010500001320007777")
    form.locator("[name=name]").fill("更衣室二号")
    form.locator("[name=location_categories]").select_option(["changing_room"])
    form.locator("button[type=submit]").click()
    errors = form.locator("[data-errors]")
    expect(errors).to_be_visible()
    refusal = errors.locator("li[data-field=location_categories]").first
    expect(refusal).to_contain_text("不得在以下区域安装摄像机：更衣室")
    expect(refusal.locator(".article")).to_contain_text("national-2025:art8")
    texts: list[str] = errors.evaluate("e => e.innerText").split("\n")
    assert latin_sentences(texts, set()) == [], texts
    assert errors.inner_text().count("更衣室") == 1  # shown once, not twice
    shot(page, "31-zh-refusal")
