"""GB/T 28181 cascade (issue 12 §2): upper platforms (password write-only and sealed), their link
state, and share lists; a camera at a classified site is never shared over a non-private network,
citing the article. Runs on SQLite and PostgreSQL (the container fixture)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from custos.adapters.db import cascade_tables as ct
from custos.bootstrap import Container
from custos.domain.access import Role
from custos.domain.gb_cascade import LinkState, PlatformState
from tests.api.builders import API, address_code, camera_body, make_site, make_unit
from tests.api.conftest import LoginAs

CHONGQING = "500103"
XIAN = "610113"
PASSWORD = "upper-pl@tform-pw"
# digit 14 is the network: 5 public-security (private), 7 Internet
PRIVATE_ID = "50000000002005000001"
INTERNET_ID = "50000000002007000001"


def _platform(client: TestClient, headers: dict[str, str], sip_id: str, **over: Any) -> Any:
    body = {
        "name": "市局平台", "sip_id": sip_id, "domain": sip_id[:10], "host": "192.0.2.50",
        "port": 5060, "password": PASSWORD, "keepalive_interval_s": 30,
    } | over  # fmt: skip
    return client.post(f"{API}/gb/upper-platforms", json=body, headers=headers)


def _camera(client: TestClient, admin: dict[str, str], site: int, serial: int) -> int:
    body = camera_body(site, CHONGQING, serial, address_code=address_code(CHONGQING, serial))
    r = client.post(f"{API}/cameras", json=body, headers=admin)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def test_a_platform_is_configured_its_password_sealed_and_never_returned(
    client: TestClient, admin: dict[str, str], container: Container
) -> None:
    r = _platform(client, admin, PRIVATE_ID)
    assert r.status_code == 201, r.text
    got = r.json()
    assert PASSWORD not in r.text and got["password_set"] is True
    assert got["network"] == "public_security" and got["link"]["state"] == "registering"
    listed = client.get(f"{API}/gb/upper-platforms", headers=admin)
    assert PASSWORD not in listed.text and [p["sip_id"] for p in listed.json()] == [PRIVATE_ID]
    with container.uow.engine.connect() as conn:
        sealed = conn.execute(select(ct.gb_upper_platforms.c.password_sealed)).scalar_one()
    assert PASSWORD.encode() not in sealed
    audit = client.get(f"{API}/audit/search?action=gb_platform", headers=admin)
    assert audit.status_code == 200 and PASSWORD not in audit.text
    # an update without a password keeps it; disabling shows in the link state
    body = {"sip_id": PRIVATE_ID, "domain": "5000000000", "host": "192.0.2.51", "enabled": False}
    upd = client.put(f"{API}/gb/upper-platforms/{got['id']}", json=body, headers=admin)
    assert upd.status_code == 200, upd.text
    assert upd.json()["host"] == "192.0.2.51" and upd.json()["link"]["state"] == "disabled"
    assert container.gb_cascade.enabled_platforms() == []
    with container.uow() as uow:
        assert uow.gb_platforms.get(got["id"]).password == PASSWORD  # type: ignore[union-attr]


def test_bad_configuration_names_the_field(client: TestClient, admin: dict[str, str]) -> None:
    r = _platform(client, admin, "5000000000200500000X")
    assert r.status_code == 422 and "sip_id" in r.text
    r = _platform(client, admin, PRIVATE_ID, register_expiry_s=60, keepalive_interval_s=60)
    assert r.status_code == 422
    assert any(e["field"] == "keepalive_interval_s" for e in r.json()["errors"]), r.text
    assert _platform(client, admin, PRIVATE_ID, password=None).status_code == 422
    for over in ({"name": "a\x00b"}, {"host": "h\x00"}, {"host": "a b"}, {"password": "p\x00"}):
        r = _platform(client, admin, PRIVATE_ID, **over)  # NUL never reaches PostgreSQL
        assert r.status_code == 422, r.text
    assert _platform(client, admin, PRIVATE_ID).status_code == 201
    assert _platform(client, admin, PRIVATE_ID).status_code == 409


def test_a_classified_site_camera_is_refused_over_the_internet_citing_the_article(
    client: TestClient, admin: dict[str, str], container: Container
) -> None:
    unit = make_unit(client, admin, kind="government_organ")
    site = make_site(client, admin, unit, CHONGQING, is_classified=True)
    cam = _camera(client, admin, site, 1)
    internet = _platform(client, admin, INTERNET_ID).json()["id"]
    private = _platform(client, admin, PRIVATE_ID).json()["id"]
    r = client.post(
        f"{API}/gb/upper-platforms/{internet}/shares", json={"camera_id": cam}, headers=admin
    )
    assert r.status_code == 422, r.text
    [err] = r.json()["errors"]
    assert err["field"] == "camera_id" and err["rule_id"] == "chongqing-2016:art15"
    assert err["key"] == "refusal.cascade_classified_share"
    refused = client.get(f"{API}/audit/search?action=gb_share.add", headers=admin).json()
    assert any(e["outcome"] == "refused" for e in _entries(refused))
    ok = client.post(
        f"{API}/gb/upper-platforms/{private}/shares", json={"camera_id": cam}, headers=admin
    )
    assert ok.status_code == 201, ok.text
    assert container.gb_cascade.is_shared(private, address_code(CHONGQING, 1))
    assert not container.gb_cascade.is_shared(internet, address_code(CHONGQING, 1))
    # moving the platform onto the Internet (a new ID) while it holds the camera is refused too
    body = {"sip_id": "50000000002007000009", "domain": "5000000000", "host": "192.0.2.50"}
    moved = client.put(f"{API}/gb/upper-platforms/{private}", json=body, headers=admin)
    assert moved.status_code == 422, moved.text
    [err] = moved.json()["errors"]
    assert err["field"] == "sip_id" and err["rule_id"] == "chongqing-2016:art15"
    # a site that becomes classified after a share over the Internet: the camera leaves the
    # catalogue (and an INVITE for it is refused) though the share row stays for the record
    other = make_site(client, admin, unit, CHONGQING, name="Later classified")
    later = _camera(client, admin, other, 2)
    r = client.post(
        f"{API}/gb/upper-platforms/{internet}/shares", json={"camera_id": later}, headers=admin
    )
    assert r.status_code == 201, r.text
    assert container.gb_cascade.is_shared(internet, address_code(CHONGQING, 2))
    r = client.patch(f"{API}/sites/{other}", json={"is_classified": True}, headers=admin)
    assert r.status_code == 200, r.text
    assert container.gb_cascade.catalog(internet) == []
    assert not container.gb_cascade.is_shared(internet, address_code(CHONGQING, 2))


def test_shares_are_listed_logged_and_the_catalog_is_exactly_them(
    client: TestClient, admin: dict[str, str], container: Container, login_as: LoginAs
) -> None:
    unit = make_unit(client, admin)
    site = make_site(client, admin, unit, CHONGQING)
    cams = [_camera(client, admin, site, n) for n in (1, 2, 3)]
    pid = _platform(client, admin, PRIVATE_ID).json()["id"]
    manager = login_as(Role.UNIT_MANAGER, unit)
    for cam in cams[:2]:
        r = client.post(
            f"{API}/gb/upper-platforms/{pid}/shares", json={"camera_id": cam}, headers=manager
        )
        assert r.status_code == 201, r.text
    shares = client.get(f"{API}/gb/upper-platforms/{pid}/shares", headers=manager).json()
    assert [s["camera_id"] for s in shares] == cams[:2]
    catalog = container.gb_cascade.catalog(pid)
    assert [e.device_id for e in catalog] == [address_code(CHONGQING, n) for n in (1, 2)]
    gone = client.delete(f"{API}/gb/upper-platforms/{pid}/shares/{cams[0]}", headers=manager)
    assert gone.status_code == 204
    assert [e.device_id for e in container.gb_cascade.catalog(pid)] == [address_code(CHONGQING, 2)]
    log = _entries(client.get(f"{API}/audit/search?action=gb_share", headers=admin).json())
    actions = [e["action"] for e in log if e["action"].startswith("gb_share")]
    assert sorted(actions) == ["gb_share.add", "gb_share.add", "gb_share.remove"]
    # another unit's manager sees none of them and cannot share this unit's camera
    other = login_as(Role.UNIT_MANAGER, make_unit(client, admin, 2))
    assert client.get(f"{API}/gb/upper-platforms/{pid}/shares", headers=other).json() == []
    r = client.post(
        f"{API}/gb/upper-platforms/{pid}/shares", json={"camera_id": cams[2]}, headers=other
    )
    assert r.status_code == 404


def test_reading_needs_registry_read_and_writing_registry_write(
    client: TestClient, login_as: LoginAs, admin: dict[str, str]
) -> None:
    approver = login_as(Role.APPROVER)  # REGISTRY_READ only
    assert _platform(client, approver, PRIVATE_ID).status_code == 403
    assert _platform(client, admin, PRIVATE_ID).status_code == 201
    listed = client.get(f"{API}/gb/upper-platforms", headers=approver)
    assert listed.status_code == 200 and len(listed.json()) == 1


def _entries(page: Any) -> list[dict[str, Any]]:
    return [e["entry"] for e in page["entries"]]


def test_a_chongqing_site_without_a_cascade_is_a_finding_citing_art12(
    client: TestClient, admin: dict[str, str], container: Container
) -> None:
    site = make_site(client, admin, make_unit(client, admin), CHONGQING)
    beijing = make_site(client, admin, make_unit(client, admin, 2), "110105")

    def codes(site_id: int) -> dict[str, Any]:
        report = client.get(f"{API}/compliance/sites/{site_id}", headers=admin).json()
        return {f["code"]: f for f in report["findings"] if f["code"].startswith("cascade.")}

    [none] = codes(site).values()
    assert none["code"] == "cascade.no_reserved_interface"
    assert none["rule_ids"][:2] == ["chongqing-2016:art12.p1", "chongqing-2016:art30.i2"]
    assert codes(beijing) == {}  # Beijing's pack has no such duty
    pid = _platform(client, admin, PRIVATE_ID).json()["id"]
    assert list(codes(site)) == ["cascade.not_registered"]
    now = container.clock.now()
    container.gb_cascade.record_state(
        PlatformState(pid, LinkState.REGISTERED, now, "", now + timedelta(hours=1))
    )
    assert list(codes(site)) == ["cascade.reserved_interface_present"]


def test_a_xian_site_without_a_cascade_is_a_finding_citing_art14_without_a_fine(
    client: TestClient, admin: dict[str, str]
) -> None:
    site = make_site(client, admin, make_unit(client, admin), XIAN)
    report = client.get(f"{API}/compliance/sites/{site}", headers=admin).json()
    [finding] = [f for f in report["findings"] if f["code"].startswith("cascade.")]
    assert finding["code"] == "cascade.no_reserved_interface"
    assert finding["severity"] == "violation"
    assert finding["rule_ids"] == ["xian-2020:art14.p1"]
    assert finding["fine"] is None  # Xi'an art. 33 defers; Shaanxi has no such penalty


def test_a_registered_cascade_is_reported_present_citing_the_articles_of_the_missing_one(
    client: TestClient, admin: dict[str, str], container: Container
) -> None:
    cq_unit = make_unit(client, admin)
    chongqing = make_site(client, admin, cq_unit, CHONGQING)
    xian = make_site(client, admin, make_unit(client, admin, 2), XIAN)
    beijing = make_site(client, admin, make_unit(client, admin, 3), "110105")

    def cascade(site_id: int, lang: str = "zh-CN") -> list[dict[str, Any]]:
        headers = {**admin, "Accept-Language": lang}
        report = client.get(f"{API}/compliance/sites/{site_id}", headers=headers).json()
        return [f for f in report["findings"] if f["code"].startswith("cascade.")]

    [missing_cq], [missing_xa] = cascade(chongqing), cascade(xian)
    pid = _platform(client, admin, PRIVATE_ID).json()["id"]
    _platform(client, admin, "50000000002005000002")  # a second one, never registered
    now = container.clock.now()
    registered = PlatformState(pid, LinkState.REGISTERED, now, "", now + timedelta(hours=1))
    container.gb_cascade.record_state(registered)

    [present] = cascade(chongqing)
    assert present["code"] == "cascade.reserved_interface_present"
    assert present["severity"] == "info" and present["fine"] is None
    assert present["subject"] == f"site:{chongqing}"
    # the duty (art. 12 ¶1) and the article that fines its absence (art. 30(2)), as when missing
    assert present["rule_ids"] == missing_cq["rule_ids"]
    assert present["rule_ids"][:2] == ["chongqing-2016:art12.p1", "chongqing-2016:art30.i2"]
    assert present["params"] == {"registered": 1, "platforms": PRIVATE_ID}
    assert "已预留公安机关联网接口" in present["text"] and PRIVATE_ID in present["text"]
    [english] = cascade(chongqing, "en")
    assert english["text"].startswith("The networking interface reserved for the public security")
    [present_xa] = cascade(xian)
    assert present_xa["code"] == "cascade.reserved_interface_present"
    assert present_xa["rule_ids"] == missing_xa["rule_ids"] == ["xian-2020:art14.p1"]
    assert cascade(beijing) == []  # no such duty: nothing to say either way
    unit = client.get(f"{API}/compliance/units/{cq_unit}", headers=admin).json()
    [site] = unit["sites"]
    assert present in site["findings"] and unit["counts"]["info"] >= 1

    # the link fails: the interface is no longer there (a warning again)
    failed = PlatformState(pid, LinkState.FAILED, now + timedelta(minutes=1), "timeout")
    container.gb_cascade.record_state(failed)
    assert [f["code"] for f in cascade(chongqing)] == ["cascade.not_registered"]
