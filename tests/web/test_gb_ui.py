"""The GB/T 28181 devices page: a unit manager allows a device (the password never comes back),
sees its state, its catalogued channels and its last DeviceInfo; places a channel as a camera
(linked), and sees a placement refused with its field and article in Chinese (an Internet-coded
channel at a classified site). The channels are reported through the catalogue service, as the
SIP server would hand them over."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from custos.domain.kinds import PublicPlaceArticle
from custos.domain.manscdp import CatalogItem, CatalogResponse, parse
from custos.domain.manscdp_build import build_catalog_responses
from custos.domain.users import SYSTEM
from custos.services.registry import SiteInput
from tests.api.builders import address_code
from tests.web.conftest import Site, login, shot
from tests.web.test_zh_text import _scan

DIVISION = "110105"  # the demo's Beijing site
DEVICE = f"{DIVISION}0000118" + "0000042"  # an NVR (type 118)
OTHER_DEVICE = f"{DIVISION}0000118" + "0000043"
PRIVATE = address_code(DIVISION, 7101, network="0")  # monitoring private network
INTERNET = address_code(DIVISION, 7102, network="7")  # network digit 7: the Internet
PASSWORD = "gb-device-secret-42"


def _report_channels(site: Site) -> None:
    items = [
        CatalogItem(PRIVATE, name="东门入口", manufacturer="海康威视", status="ON"),
        CatalogItem(INTERNET, name="停车场出口", manufacturer="大华", status="OFF"),
    ]
    [body] = build_catalog_responses(31, DEVICE, items)
    part = parse(body)
    assert isinstance(part, CatalogResponse)
    assert site.container.gb_channels.on_catalog_part(DEVICE, part) is not None
    info = (
        f"<Response><CmdType>DeviceInfo</CmdType><SN>32</SN><DeviceID>{DEVICE}</DeviceID>"
        "<Result>OK</Result><DeviceName>东门NVR</DeviceName><Manufacturer>海康威视</Manufacturer>"
        "<Model>DS-7608</Model><Firmware>V4.1</Firmware><Channel>2</Channel></Response>"
    )
    site.container.gb_channels.on_message(DEVICE, parse(info.encode("gb18030"), "GB2312"))


def _classified_site(site: Site, unit_id: int) -> int:
    made = site.container.registry.create_site(
        SYSTEM,
        SiteInput(
            unit_id=unit_id, name="机要楼", division_code=DIVISION, address="北京市西城区机要路1号",
            is_public_place=False, public_place_article=PublicPlaceArticle.NOT_PUBLIC,
            is_classified=True,
        ),
    )  # fmt: skip
    assert made.id is not None
    return made.id


def test_a_device_is_allowed_its_channel_placed_and_a_placement_refused_with_its_article(
    page: Page, site: Site
) -> None:
    unit_id = site.container.registry.list_sites(SYSTEM)[0].unit_id
    classified = _classified_site(site, unit_id)
    login(page, site, "manager")
    page.goto(f"{site.base}/ui/gb")
    expect(page.locator("h1")).to_have_text("国标设备（GB/T 28181）")
    expect(page.locator("nav a[href='/ui/gb']")).to_be_visible()

    # allow two devices; the password is never shown back
    form = page.locator("#device-form")
    for device_id, name in ((DEVICE, "东门NVR"), (OTHER_DEVICE, "西门NVR")):
        form.locator("input[name=device_id]").fill(device_id)
        form.locator("input[name=name]").fill(name)
        form.locator("select[name=unit_id]").select_option(str(unit_id))
        form.locator("input[name=password]").fill(PASSWORD)
        form.locator("button[type=submit]").click()
        expect(page.locator(f"#device-list tr[data-device='{device_id}']")).to_be_visible()
    row = page.locator(f"#device-list tr[data-device='{DEVICE}']")
    expect(row.locator("[data-state]")).to_have_text("未注册")
    expect(page.locator("body")).not_to_contain_text(PASSWORD)

    # edit a name (the password left empty is kept), remove the other device
    row.locator("[data-act=edit]").click()
    form.locator("input[name=name]").fill("东门录像机")
    form.locator("button[type=submit]").click()
    expect(row).to_contain_text("东门录像机")
    page.once("dialog", lambda d: d.accept())
    page.locator(f"#device-list tr[data-device='{OTHER_DEVICE}'] [data-act=remove]").click()
    expect(page.locator(f"#device-list tr[data-device='{OTHER_DEVICE}']")).to_have_count(0)

    # the device reports its catalogue and DeviceInfo: two channels, not placed
    _report_channels(site)
    row.locator("[data-act=channels]").click()
    channels = page.locator("#channel-list")
    expect(channels.locator("tr[data-channel]")).to_have_count(2)
    expect(channels.locator(f"tr[data-channel='{PRIVATE}']")).to_contain_text("未登记")
    row.locator("[data-act=report]").click()
    report = page.locator("#report")
    expect(report.locator("[data-report='gb.device_info']")).to_contain_text("DS-7608")
    expect(report.locator("[data-report='gb.device_info']")).to_contain_text("固件版本")
    expect(report.locator("[data-report='gb.device_status']")).to_contain_text("尚未上报")

    # place the private-network channel at the unit's ordinary site: it becomes a camera
    channels.locator(f"tr[data-channel='{PRIVATE}'] [data-act=place]").click()
    place = page.locator("#place-form")
    ordinary = site.container.registry.list_sites(SYSTEM)[0].id
    place.locator("select[name=site_id]").select_option(str(ordinary))
    place.locator("select[name=location_categories]").select_option(["shopping_mall"])
    place.locator("button[type=submit]").click()
    link = channels.locator(f"tr[data-channel='{PRIVATE}'] a[data-camera]")
    expect(link).to_be_visible()
    camera_id = link.get_attribute("data-camera")
    assert camera_id and link.get_attribute("href") == f"/ui/registry?camera={camera_id}"

    # the Internet-coded channel at the classified site is refused, naming field and article
    channels.locator(f"tr[data-channel='{INTERNET}'] [data-act=place]").click()
    place.locator("select[name=site_id]").select_option(str(classified))
    place.locator("select[name=location_categories]").select_option(
        ["party_government_state_organ"]
    )
    place.locator("button[type=submit]").click()
    refusal = page.locator("#place-error li.refusal").first
    expect(refusal).to_be_visible()
    expect(refusal.locator(".field-label")).to_be_visible()
    expect(refusal.locator(".article")).to_contain_text(":art")
    # Beijing art. 9 para 2 defers to the national rule (Decree 799 art. 16 para 1)
    expect(page.locator("#place-error")).to_contain_text("beijing-2007:art9.p2")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in refusal.inner_text())  # in Chinese
    expect(channels.locator(f"tr[data-channel='{INTERNET}'] a[data-camera]")).to_have_count(0)
    shot(page, "61-gb-devices")

    # the registry link finds the placed camera
    link.click()
    page.wait_for_url(f"**/ui/registry?camera={camera_id}")
    expect(page.locator(f"#camera-list tr[data-camera='{camera_id}']")).to_be_visible()
    assert _scan(page, site, "/ui/gb") == []  # no English in the Chinese page
