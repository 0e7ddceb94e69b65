"""Refusals and findings carry a message key and parameters, and the API renders them in the
language asked for (Accept-Language, zh-CN by default); the article id never changes."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from custos.domain.access import Role
from custos.domain.rules.terms import ViolationKey
from custos.entrypoints.web.i18n import catalogue
from tests.api.access_world import XIAN, World, handlers, request_body
from tests.api.builders import API, camera_body, make_site, make_unit

LATIN_WORD = re.compile(r"[A-Za-z]{3,}")
PLACEMENT = Path(__file__).parents[2] / "src/custos/domain/rules/placement.py"


def _refuse_changing_room(client: TestClient, admin: dict[str, str], lang: str | None) -> dict:  # type: ignore[type-arg]
    unit = make_unit(client, admin, 2 if lang else 1)
    site = make_site(client, admin, unit, "500103", name=f"Site {lang}")
    body = camera_body(site, "500103", serial=7, location_categories=["changing_room"])
    headers = {**admin, **({"Accept-Language": lang} if lang else {})}
    r = client.post(f"{API}/cameras", json=body, headers=headers)
    assert r.status_code == 422, r.text
    [refusal, *_] = [e for e in r.json()["errors"] if e["field"] == "location_categories"]
    return refusal  # type: ignore[no-any-return]


def test_a_rule_refusal_is_chinese_by_default_and_english_on_request(
    client: TestClient, admin: dict[str, str]
) -> None:
    zh = _refuse_changing_room(client, admin, None)
    assert zh["key"] == "refusal.prohibited_location_install"
    assert zh["params"] == {"categories": ["changing_room"]}
    assert "更衣室" in zh["text"] and not LATIN_WORD.search(zh["text"]), zh["text"]
    assert zh["field_label"] == "安装位置类别"
    assert zh["rule_id"].startswith("national-2025:art8")
    en = _refuse_changing_room(client, admin, "en-GB,en;q=0.8")
    assert en["text"].startswith("No camera may be installed in") and "changing" in en["text"]
    assert en["rule_id"] == zh["rule_id"] and en["article"] == zh["article"]
    assert en["reason"] == zh["reason"]  # the stable English form does not follow the language


def test_an_error_without_a_key_still_answers_in_the_language(
    client: TestClient, admin: dict[str, str]
) -> None:
    r = client.post(f"{API}/units", json={"name": "x"}, headers=admin)
    assert r.status_code == 422
    for e in r.json()["errors"]:
        assert e["text"] and not LATIN_WORD.search(e["text"].replace(e["field"], "")), e


def test_findings_carry_a_key_and_a_text_in_the_language(
    client: TestClient, admin: dict[str, str]
) -> None:
    unit = make_unit(client, admin)
    site = make_site(client, admin, unit, "210102", categories=["hospital"])
    zh = client.get(f"{API}/compliance/sites/{site}", headers=admin).json()["findings"]
    en = client.get(
        f"{API}/compliance/sites/{site}", headers={**admin, "Accept-Language": "en"}
    ).json()["findings"]
    assert zh and [f["key"] for f in zh] == [f["key"] for f in en]
    for f in zh:
        assert not LATIN_WORD.search(f["text"]), f
    uncovered = next(f for f in zh if f["code"] == "mandatory_category.uncovered")
    assert "医院" in uncovered["text"] and uncovered["params"] == {"categories": ["hospital"]}
    assert next(f for f in en if f["code"] == "mandatory_category.uncovered")["text"].startswith(
        "The site is in a category"
    )


def test_every_placement_refusal_and_finding_key_is_in_both_catalogues() -> None:
    used = set(re.findall(r"ViolationKey\.([A-Z_]+),\n\s+penalty_for", PLACEMENT.read_text()))
    assert len(used) >= 4
    keys = {f"msg.refusal.{ViolationKey[name].value}" for name in used}
    keys |= {f"msg.finding.filing.{o}" for o in ("late", "pending", "pending_promptly", "overdue")}
    codes = ("mandatory_category.uncovered", "signage.missing", "retention.below_floor",
             "acceptance.in_use_before_acceptance", "calendar.not_covered",
             "repair.overdue_ongoing", "repair.overdue_ended",
             "cascade.no_reserved_interface", "cascade.not_registered",
             "cascade.reserved_interface_present")  # fmt: skip
    keys |= {f"msg.finding.{c}" for c in codes}
    for lang in ("zh_CN", "en"):
        assert keys - set(catalogue(lang)) == set(), lang


def test_duties_carry_a_key_and_a_text_in_the_language(
    client: TestClient, admin: dict[str, str]
) -> None:
    unit = make_unit(client, admin, 3)
    site = make_site(client, admin, unit, "110105", name="Duties")
    cam = client.post(f"{API}/cameras", json=camera_body(site, "110105", serial=9), headers=admin)
    assert cam.status_code == 201, cam.text
    url = f"{API}/cameras/{cam.json()['id']}/obligations"
    zh = client.get(url, headers=admin).json()["duties"]
    en = client.get(url, headers={**admin, "Accept-Language": "en"}).json()["duties"]
    assert zh["retention_floor_days"]["key"] == "duty.retention_floor_days"
    assert zh["retention_floor_days"]["text"] == "录像至少保存 30 日"
    assert en["retention_floor_days"]["text"] == "Footage is kept at least 30 days"
    assert zh["access"]["credentials"]["text"] == "每名经办人须出示：证明文件、工作证件"
    texts: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "key" in node and "rule_ids" in node:
                texts.append(str(node["text"]))
            for v in node.values():
                walk(v)

    walk(zh)
    assert len(texts) > 15
    assert [t for t in texts if LATIN_WORD.search(t) or t.startswith("duty.")] == []


def test_an_access_refusal_names_the_missing_credential_in_chinese(world: World) -> None:
    w = world
    body = request_body(w, XIAN, "view", handlers=handlers("王警官", "李警官"))  # work ID only
    officer = w.person("officer-msg", Role.OFFICER, jurisdiction=XIAN)
    r = w.client.post(f"{API}/requests", json=body, headers=officer)
    assert r.status_code == 201, r.text
    r = w.client.post(f"{API}/requests/{r.json()['id']}/submit", headers=officer)
    assert r.status_code == 422, r.text
    missing = [e for e in r.json()["errors"] if e["key"] == "refusal.credential_missing"]
    assert missing and all(e["rule_id"] for e in missing)
    assert any(e["text"] == "经办人 王警官 须出示执法证件" for e in missing), missing


def test_a_bad_device_code_is_explained_in_the_language(
    client: TestClient, admin: dict[str, str]
) -> None:
    unit = make_unit(client, admin, 4)
    site = make_site(client, admin, unit, "110105", name="Codes")
    for code, zh, en in (
        ("1101050000113000123", "应为 20 位，现有 19 位", "Must be 20 characters, got 19"),
        ("99010500001320001234", "99 不是省级行政区划代码", "99 is not a province-level"),
        ("11010500001330001234", "类型码 133 不是视频源", "Type code 133 is not a video source"),
    ):
        body = camera_body(site, "110105", serial=5, address_code=code)
        r = client.post(f"{API}/cameras", json=body, headers=admin)
        assert r.status_code == 422, r.text
        [error] = [e for e in r.json()["errors"] if e["field"] == "address_code"]
        assert error["text"].startswith(zh) and error["field_label"] == "设备编码", error
        r = client.post(f"{API}/cameras", json=body, headers={**admin, "Accept-Language": "en"})
        [error] = [e for e in r.json()["errors"] if e["field"] == "address_code"]
        assert error["text"].startswith(en), error
